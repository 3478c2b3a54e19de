//! `berth diff NAME OTHER --packages`: the packages OTHER's tree has and
//! NAME's does not (removed), the reverse (added), and those whose version
//! changed, as a table or `--format json`.
//!
//! Whether a change is an upgrade or a downgrade is decided by each
//! ecosystem's own version ordering (berth-scan's `versions`).

use crate::scan_cmd::{columns, warning_line};
use berth_engine::Engine;
use berth_scan::package_diff::{self, Change, PackageDiff, Side};

pub fn print(engine: &Engine, old: &str, new: &str, json: bool) -> anyhow::Result<()> {
    let before = berth_scan::scan(engine, old)?;
    let after = berth_scan::scan(engine, new)?;
    for (name, inv) in [(old, &before), (new, &after)] {
        for w in &inv.warnings {
            eprintln!("warning: {name}: {}", warning_line(w));
        }
    }
    let d = package_diff::diff(&before, &after, |eco, a, b| {
        Some(berth_scan::versions::compare(eco, a, b))
    });
    if json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else {
        print!("{}", table(&d));
    }
    Ok(())
}

fn kind(e: berth_scan::Ecosystem) -> String {
    serde_json::to_value(e)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn changed(what: &str, c: &Change) -> [String; 5] {
    [
        what.to_string(),
        c.name.clone(),
        kind(c.ecosystem),
        c.from.clone(),
        c.to.clone(),
    ]
}

fn side(what: &str, s: &Side, old: bool) -> [String; 5] {
    let (from, to) = if old {
        (s.version.clone(), String::new())
    } else {
        (String::new(), s.version.clone())
    };
    [
        what.to_string(),
        s.name.clone(),
        kind(s.ecosystem),
        from,
        to,
    ]
}

/// CHANGE NAME TYPE OLD NEW, one row per difference.
fn table(d: &PackageDiff) -> String {
    let mut rows = vec![["CHANGE", "NAME", "TYPE", "OLD", "NEW"].map(String::from)];
    rows.extend(d.upgraded.iter().map(|c| changed("upgraded", c)));
    rows.extend(d.downgraded.iter().map(|c| changed("downgraded", c)));
    rows.extend(d.changed.iter().map(|c| changed("changed", c)));
    rows.extend(d.added.iter().map(|s| side("added", s, false)));
    rows.extend(d.removed.iter().map(|s| side("removed", s, true)));
    columns(&rows)
}
