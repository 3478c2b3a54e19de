//! `yarn.lock` version 1 (classic yarn): blocks of
//!
//! ```text
//! "@scope/name@^1.0.0", "@scope/name@^1.2.0":
//!   version "1.2.3"
//! ```
//!
//! Yarn 2+ lockfiles are YAML with a `__metadata` block; they are reported,
//! not read.

use super::{package, warning};
use crate::model::{Ecosystem, Package, ScanWarning};

pub(crate) fn read_yarn_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    let text =
        std::str::from_utf8(data).map_err(|_| warning(path, None, "yarn.lock is not UTF-8"))?;
    let mut out = Vec::new();
    // (name, line of its header) of the block being read.
    let mut current: Option<(String, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if line.starts_with("__metadata:") {
            return Err(warning(
                path,
                Some(lineno),
                "yarn.lock of yarn 2 or later (YAML) is not read",
            ));
        }
        if !line.starts_with(' ') {
            if let Some((name, at)) = current.take() {
                return Err(warning(
                    path,
                    Some(at),
                    format!("yarn.lock: block for {name:?} has no version"),
                ));
            }
            let header = line.strip_suffix(':').ok_or_else(|| {
                warning(
                    path,
                    Some(lineno),
                    "yarn.lock: block header does not end in ':'",
                )
            })?;
            let first = header
                .split(',')
                .next()
                .unwrap_or("")
                .trim()
                .trim_matches('"');
            let name = spec_name(first).ok_or_else(|| {
                warning(
                    path,
                    Some(lineno),
                    format!("yarn.lock: no package name in {first:?}"),
                )
            })?;
            current = Some((name.to_string(), lineno));
        } else if let Some(rest) = line.trim_start().strip_prefix("version ") {
            let Some((name, _)) = current.take() else {
                continue;
            };
            let version = rest.trim().trim_matches('"');
            if version.is_empty() {
                return Err(warning(path, Some(lineno), "yarn.lock: empty version"));
            }
            out.push(package(Ecosystem::Npm, &name, version, path));
        }
    }
    if let Some((name, at)) = current {
        return Err(warning(
            path,
            Some(at),
            format!("yarn.lock: block for {name:?} has no version"),
        ));
    }
    Ok(out)
}

/// `name` of `name@range` / `@scope/name@range`.
fn spec_name(spec: &str) -> Option<&str> {
    let at = if let Some(rest) = spec.strip_prefix('@') {
        rest.find('@').map(|i| i + 1)?
    } else {
        spec.find('@')?
    };
    let name = &spec[..at];
    (!name.is_empty() && name != "@").then_some(name)
}
