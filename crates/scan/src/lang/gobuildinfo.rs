//! Go binaries' embedded build info (`runtime/debug.BuildInfo`), in the
//! pointer-free layout Go 1.18 and later write into `.go.buildinfo`:
//!
//! ```text
//! 0   "\xff Go buildinf:"   14-byte magic
//! 14  pointer size          1 byte
//! 15  flags                 bit 1 (0x2): strings inline, no pointers
//! 32  varint len + Go version ("go1.21.5")
//!     varint len + modinfo (16-byte sentinel, text lines, 16-byte sentinel)
//! ```
//!
//! The modinfo lines are `path\tMAIN`, `mod\tPATH\tVERSION\tSUM`,
//! `dep\tPATH\tVERSION\tSUM`, `=>\tPATH\tVERSION\tSUM` (replaces the line
//! before it) and `build\tKEY=VALUE`. Older binaries store pointers into the
//! data segment instead; they are reported, not read.

use super::{package, warning};
use crate::model::{Ecosystem, Package, ScanWarning};

const MAGIC: &[u8] = b"\xff Go buildinf:";
const HEADER_LEN: usize = 32;
const FLAG_INLINE_STRINGS: u8 = 0x2;
/// The sentinels around modinfo are 16 bytes each.
const SENTINEL_LEN: usize = 16;

/// The modules of a Go binary: `None` when `section` is absent and no
/// build-info header is found in `search` either (not a Go binary).
/// `search` is the whole file of a binary without a section table.
pub(crate) fn read(
    path: &str,
    section: Option<&[u8]>,
    search: Option<&[u8]>,
) -> Result<Option<Vec<Package>>, ScanWarning> {
    // A binary whose section headers were stripped still carries the
    // header in its data segment, 16-byte aligned.
    let data = match section {
        Some(s) if s.starts_with(MAGIC) => s,
        Some(_) => {
            return Err(warning(
                path,
                None,
                "Go build info: section lacks the magic",
            ))
        }
        None => match search.and_then(|file| Some(&file[find_aligned(file)?..])) {
            Some(found) => found,
            None => return Ok(None),
        },
    };
    let (go_version, modinfo) = decode_header(data).map_err(|m| warning(path, None, m))?;
    Ok(Some(packages(path, &go_version, &modinfo)))
}

fn find_aligned(file: &[u8]) -> Option<usize> {
    (0..file.len().saturating_sub(HEADER_LEN))
        .step_by(16)
        .find(|&off| file[off..].starts_with(MAGIC))
}

/// The Go version and the modinfo text of a build-info blob.
pub(crate) fn decode_header(data: &[u8]) -> Result<(String, String), String> {
    if data.len() < HEADER_LEN || !data.starts_with(MAGIC) {
        return Err("Go build info: header truncated".to_string());
    }
    if data[15] & FLAG_INLINE_STRINGS == 0 {
        return Err(
            "Go build info in the pre-1.18 pointer layout is not read (binary built with Go < 1.18)"
                .to_string(),
        );
    }
    let (version, rest) = decode_string(&data[HEADER_LEN..])
        .ok_or_else(|| "Go build info: Go version string truncated".to_string())?;
    let (modinfo, _) = decode_string(rest)
        .ok_or_else(|| "Go build info: module info string truncated".to_string())?;
    let version = String::from_utf8(version.to_vec())
        .map_err(|_| "Go build info: Go version is not UTF-8".to_string())?;
    // As debug/buildinfo: the sentinels are kept only around a
    // newline-terminated body; anything else means no module info.
    let modinfo =
        if modinfo.len() > 2 * SENTINEL_LEN && modinfo[modinfo.len() - SENTINEL_LEN - 1] == b'\n' {
            &modinfo[SENTINEL_LEN..modinfo.len() - SENTINEL_LEN]
        } else {
            &[][..]
        };
    let modinfo = String::from_utf8(modinfo.to_vec())
        .map_err(|_| "Go build info: module info is not UTF-8".to_string())?;
    Ok((version, modinfo))
}

/// A uvarint-length-prefixed byte string and what follows it.
fn decode_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    let mut shift = 0u32;
    for (i, &b) in data.iter().enumerate().take(10) {
        len |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            let start = i + 1;
            let len = usize::try_from(len).ok()?;
            let end = start.checked_add(len)?;
            return (end <= data.len()).then(|| (&data[start..end], &data[end..]));
        }
        shift += 7;
    }
    None
}

/// The main module, its dependencies (with replacements applied) and the
/// standard library at the toolchain's version (`stdlib`, as OSV names it).
fn packages(path: &str, go_version: &str, modinfo: &str) -> Vec<Package> {
    let mut out: Vec<Package> = Vec::new();
    for line in modinfo.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["mod", module, version, ..] | ["dep", module, version, ..] => {
                out.push(package(Ecosystem::Go, module, version, path));
            }
            ["=>", module, version, ..] => {
                if let Some(last) = out.last_mut() {
                    last.name = (*module).to_string();
                    last.version = (*version).to_string();
                }
            }
            _ => {}
        }
    }
    if let Some(v) = go_version.strip_prefix("go") {
        // `go1.22.1 X:boringcrypto` and similar experiment suffixes.
        let v = v.split([' ', '-']).next().unwrap_or(v);
        out.push(package(Ecosystem::Go, "stdlib", v, path));
    }
    out
}
