//! `pnpm-lock.yaml`: the package keys of its `packages:` map, read without
//! a YAML parser (the keys are all that is needed, one per line at two
//! spaces of indent):
//!
//! ```text
//! lockfileVersion: 5.4          lockfileVersion: '6.0'        lockfileVersion: '9.0'
//! packages:                     packages:                     packages:
//!   /@babel/core/7.22.5:          /@babel/core@7.22.5:          '@babel/core@7.22.5':
//!   /react-dom/18.2.0_react@18:   /react-dom@18.2.0(react@18):  react-dom@18.2.0:
//! ```
//!
//! Peer-dependency suffixes (`_…`, `(…)`) are dropped; keys that are no
//! registry version (tarball URLs, git, `file:`) are skipped.

use super::{package, warning};
use crate::model::{Ecosystem, Package, ScanWarning};

pub(crate) fn read_pnpm_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    let text = std::str::from_utf8(data)
        .map_err(|_| warning(path, None, "pnpm-lock.yaml is not UTF-8"))?;
    let mut major: Option<u32> = None;
    let mut in_packages = false;
    let mut out: Vec<Package> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let lineno = i + 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') {
            if let Some(v) = line.strip_prefix("lockfileVersion:") {
                let v = v.trim().trim_matches(['\'', '"']);
                let m = v
                    .split('.')
                    .next()
                    .and_then(|m| m.parse().ok())
                    .ok_or_else(|| {
                        warning(path, Some(lineno), format!("bad lockfileVersion {v:?}"))
                    })?;
                major = Some(m);
            }
            in_packages = line.trim_end() == "packages:";
            continue;
        }
        if !in_packages || line.starts_with("   ") {
            continue;
        }
        let major = major
            .ok_or_else(|| warning(path, Some(lineno), "packages listed before lockfileVersion"))?;
        let key = line
            .trim()
            .strip_suffix(':')
            .ok_or_else(|| warning(path, Some(lineno), "package key does not end in ':'"))?
            .trim_matches(['\'', '"']);
        let Some((name, version)) = split_key(key, major) else {
            // Git and tarball dependencies are keyed by their origin
            // (`/github.com/user/repo/…`, `https://…`): not registry packages.
            if key.trim_start_matches('/').contains(['/', ':']) {
                continue;
            }
            return Err(warning(
                path,
                Some(lineno),
                format!("no name and version in {key:?}"),
            ));
        };
        // Tarball, git and directory dependencies carry no registry version.
        if !version.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        if !out.iter().any(|p| p.name == name && p.version == version) {
            out.push(package(Ecosystem::Npm, name, version, path));
        }
    }
    Ok(out)
}

/// (name, version) of a package key; lockfiles before version 6 separate
/// them with `/`, later ones with `@`.
fn split_key(key: &str, major: u32) -> Option<(&str, &str)> {
    let key = key.strip_prefix('/').unwrap_or(key);
    // Skip a scope's own `@` (and, for `/`, its own slash).
    let scoped = key.starts_with('@');
    let (name, rest) = if major < 6 {
        let skip = if scoped { key.find('/')? + 1 } else { 0 };
        let at = skip + key[skip..].find('/')?;
        (&key[..at], &key[at + 1..])
    } else {
        let at = usize::from(scoped) + key[usize::from(scoped)..].find('@')?;
        (&key[..at], &key[at + 1..])
    };
    let version = rest.split(['(', '_']).next().unwrap_or(rest);
    (!name.is_empty() && !name.ends_with('/') && !version.is_empty()).then_some((name, version))
}
