//! Running the `criu` binary: finding one that works on this host, and
//! turning a failed run into an error that quotes CRIU's own log.

use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Find `criu` (the given path, else PATH) and make sure `criu check`
/// passes: CRIU that cannot work on this kernel (Debian bookworm's 3.17 on
/// 6.18 fails to parse the vdso) is reported before anything is touched.
pub fn find(given: Option<&Path>) -> Result<PathBuf> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::var_os("PATH")
            .and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|d| d.join("criu"))
                    .find(|p| p.is_file())
            })
            .ok_or_else(|| Error::Criu {
                action: "checkpoint/restore",
                reason: "criu is not installed (not found in PATH)".into(),
            })?,
    };
    let out = Command::new(&path)
        .arg("check")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::io("run", &path, e))?;
    if !out.status.success() {
        let text = String::from_utf8_lossy(&out.stderr);
        let last = text
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(Error::Criu {
            action: "checkpoint/restore",
            reason: format!(
                "CRIU at {} cannot work on this host (`criu check` failed: {last})",
                path.display()
            ),
        });
    }
    Ok(path)
}

/// Run a prepared criu command to completion; on failure the error names
/// the log and quotes its `Error` lines.
pub fn run(action: &'static str, mut cmd: Command, log: &Path) -> Result<()> {
    crate::warning::debug(|| format!("running {cmd:?}"));
    let status = cmd.status().map_err(|e| Error::io("run", "criu", e))?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Criu {
        action,
        reason: format!(
            "criu failed ({status}); {}: {}",
            log.display(),
            log_errors(log)
        ),
    })
}

/// The first `Error` lines of a criu log (the first is usually the cause;
/// later ones report the unwinding), or a note that there are none.
fn log_errors(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("Error"))
        // criu cannot raise its own RLIMIT_NOFILE in some sandboxes; it
        // logs that as an error and carries on, so it explains nothing.
        .filter(|l| !l.contains("RLIMIT_NOFILE"))
        .map(|l| l.trim())
        .collect();
    match errors.len() {
        0 => "no error lines in the log".into(),
        n @ 1..=2 => errors[..n].join(" | "),
        n => format!("{} | … ({} more)", errors[..2].join(" | "), n - 2),
    }
}
