//! Language packages (Python, npm, Go, Rust, Java), read from single files.
//!
//! The tree walker owns all I/O (in-root resolution, ELF sniffing); these
//! readers only see an in-image path and the bytes of one file, so they can
//! be tested on planted bytes and never touch the host.
//!
//! This module is the contract between the walker and the readers; the
//! readers themselves live in its submodules.

mod auditable;
mod elf;
mod gobuildinfo;
mod java;
mod npm;
mod pnpm;
mod python;
mod yarn;

use crate::model::{Package, ScanWarning};

/// Which kind of language-package record a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LangRecord {
    /// `…/NAME.dist-info/METADATA`.
    PythonMetadata,
    /// `…/NAME.egg-info/PKG-INFO` or a `NAME.egg-info` file.
    PythonPkgInfo,
    /// `…/node_modules/…/package.json`.
    NpmPackageJson,
    /// `package-lock.json`, `npm-shrinkwrap.json`, `yarn.lock`, `pnpm-lock.yaml`.
    NpmLockfile,
    /// `*.jar`, `*.war`, `*.ear` (zip archives with `pom.properties`).
    JavaArchive,
}

/// The record kind of the file at in-image `path`, from its path alone.
/// ELF executables are not classified here: the walker hands every regular
/// file that starts with the ELF magic to [`read_binary`].
pub fn classify(path: &str) -> Option<LangRecord> {
    let (dir, file) = match path.rsplit_once('/') {
        Some((dir, file)) => (dir, file),
        None => ("", path),
    };
    let parent = dir.rsplit('/').next().unwrap_or("");
    match file {
        "METADATA" if parent.ends_with(".dist-info") => Some(LangRecord::PythonMetadata),
        "PKG-INFO" if parent.ends_with(".egg-info") => Some(LangRecord::PythonPkgInfo),
        // A single-file egg-info (distutils' install_egg_info) holds PKG-INFO itself.
        f if f.ends_with(".egg-info") => Some(LangRecord::PythonPkgInfo),
        "package.json" if is_under_node_modules(dir) => Some(LangRecord::NpmPackageJson),
        // Lockfiles inside node_modules are copies npm keeps for itself
        // (`node_modules/.package-lock.json` is read, nested ones are not).
        "package-lock.json" | "npm-shrinkwrap.json" | "yarn.lock" | "pnpm-lock.yaml"
            if !is_under_node_modules(dir) =>
        {
            Some(LangRecord::NpmLockfile)
        }
        ".package-lock.json" if dir.ends_with("/node_modules") || dir == "node_modules" => {
            Some(LangRecord::NpmLockfile)
        }
        f if f.ends_with(".jar") || f.ends_with(".war") || f.ends_with(".ear") => {
            Some(LangRecord::JavaArchive)
        }
        _ => None,
    }
}

/// Whether `dir` is a package directory inside a `node_modules` tree
/// (`…/node_modules/NAME` or `…/node_modules/@SCOPE/NAME`), not the tree's
/// own project `package.json`.
fn is_under_node_modules(dir: &str) -> bool {
    let segments: Vec<&str> = dir.split('/').collect();
    match segments.iter().rposition(|s| *s == "node_modules") {
        Some(i) => {
            let rest = &segments[i + 1..];
            match rest {
                [name] => !name.is_empty() && !name.starts_with('@') && !name.starts_with('.'),
                [scope, name] => scope.starts_with('@') && !name.is_empty(),
                _ => false,
            }
        }
        None => false,
    }
}

/// A directory that must hold a file to be a valid record: returns that
/// file's name (`*.dist-info` → `METADATA`), so the walker can warn when it
/// is missing.
pub fn required_file(dir_path: &str) -> Option<&'static str> {
    let name = dir_path.trim_end_matches('/').rsplit('/').next()?;
    if name.ends_with(".dist-info") {
        Some("METADATA")
    } else if name.ends_with(".egg-info") {
        Some("PKG-INFO")
    } else {
        None
    }
}

/// The packages one record declares.
pub fn read_record(kind: LangRecord, path: &str, data: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    match kind {
        LangRecord::PythonMetadata | LangRecord::PythonPkgInfo => {
            python::read_metadata(path, data).map(|p| vec![p])
        }
        LangRecord::NpmPackageJson => npm::read_package_json(path, data).map(|p| vec![p]),
        LangRecord::NpmLockfile => {
            if path.ends_with("yarn.lock") {
                yarn::read_yarn_lock(path, data)
            } else if path.ends_with("pnpm-lock.yaml") {
                pnpm::read_pnpm_lock(path, data)
            } else {
                npm::read_package_lock(path, data)
            }
        }
        LangRecord::JavaArchive => java::read_archive(path, data),
    }
}

/// The modules (Go build info) or crates (cargo-auditable) an ELF binary
/// embeds; empty when it embeds none.
pub fn read_binary(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    let fault = |m| warning(path, None, m);
    let sections = elf::Sections::parse(data).map_err(fault)?;
    let mut packages = Vec::new();
    let go = sections.get(".go.buildinfo").map_err(fault)?;
    // The Go linker always writes the section when it writes a section
    // table, so only a binary without one is searched for the header.
    let search = go.is_none() && !sections.has_section_table();
    if let Some(found) = gobuildinfo::read(path, go, search.then_some(data))? {
        packages.extend(found);
    }
    if let Some(dep) = sections.get(".dep-v0").map_err(fault)? {
        packages.extend(auditable::read(path, dep)?);
    }
    Ok(packages)
}

/// A reader's fault at `path` (and `line`, where the record has lines).
pub(crate) fn warning(path: &str, line: Option<usize>, message: impl Into<String>) -> ScanWarning {
    ScanWarning {
        path: path.to_string(),
        line,
        message: message.into(),
    }
}

/// A package with only the fields every language reader fills.
pub(crate) fn package(
    ecosystem: crate::model::Ecosystem,
    name: &str,
    version: &str,
    path: &str,
) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem,
        arch: None,
        source: None,
        source_version: None,
        licenses: Vec::new(),
        files: Vec::new(),
        location: path.to_string(),
        layer: None,
    }
}
