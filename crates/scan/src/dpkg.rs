//! dpkg's database: `/var/lib/dpkg/status` (Debian, Ubuntu) with each
//! package's files from `info/NAME[:ARCH].list`, and distroless's
//! `status.d/NAME` with files from `status.d/NAME.md5sums`. Licences come
//! from `/usr/share/doc/NAME/copyright` when it is machine-readable
//! (DEP-5 `License:` lines).

use crate::control::{paragraphs, Paragraph};
use crate::found::{Findings, Found};
use crate::model::{Ecosystem, Package};
use crate::tree::Tree;

const STATUS: &str = "/var/lib/dpkg/status";
const STATUS_D: &str = "/var/lib/dpkg/status.d";
const INFO: &str = "/var/lib/dpkg/info";

/// Read both databases into `out`.
pub fn read(tree: &Tree, out: &mut Findings) {
    match tree.read(STATUS) {
        Ok(Some(bytes)) => read_status(tree, STATUS, &bytes, false, out),
        Ok(None) => {}
        Err(w) => out.warnings.push(w),
    }
    let names = match tree.list(STATUS_D) {
        Ok(Some(n)) => n,
        Ok(None) => return,
        Err(w) => return out.warnings.push(w),
    };
    for name in names.iter().filter(|n| !n.ends_with(".md5sums")) {
        let path = format!("{STATUS_D}/{name}");
        match tree.read(&path) {
            Ok(Some(bytes)) => read_status(tree, &path, &bytes, true, out),
            Ok(None) => {}
            Err(w) => out.warnings.push(w),
        }
    }
}

/// One status file: `status_d` for distroless's one-file-per-package form.
fn read_status(tree: &Tree, path: &str, bytes: &[u8], status_d: bool, out: &mut Findings) {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return out.warn(path, None, "not UTF-8 text");
    };
    for p in paragraphs(text) {
        match p {
            Ok(p) => {
                if let Some(f) = package(tree, path, &p, status_d, out) {
                    out.found.push(f);
                }
            }
            Err(bad) => out.warn(path, Some(bad.line), bad.message),
        }
    }
}

fn package(
    tree: &Tree,
    path: &str,
    p: &Paragraph,
    status_d: bool,
    out: &mut Findings,
) -> Option<Found> {
    if !status_d {
        if p.get("Status").is_none() {
            out.warn(path, Some(p.line), "package without a Status field");
            return None;
        }
        if !installed(p) {
            return None;
        }
    }
    let (Some(name), Some(version)) = (p.get("Package"), p.get("Version")) else {
        out.warn(path, Some(p.line), "package without Package or Version");
        return None;
    };
    let arch = p.get("Architecture").map(str::to_string);
    let (source, source_version) = match p.get("Source") {
        Some(s) => match s.split_once('(') {
            Some((n, v)) => (
                Some(n.trim().to_string()),
                Some(v.trim_end_matches(')').trim().to_string()),
            ),
            None => (Some(s.trim().to_string()), None),
        },
        None => (None, None),
    };
    let (files, record) = if status_d {
        let sums = format!("{path}.md5sums");
        (md5sums_files(tree, &sums, out), Some(path.to_string()))
    } else {
        list_files(tree, name, arch.as_deref(), out)
    };
    Some(Found {
        package: Package {
            name: name.to_string(),
            version: version.to_string(),
            ecosystem: Ecosystem::Debian,
            arch,
            source,
            source_version,
            licenses: licenses(tree, name, out),
            files,
            location: path.to_string(),
            layer: None,
        },
        record,
    })
}

/// dpkg's `Status: want flag status`: installed, or unpacked and half-way
/// (still on disk); not `config-files` or `not-installed`.
fn installed(p: &Paragraph) -> bool {
    let Some(s) = p.get("Status") else {
        return false;
    };
    !matches!(
        s.split_whitespace().nth(2),
        Some("not-installed" | "config-files") | None
    )
}

/// `info/NAME:ARCH.list` (multi-arch) or `info/NAME.list`: the files, and
/// the list's path as the package's own record.
fn list_files(
    tree: &Tree,
    name: &str,
    arch: Option<&str>,
    out: &mut Findings,
) -> (Vec<String>, Option<String>) {
    let mut candidates = Vec::with_capacity(2);
    if let Some(a) = arch {
        candidates.push(format!("{INFO}/{name}:{a}.list"));
    }
    candidates.push(format!("{INFO}/{name}.list"));
    for list in candidates {
        match tree.read(&list) {
            Ok(Some(bytes)) => {
                let files = String::from_utf8_lossy(&bytes)
                    .lines()
                    .filter(|l| l.starts_with('/') && *l != "/.")
                    .map(str::to_string)
                    .collect();
                return (files, Some(list));
            }
            Ok(None) => {}
            Err(w) => {
                out.warnings.push(w);
                return (Vec::new(), None);
            }
        }
    }
    (Vec::new(), None)
}

/// `MD5  path` lines (paths relative to `/`).
fn md5sums_files(tree: &Tree, path: &str, out: &mut Findings) -> Vec<String> {
    match tree.read(path) {
        Ok(Some(bytes)) => String::from_utf8_lossy(&bytes)
            .lines()
            .filter_map(|l| l.split_once(char::is_whitespace))
            .map(|(_, f)| format!("/{}", f.trim().trim_start_matches('/')))
            .collect(),
        Ok(None) => Vec::new(),
        Err(w) => {
            out.warnings.push(w);
            Vec::new()
        }
    }
}

/// The `License:` names of a machine-readable copyright file, in order,
/// each once; none for a free-form one.
fn licenses(tree: &Tree, name: &str, out: &mut Findings) -> Vec<String> {
    let path = format!("/usr/share/doc/{name}/copyright");
    let bytes = match tree.read(&path) {
        Ok(Some(b)) => b,
        Ok(None) => return Vec::new(),
        Err(w) => {
            out.warnings.push(w);
            return Vec::new();
        }
    };
    dep5_licenses(&String::from_utf8_lossy(&bytes))
}

/// DEP-5: the file starts with `Format:`; each `License:` line's first
/// line names a licence (the rest of the paragraph is its text).
pub fn dep5_licenses(text: &str) -> Vec<String> {
    if !text.starts_with("Format:") {
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some(v) = line.strip_prefix("License:") else {
            continue;
        };
        let v = v.trim();
        if !v.is_empty() && !out.iter().any(|o| o == v) {
            out.push(v.to_string());
        }
    }
    out
}
