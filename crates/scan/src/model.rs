//! The inventory every reader fills and every consumer (table, SBOM, OSV
//! matching, package diff) reads. Kept free of I/O so the consumers can be
//! tested on inventories built by hand.

use serde::{Deserialize, Serialize};

/// Where a package's name and version come from: decides the purl type and
/// the version ordering used to match vulnerabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    /// dpkg (Debian, Ubuntu, distroless).
    Debian,
    /// apk (Alpine, Wolfi).
    Alpine,
    /// rpm (Fedora, RHEL, SUSE...).
    Rpm,
    /// Python dist-info / egg-info.
    PyPI,
    /// npm package.json / lockfiles.
    Npm,
    /// Rust crates found through cargo-auditable.
    CratesIo,
    /// Go modules from a binary's embedded build info.
    Go,
    /// Java artifacts from pom.properties inside jars.
    Maven,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub ecosystem: Ecosystem,
    /// Architecture as the package manager names it (`amd64`, `x86_64`, `all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Source package name, when it differs from `name` or is recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Source package version, when the package manager records one apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// Licences as declared (SPDX ids where the record uses them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    /// Absolute in-image paths of the files the package owns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<String>,
    /// In-image path of the record this package was read from
    /// (`/var/lib/dpkg/status`, `/usr/lib/python3/dist-packages/x.dist-info/METADATA`...).
    pub location: String,
    /// Diff id (`sha256:…`) of the layer that added the record, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// `/etc/os-release` (or `/usr/lib/os-release`) of the image.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsRelease {
    /// `ID` (`debian`, `alpine`, `ubuntu`...).
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_codename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pretty_name: Option<String>,
}

/// One layer of the scanned image, in order from the base.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// Uncompressed digest (`sha256:…`), as in the config's rootfs.diff_ids.
    pub diff_id: String,
    /// The history line that made it, when the config records one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// The image (or the container's image) the inventory was read from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The name the user gave (`localhost/busybox:latest`, a container name...).
    pub reference: String,
    /// Image id: the config digest (`sha256:…`).
    pub id: String,
    /// Manifest digest, when the store knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// `os/arch[/variant]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    pub layers: Vec<LayerInfo>,
}

/// Something the scan could not read; the scan goes on and reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanWarning {
    /// In-image path of the file.
    pub path: String,
    /// 1-based line, where the fault has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

/// Everything a scan found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inventory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub os: Option<OsRelease>,
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<ScanWarning>,
}
