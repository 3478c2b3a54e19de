//! Which advisories affect which packages (OSV schema, "Evaluation"):
//! a version is affected when it is listed in `versions`, or when walking a
//! range's events in version order leaves it between an `introduced` and
//! the next `fixed` (exclusive) or `last_affected` (inclusive).

use std::cmp::Ordering;
use std::collections::HashSet;

use super::ecosystem::{base, covers, normalise, osv_name};
use super::record::{Affected, Event, Range};
use super::{severity, Database, Finding};
use crate::model::{Ecosystem, Inventory, Package};
use crate::versions;

pub(crate) fn matches(db: &Database, inventory: &Inventory) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for pkg in &inventory.packages {
        let Some(ours) = osv_name(pkg.ecosystem, inventory.os.as_ref()) else {
            continue;
        };
        let eco_base = base(&ours);
        for (name, version) in candidates(pkg) {
            let key = (eco_base.to_string(), normalise(eco_base, name));
            let Some(hits) = db.index.get(&key) else {
                continue;
            };
            for &(r, a) in hits {
                let record = &db.records[r];
                let affected = &record.affected[a];
                if !affected
                    .package
                    .as_ref()
                    .is_some_and(|p| covers(&p.ecosystem, &ours))
                {
                    continue;
                }
                let Some(fixed) = affected_by(pkg.ecosystem, version, affected) else {
                    continue;
                };
                // One finding per advisory and package, through whichever
                // name matched first (the source package's).
                let key = (
                    record.id.as_str(),
                    pkg.name.as_str(),
                    pkg.version.as_str(),
                    pkg.location.as_str(),
                );
                if !seen.insert(key) {
                    continue;
                }
                out.push(Finding {
                    id: record.id.clone(),
                    aliases: record.aliases.clone(),
                    summary: record.summary.clone(),
                    package: pkg.name.clone(),
                    ecosystem: pkg.ecosystem,
                    installed: version.to_string(),
                    fixed,
                    severity: severity::of_record(record, a),
                    location: pkg.location.clone(),
                });
            }
        }
    }
    out.sort_by(|x, y| {
        y.severity
            .cmp(&x.severity)
            .then_with(|| x.id.cmp(&y.id))
            .then_with(|| x.package.cmp(&y.package))
            .then_with(|| x.location.cmp(&y.location))
    });
    out
}

/// The (name, version) pairs a package is known by in advisories: Debian's
/// and Alpine's advisories name source packages at their source version
/// (DSA for `glibc` covers `libc6`), so those come first.
fn candidates(pkg: &Package) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    if matches!(
        pkg.ecosystem,
        Ecosystem::Debian | Ecosystem::Alpine | Ecosystem::Rpm
    ) {
        if let Some(src) = pkg.source.as_deref() {
            let version = pkg.source_version.as_deref().unwrap_or(&pkg.version);
            out.push((src, version));
        }
    }
    if !out.iter().any(|(n, v)| *n == pkg.name && *v == pkg.version) {
        out.push((pkg.name.as_str(), pkg.version.as_str()));
    }
    out
}

/// `None` when `version` is not affected; else the lowest fixed version
/// above it that an affecting range names (`Some(None)`: no fix known).
fn affected_by(eco: Ecosystem, version: &str, affected: &Affected) -> Option<Option<String>> {
    let mut hit = affected
        .versions
        .iter()
        .any(|v| versions::compare(eco, v, version) == Ordering::Equal);
    let mut fixed: Option<&str> = None;
    for range in &affected.ranges {
        let cmp = match (eco, range.kind.as_str()) {
            (Ecosystem::Go, "SEMVER" | "ECOSYSTEM") => Ecosystem::Go,
            (_, "SEMVER") => Ecosystem::CratesIo,
            (_, "ECOSYSTEM") => eco,
            // GIT ranges name commits, which an installed package has not.
            _ => continue,
        };
        if in_range(cmp, version, range) {
            hit = true;
        }
        for e in &range.events {
            if let Some(f) = e.fixed.as_deref() {
                let above = versions::compare(cmp, f, version) == Ordering::Greater;
                let lower =
                    fixed.is_none_or(|best| versions::compare(cmp, f, best) == Ordering::Less);
                if above && lower && in_range(cmp, version, range) {
                    fixed = Some(f);
                }
            }
        }
    }
    hit.then(|| fixed.map(str::to_string))
}

fn in_range(eco: Ecosystem, version: &str, range: &Range) -> bool {
    let mut events: Vec<&Event> = range.events.iter().filter(|e| e.limit.is_none()).collect();
    events.sort_by(|a, b| cmp_events(eco, a, b));
    let mut affected = false;
    for e in events {
        if let Some(i) = e.introduced.as_deref() {
            if i == "0" || versions::compare(eco, version, i) != Ordering::Less {
                affected = true;
            }
        } else if let Some(f) = e.fixed.as_deref() {
            if versions::compare(eco, version, f) != Ordering::Less {
                affected = false;
            }
        } else if let Some(l) = e.last_affected.as_deref() {
            if versions::compare(eco, version, l) == Ordering::Greater {
                affected = false;
            }
        }
    }
    affected
}

/// Events in version order; `introduced: "0"` comes before every version.
fn cmp_events(eco: Ecosystem, a: &Event, b: &Event) -> Ordering {
    let v = |e: &Event| -> Option<String> {
        if e.introduced.as_deref() == Some("0") {
            return None;
        }
        e.introduced
            .clone()
            .or_else(|| e.fixed.clone())
            .or_else(|| e.last_affected.clone())
    };
    match (v(a), v(b)) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(x), Some(y)) => versions::compare(eco, &x, &y),
    }
}
