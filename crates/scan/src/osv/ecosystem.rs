//! Our ecosystems as OSV names them, and the name normalisation each
//! ecosystem's index uses.

use crate::model::{Ecosystem, OsRelease};

/// The OSV ecosystem of `eco` in an image with `os`: `Debian:12`,
/// `Ubuntu:22.04`, `Alpine:v3.19`, `PyPI`... `None` where no advisory can
/// be told to apply: a distribution package in an image whose os-release
/// names no release (its advisories are per release), or rpm on a
/// distribution OSV has no database for.
pub(crate) fn osv_name(eco: Ecosystem, os: Option<&OsRelease>) -> Option<String> {
    let id = os.map(|o| o.id.as_str()).unwrap_or("");
    let version = os.and_then(|o| o.version_id.as_deref());
    let distro = matches!(eco, Ecosystem::Debian | Ecosystem::Alpine | Ecosystem::Rpm);
    if distro && version.is_none() && !matches!(id, "wolfi" | "chainguard" | "rhel") {
        return None;
    }
    Some(match eco {
        Ecosystem::Debian => match id {
            "ubuntu" => with_release("Ubuntu", version),
            // Debian's major version names the release: "12" of "12.4".
            _ => with_release("Debian", version.map(|v| v.split('.').next().unwrap_or(v))),
        },
        Ecosystem::Alpine => match id {
            "wolfi" => "Wolfi".to_string(),
            "chainguard" => "Chainguard".to_string(),
            _ => {
                // Alpine's branches are `vMAJOR.MINOR`.
                let branch = version.map(|v| {
                    let mut it = v.split('.');
                    let major = it.next().unwrap_or(v);
                    match it.next() {
                        Some(minor) => format!("v{major}.{minor}"),
                        None => format!("v{major}"),
                    }
                });
                with_release("Alpine", branch.as_deref())
            }
        },
        Ecosystem::Rpm => match id {
            "rhel" => "Red Hat".to_string(),
            "rocky" => with_release("Rocky Linux", version.map(major)),
            "almalinux" => with_release("AlmaLinux", version.map(major)),
            "mageia" => with_release("Mageia", version),
            "opensuse-leap" => with_release("openSUSE:Leap", version),
            "sles" => with_release("SUSE:Linux Enterprise Server", version),
            _ => return None,
        },
        Ecosystem::PyPI => "PyPI".to_string(),
        Ecosystem::Npm => "npm".to_string(),
        Ecosystem::CratesIo => "crates.io".to_string(),
        Ecosystem::Go => "Go".to_string(),
        Ecosystem::Maven => "Maven".to_string(),
    })
}

fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

fn with_release(base: &str, release: Option<&str>) -> String {
    match release {
        Some(r) if !r.is_empty() => format!("{base}:{r}"),
        _ => base.to_string(),
    }
}

/// Whether a record's ecosystem `theirs` covers our `ours`: the same
/// string, a qualified variant of it (`Ubuntu:22.04:LTS` for
/// `Ubuntu:22.04`), or the bare distribution for a record of no release.
pub(crate) fn covers(theirs: &str, ours: &str) -> bool {
    if theirs == ours {
        return true;
    }
    if let Some(rest) = theirs.strip_prefix(ours) {
        return rest.starts_with(':');
    }
    match ours.split_once(':') {
        Some((base, _)) => theirs == base,
        None => false,
    }
}

/// The index key of the OSV ecosystem string: the part before the release.
pub(crate) fn base(osv_ecosystem: &str) -> &str {
    osv_ecosystem.split(':').next().unwrap_or(osv_ecosystem)
}

/// Names as each ecosystem compares them: PEP 503 for PyPI, exact elsewhere.
pub(crate) fn normalise(base: &str, name: &str) -> String {
    if base == "PyPI" {
        let mut out = String::with_capacity(name.len());
        let mut sep = false;
        for c in name.chars() {
            if matches!(c, '-' | '_' | '.') {
                sep = true;
                continue;
            }
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.push(c.to_ascii_lowercase());
        }
        out
    } else {
        name.to_string()
    }
}
