//! `checkpoint` and `restore` go through CRIU. Until berth drives CRIU
//! itself, both check for a CRIU that works on this host and say exactly
//! what is missing.

use anyhow::{bail, Result};
use std::path::Path;
use std::process::Command;

/// Find `criu` (from `--criu` or PATH) and run `criu check`.
fn usable_criu(criu: Option<&Path>) -> Result<std::path::PathBuf> {
    let path = match criu {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("criu"))
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "checkpoint/restore needs CRIU: criu is not installed (not found in PATH)"
                )
            })?,
    };
    let out = Command::new(&path)
        .arg("check")
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run {}: {e}", path.display()))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        bail!(
            "CRIU at {} cannot work on this host (`criu check` failed: {last})",
            path.display()
        );
    }
    Ok(path)
}

/// `checkpoint` / `restore`: refuse clearly.
pub fn run(verb: &str, criu: Option<&Path>) -> Result<()> {
    let path = usable_criu(criu)?;
    bail!(
        "{verb} through {} is not implemented in this berth-runtime yet",
        path.display()
    )
}
