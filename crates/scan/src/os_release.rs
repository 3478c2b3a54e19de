//! The image's OS, from `/etc/os-release` or, failing that,
//! `/usr/lib/os-release` (`KEY=value` lines, values optionally quoted).

use crate::model::{OsRelease, ScanWarning};
use crate::tree::Tree;

const PATHS: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// The first of the two files that exists; None when neither does or the
/// file names no `ID`.
pub fn read(tree: &Tree, warnings: &mut Vec<ScanWarning>) -> Option<OsRelease> {
    for path in PATHS {
        match tree.read(path) {
            Ok(Some(bytes)) => return parse(&String::from_utf8_lossy(&bytes)),
            Ok(None) => {}
            Err(w) => warnings.push(w),
        }
    }
    None
}

/// `ID`, `VERSION_ID`, `VERSION_CODENAME`, `PRETTY_NAME` of os-release text.
pub fn parse(text: &str) -> Option<OsRelease> {
    let mut os = OsRelease::default();
    for line in text.lines() {
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = unquote(v.trim());
        match k.trim() {
            "ID" => os.id = v,
            "VERSION_ID" => os.version_id = Some(v),
            "VERSION_CODENAME" => os.version_codename = Some(v),
            "PRETTY_NAME" => os.pretty_name = Some(v),
            _ => {}
        }
    }
    (!os.id.is_empty()).then_some(os)
}

fn unquote(v: &str) -> String {
    for q in ['"', '\''] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner.replace("\\\"", "\"").replace("\\\\", "\\");
        }
    }
    v.to_string()
}
