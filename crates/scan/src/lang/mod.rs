//! Language packages (Python, npm, Go, Rust, Java), read from single files.
//!
//! The tree walker owns all I/O (in-root resolution, ELF sniffing); these
//! readers only see an in-image path and the bytes of one file, so they can
//! be tested on planted bytes and never touch the host.
//!
//! This module is the contract between the walker and the readers; the
//! readers themselves land in its submodules.

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
    let _ = path;
    None
}

/// A directory that must hold a file to be a valid record: returns that
/// file's name (`*.dist-info` → `METADATA`), so the walker can warn when it
/// is missing.
pub fn required_file(dir_path: &str) -> Option<&'static str> {
    let _ = dir_path;
    None
}

/// The packages one record declares.
pub fn read_record(kind: LangRecord, path: &str, data: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    let _ = (kind, data);
    Err(ScanWarning {
        path: path.to_string(),
        line: None,
        message: "language readers are not built yet".to_string(),
    })
}

/// The modules (Go build info) or crates (cargo-auditable) an ELF binary
/// embeds; empty when it embeds none.
pub fn read_binary(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    let _ = (path, data);
    Ok(Vec::new())
}
