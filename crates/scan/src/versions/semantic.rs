//! Semantic versions: npm and crates.io (SemVer 2.0.0) and Go modules
//! (`v`-prefixed SemVer, pseudo-versions, `+incompatible`).

use std::cmp::Ordering;

use semver::Version;

/// SemVer precedence; build metadata breaks ties so the order stays total
/// and agrees with equality of strings.
pub(crate) fn compare_semver(a: &str, b: &str) -> Ordering {
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x.cmp_precedence(&y).then_with(|| x.build.cmp(&y.build)),
        _ => super::natural(a, b),
    }
}

/// Go's module ordering (golang.org/x/mod/semver): `v1.2.3`, shorthands
/// `v1` / `v1.2`, pseudo-versions (pre-releases of the next version) and
/// `+incompatible` (build metadata, ignored). OSV writes Go versions without
/// the `v`, so both forms are read; `go1.21` style toolchain versions too.
pub(crate) fn compare_go(a: &str, b: &str) -> Ordering {
    match (parse_go(a), parse_go(b)) {
        (Some(x), Some(y)) => x.cmp_precedence(&y),
        _ => super::natural(a, b),
    }
}

fn parse(v: &str) -> Option<Version> {
    let v = v.trim();
    let v = v.strip_prefix(['v', '=']).unwrap_or(v);
    Version::parse(v).ok()
}

fn parse_go(v: &str) -> Option<Version> {
    let v = v.trim();
    let v = v
        .strip_prefix("go")
        .or_else(|| v.strip_prefix('v'))
        .unwrap_or(v);
    let v = v.strip_suffix("+incompatible").unwrap_or(v);
    // Pad the shorthands (`1`, `1.21`, `1.21rc1` of toolchains) to three numbers.
    let end = v.find(['-', '+']).unwrap_or(v.len());
    let (core, rest) = v.split_at(end);
    let (core, pre) = match core.find(|c: char| c.is_ascii_alphabetic()) {
        // Toolchain pre-releases: go1.21rc2 is 1.21.0-rc2.
        Some(i) if rest.is_empty() => (&core[..i], Some(&core[i..])),
        _ => (core, None),
    };
    let dots = core.matches('.').count();
    let mut s = core.to_string();
    for _ in dots..2 {
        s.push_str(".0");
    }
    if let Some(pre) = pre {
        s.push('-');
        s.push_str(pre);
    }
    s.push_str(rest);
    Version::parse(&s).ok()
}
