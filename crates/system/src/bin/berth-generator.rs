//! `berth-generator`: a systemd generator (systemd.generator(7)) that
//! turns Quadlet files in `/etc/berth/systemd/` and
//! `/etc/containers/systemd/` (or the colon-separated `QUADLET_UNIT_DIRS`)
//! into units running berth (`BERTH_BINARY`, default `/usr/bin/berth`).
//!
//! `berth-generator NORMAL_DIR [EARLY_DIR LATE_DIR]` writes the units into
//! NORMAL_DIR and links them into their `[Install]` targets' `.wants/`
//! and `.requires/`; `berth-generator --dryrun` prints them. Warnings go
//! to stderr (the journal, under systemd); a refused file is reported and
//! the others are still generated; the exit status is 1 when any was.

use berth_system::quadlet;
use std::path::{Path, PathBuf};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dryrun = args.iter().any(|a| a == "--dryrun" || a == "-dryrun");
    let out_dir = args.iter().find(|a| !a.starts_with('-')).map(PathBuf::from);
    if !dryrun && out_dir.is_none() {
        eprintln!("usage: berth-generator NORMAL_DIR [EARLY_DIR LATE_DIR] | --dryrun");
        std::process::exit(2);
    }
    let dirs: Vec<PathBuf> = match std::env::var("QUADLET_UNIT_DIRS") {
        Ok(v) if !v.is_empty() => v.split(':').map(PathBuf::from).collect(),
        _ => quadlet::SEARCH_DIRS.iter().map(PathBuf::from).collect(),
    };
    let berth = std::env::var("BERTH_BINARY").unwrap_or_else(|_| "/usr/bin/berth".into());
    let mut failed = false;
    for source in quadlet::sources(&dirs) {
        let outcome = quadlet::translate(&source, &berth);
        for m in &outcome.messages {
            eprintln!("berth-generator: {m}");
        }
        let Some(unit) = outcome.unit else {
            failed = true;
            continue;
        };
        if dryrun {
            println!("---{}---\n{}", unit.unit, unit.text);
            continue;
        }
        if let Some(dir) = &out_dir {
            if let Err(e) = write(dir, &unit) {
                eprintln!("berth-generator: {}: {e}", unit.unit);
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}

fn write(dir: &Path, unit: &quadlet::Generated) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join(&unit.unit), &unit.text)?;
    for (targets, kind) in [(&unit.wanted_by, "wants"), (&unit.required_by, "requires")] {
        for t in targets {
            let d = dir.join(format!("{t}.{kind}"));
            std::fs::create_dir_all(&d)?;
            let link = d.join(&unit.unit);
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink(format!("../{}", unit.unit), link)?;
        }
    }
    Ok(())
}
