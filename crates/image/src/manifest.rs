//! Manifests and indexes, docker's and OCI's, kept as the bytes they came
//! in (their digest is the image's identity) plus a parsed view.

use crate::error::{Error, Result};
use berth_storage::Digest;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Media types this library reads and writes.
pub mod media {
    /// OCI image manifest.
    pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
    /// OCI image index.
    pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
    /// OCI image config.
    pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
    /// OCI layer, uncompressed.
    pub const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";
    /// OCI layer, gzip.
    pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
    /// OCI layer, zstd.
    pub const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
    /// Docker image manifest, schema 2.
    pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
    /// Docker manifest list.
    pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
    /// Docker image config.
    pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
    /// Docker layer, gzip.
    pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
    /// Docker layer, uncompressed.
    pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar";
    /// Docker foreign (non-distributable) layer.
    pub const DOCKER_FOREIGN_LAYER: &str =
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    /// The `Accept` header for manifest requests.
    pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";
}

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type.
    pub media_type: String,
    /// Content digest.
    pub digest: Digest,
    /// Size in bytes.
    pub size: u64,
    /// Platform (index entries).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Alternative download locations (foreign layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
}

impl Descriptor {
    /// A descriptor of `data` with `media_type`.
    pub fn of(media_type: &str, data: &[u8]) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: Digest::of(data),
            size: data.len() as u64,
            platform: None,
            annotations: None,
            urls: None,
        }
    }
}

/// An index entry's platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Platform {
    /// CPU architecture (`amd64`, `arm64`, …).
    pub architecture: String,
    /// Operating system.
    pub os: String,
    /// CPU variant (`v8`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// OS version.
    #[serde(
        default,
        rename = "os.version",
        skip_serializing_if = "Option::is_none"
    )]
    pub os_version: Option<String>,
}

impl Platform {
    /// The host's platform (`linux/amd64`, `linux/arm64/v8`, …).
    pub fn host() -> Platform {
        let (architecture, variant) = match std::env::consts::ARCH {
            "x86_64" => ("amd64", None),
            "aarch64" => ("arm64", Some("v8")),
            "x86" => ("386", None),
            "arm" => ("arm", Some("v7")),
            "powerpc64" => ("ppc64le", None),
            "s390x" => ("s390x", None),
            "riscv64" => ("riscv64", None),
            other => (other, None),
        };
        Platform {
            architecture: architecture.into(),
            os: "linux".into(),
            variant: variant.map(str::to_string),
            os_version: None,
        }
    }

    /// Parse `os/arch[/variant]`.
    pub fn parse(text: &str) -> Result<Platform> {
        let parts: Vec<&str> = text.split('/').collect();
        if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
            return Err(Error::InvalidReference {
                reference: text.into(),
                reason: "platform must be os/arch[/variant]".into(),
            });
        }
        Ok(Platform {
            os: parts[0].into(),
            architecture: parts[1].into(),
            variant: parts.get(2).map(|v| v.to_string()),
            os_version: None,
        })
    }

    /// Whether an index entry for `other` can serve a request for `self`:
    /// same os and arch, and the same variant when both name one (arm64's
    /// `v8` is the default, as containerd's matcher has it).
    pub fn matches(&self, other: &Platform) -> bool {
        if self.os != other.os || self.architecture != other.architecture {
            return false;
        }
        let norm = |v: &Option<String>| match (self.architecture.as_str(), v.as_deref()) {
            ("arm64", None) => Some("v8".to_string()),
            (_, v) => v.map(str::to_string),
        };
        match (norm(&self.variant), norm(&other.variant)) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if let Some(v) = &self.variant {
            write!(f, "/{v}")?;
        }
        Ok(())
    }
}

/// An image manifest (docker schema 2 or OCI).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// Always 2.
    pub schema_version: u32,
    /// The manifest's media type (optional in OCI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The config blob.
    pub config: Descriptor,
    /// The layer blobs, base first.
    pub layers: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An index (OCI) or manifest list (docker).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    /// Always 2.
    pub schema_version: u32,
    /// The index's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    /// The manifests it lists.
    pub manifests: Vec<Descriptor>,
    /// Annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// What a manifest document turned out to be.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A single-image manifest.
    Manifest(Manifest),
    /// A multi-platform index.
    Index(Index),
}

/// The media type of a manifest document: the one the transport reported
/// when it is specific, else the document's own `mediaType`, else guessed
/// from its shape (OCI allows leaving it out).
pub fn detect_media_type(bytes: &[u8], reported: Option<&str>) -> String {
    let reported = reported.map(|r| r.split(';').next().unwrap_or("").trim().to_string());
    if let Some(r) = reported.as_deref() {
        if is_manifest_type(r) || is_index_type(r) {
            return r.to_string();
        }
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Probe {
        media_type: Option<String>,
        manifests: Option<serde_json::Value>,
        config: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<Probe>(bytes) {
        Ok(Probe {
            media_type: Some(m),
            ..
        }) => m,
        Ok(Probe {
            manifests: Some(_), ..
        }) => media::OCI_INDEX.into(),
        Ok(Probe {
            config: Some(_), ..
        }) => media::OCI_MANIFEST.into(),
        _ => reported.unwrap_or_default(),
    }
}

/// Docker schema 2 or OCI manifest.
pub fn is_manifest_type(m: &str) -> bool {
    m == media::OCI_MANIFEST || m == media::DOCKER_MANIFEST
}

/// Docker manifest list or OCI index.
pub fn is_index_type(m: &str) -> bool {
    m == media::OCI_INDEX || m == media::DOCKER_LIST
}

/// Parse a manifest document of `media_type`; `image` is named in errors.
pub fn parse(bytes: &[u8], media_type: &str, image: &str) -> Result<Parsed> {
    let malformed = |what, e: serde_json::Error| Error::Malformed {
        image: image.into(),
        what,
        reason: e.to_string(),
    };
    if is_manifest_type(media_type) {
        let m: Manifest = serde_json::from_slice(bytes).map_err(|e| malformed("manifest", e))?;
        Ok(Parsed::Manifest(m))
    } else if is_index_type(media_type) {
        let i: Index = serde_json::from_slice(bytes).map_err(|e| malformed("index", e))?;
        Ok(Parsed::Index(i))
    } else {
        Err(Error::UnsupportedMediaType {
            image: image.into(),
            media_type: media_type.into(),
        })
    }
}

/// Choose the entry of `index` for `platform`; `image` is named in errors.
pub fn choose_platform<'a>(
    index: &'a Index,
    platform: &Platform,
    image: &str,
) -> Result<&'a Descriptor> {
    index
        .manifests
        .iter()
        .filter(|d| is_manifest_type(&d.media_type))
        .find(|d| d.platform.as_ref().is_some_and(|p| platform.matches(p)))
        .ok_or_else(|| Error::NoPlatform {
            image: image.into(),
            platform: platform.to_string(),
            available: {
                let v: Vec<String> = index
                    .manifests
                    .iter()
                    .filter_map(|d| d.platform.as_ref().map(|p| p.to_string()))
                    .collect();
                if v.is_empty() {
                    "none".into()
                } else {
                    v.join(", ")
                }
            },
        })
}

/// The compression a layer media type announces.
pub fn layer_compression(media_type: &str) -> Option<Compression> {
    match media_type {
        media::OCI_LAYER | media::DOCKER_LAYER => Some(Compression::None),
        media::OCI_LAYER_GZIP | media::DOCKER_LAYER_GZIP | media::DOCKER_FOREIGN_LAYER => {
            Some(Compression::Gzip)
        }
        media::OCI_LAYER_ZSTD => Some(Compression::Zstd),
        _ => None,
    }
}

/// A layer blob's compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain tar.
    None,
    /// gzip.
    Gzip,
    /// zstd.
    Zstd,
}

impl Compression {
    /// Parse `gzip`, `zstd` or `none`/`uncompressed`.
    pub fn parse(text: &str) -> Result<Compression> {
        match text {
            "gzip" => Ok(Compression::Gzip),
            "zstd" => Ok(Compression::Zstd),
            "none" | "uncompressed" => Ok(Compression::None),
            _ => Err(Error::InvalidTransport {
                reference: text.into(),
                reason: "compression must be gzip, zstd or none".into(),
            }),
        }
    }

    /// The layer media type for `oci` or docker manifests, if one exists.
    pub fn layer_media_type(self, oci: bool) -> Option<&'static str> {
        match (self, oci) {
            (Compression::None, true) => Some(media::OCI_LAYER),
            (Compression::Gzip, true) => Some(media::OCI_LAYER_GZIP),
            (Compression::Zstd, true) => Some(media::OCI_LAYER_ZSTD),
            (Compression::None, false) => Some(media::DOCKER_LAYER),
            (Compression::Gzip, false) => Some(media::DOCKER_LAYER_GZIP),
            (Compression::Zstd, false) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_matching() {
        let want = Platform::parse("linux/arm64").unwrap();
        let have = Platform::parse("linux/arm64/v8").unwrap();
        assert!(want.matches(&have));
        assert!(!Platform::parse("linux/arm/v6")
            .unwrap()
            .matches(&Platform::parse("linux/arm/v7").unwrap()));
        assert!(Platform::parse("linux").is_err());
    }

    #[test]
    fn media_type_is_detected_from_shape() {
        assert_eq!(
            detect_media_type(br#"{"schemaVersion":2,"manifests":[]}"#, None),
            media::OCI_INDEX
        );
        assert_eq!(
            detect_media_type(br#"{"mediaType":"x/y"}"#, Some("text/plain")),
            "x/y"
        );
        assert!(matches!(
            parse(b"{}", "x/y", "img"),
            Err(Error::UnsupportedMediaType { .. })
        ));
    }
}
