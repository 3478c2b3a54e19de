//! Rust binaries built with cargo-auditable: the `.dep-v0` section holds
//! zlib-compressed JSON, `{"packages":[{"name","version","source","kind",
//! "dependencies","root"}]}`.

use std::io::Read;

use serde::Deserialize;

use super::{package, warning};
use crate::model::{Ecosystem, Package, ScanWarning};

/// A hostile binary could hold a zlib bomb; real dependency lists are a few
/// hundred KiB at most.
const MAX_JSON: u64 = 8 << 20;

#[derive(Deserialize)]
struct DepInfo {
    packages: Vec<DepPackage>,
}

#[derive(Deserialize)]
struct DepPackage {
    name: String,
    version: String,
    #[serde(default)]
    kind: Option<String>,
}

/// The crates compiled into the binary; build-time-only crates (build
/// scripts, proc-macros) are left out since none of their code ships.
pub(crate) fn read(path: &str, section: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| {
            warning(
                path,
                None,
                format!("cargo-auditable data: bad zlib stream: {e}"),
            )
        })?;
    if json.len() as u64 > MAX_JSON {
        return Err(warning(
            path,
            None,
            "cargo-auditable data: larger than 8 MiB",
        ));
    }
    let info: DepInfo = serde_json::from_slice(&json)
        .map_err(|e| warning(path, None, format!("cargo-auditable data: bad JSON: {e}")))?;
    let mut out = Vec::new();
    for p in info.packages {
        if p.kind.as_deref() == Some("build") {
            continue;
        }
        // The binary's own crate and path/git dependencies are listed
        // too: they are part of what ships.
        let pkg = package(Ecosystem::CratesIo, &p.name, &p.version, path);
        out.push(pkg);
    }
    Ok(out)
}
