//! `list` and `ps`.

use anyhow::{Context, Result};
use berth_runtime::container::lifecycle::report;
use berth_runtime::state::StateRoot;

/// `list`: every container with its status, as a table or JSON.
pub fn list(root: &StateRoot, format: &str, quiet: bool) -> Result<()> {
    let mut reports = Vec::new();
    for id in root.ids()? {
        // A container removed while listing is simply not listed.
        if let Ok(state) = root.load(&id) {
            reports.push(report(root, state));
        }
    }
    if quiet {
        for r in &reports {
            println!("{}", r.id);
        }
        return Ok(());
    }
    match format {
        "json" => println!("{}", serde_json::to_string(&reports)?),
        "table" => {
            println!(
                "{:<12} {:<10} {:<10} {:<40} {:<32} OWNER",
                "ID", "PID", "STATUS", "BUNDLE", "CREATED"
            );
            for r in &reports {
                println!(
                    "{:<12} {:<10} {:<10} {:<40} {:<32} {}",
                    r.id,
                    r.pid,
                    r.status,
                    r.bundle.display(),
                    r.created,
                    if r.owner.is_empty() { "root" } else { &r.owner }
                );
            }
        }
        other => anyhow::bail!("invalid format {other:?}: use table or json"),
    }
    Ok(())
}

/// `ps`: the pids in the container's cgroup (json), or ps(1)'s lines for
/// them (table).
pub fn ps(root: &StateRoot, id: &str, format: &str, ps_args: &[String]) -> Result<()> {
    let state = root.load(id)?;
    let pids = match &state.cgroup {
        Some(cg) => cg.pids()?,
        None => vec![state.pid],
    };
    match format {
        "json" => println!("{}", serde_json::to_string(&pids)?),
        "table" => {
            let args: Vec<String> = if ps_args.is_empty() {
                vec!["-ef".into()]
            } else {
                ps_args.to_vec()
            };
            let out = std::process::Command::new("ps")
                .args(&args)
                .output()
                .context("run ps")?;
            let text = String::from_utf8_lossy(&out.stdout);
            let mut lines = text.lines();
            let header = lines.next().unwrap_or_default();
            let pid_col = header
                .split_whitespace()
                .position(|c| c == "PID")
                .context("ps printed no PID column")?;
            println!("{header}");
            for line in lines {
                let pid: Option<i32> = line
                    .split_whitespace()
                    .nth(pid_col)
                    .and_then(|p| p.parse().ok());
                if pid.is_some_and(|p| pids.contains(&p)) {
                    println!("{line}");
                }
            }
        }
        other => anyhow::bail!("invalid format {other:?}: use table or json"),
    }
    Ok(())
}
