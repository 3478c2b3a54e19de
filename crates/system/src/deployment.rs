//! A system container's deployments on disk: `ROOT/NAME.0` and
//! `ROOT/NAME.1`, each a complete bundle (`rootfs/`, `config.json`, the
//! etc files, the rendered unit and tmpfiles snippet, `info.json`), and
//! the `ROOT/NAME` link to the current one. The link is switched by a
//! rename, so it always names a complete deployment.

use crate::error::{Error, IoContext, Result};
use crate::layout::{systemd_is_pid1, SystemLayout};
use std::path::Path;
use std::process::Command;

/// The rendered unit's file name inside a deployment.
pub(crate) const UNIT_FILE: &str = "unit.service";
/// The rendered tmpfiles snippet's file name inside a deployment.
pub(crate) const TMPFILES_FILE: &str = "tmpfiles.conf";

/// The index of `name`'s current deployment; None when not installed.
pub(crate) fn current(layout: &SystemLayout, name: &str) -> Result<Option<u8>> {
    let link = layout.link(name);
    let target = match std::fs::read_link(&link) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).ctx("read link", &link),
    };
    let text = target.to_string_lossy();
    match text.strip_prefix(&format!("{name}.")) {
        Some("0") => Ok(Some(0)),
        Some("1") => Ok(Some(1)),
        _ => Err(Error::Invalid {
            what: "deployment link",
            value: format!("{} -> {text}", link.display()),
            reason: format!("expected {name}.0 or {name}.1"),
        }),
    }
}

/// Point `name`'s link at deployment `index`, atomically.
pub(crate) fn switch_link(layout: &SystemLayout, name: &str, index: u8) -> Result<()> {
    let tmp = layout.root.join(format!(".{name}.link"));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(format!("{name}.{index}"), &tmp).ctx("create link", &tmp)?;
    let link = layout.link(name);
    std::fs::rename(&tmp, &link).ctx("switch link", &link)
}

/// Write `text` to `path` with `berth_storage::write_atomic`, making its
/// directory first.
pub(crate) fn write_atomic(path: &Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx("create", dir)?;
    }
    Ok(berth_storage::write_atomic(path, text.as_bytes())?)
}

/// Copy deployment `index`'s unit and tmpfiles snippet to where systemd
/// reads them.
pub(crate) fn publish(layout: &SystemLayout, name: &str, index: u8) -> Result<()> {
    let dir = layout.deployment(name, index);
    for (file, dest) in [
        (UNIT_FILE, layout.unit(name)),
        (TMPFILES_FILE, layout.tmpfiles(name)),
    ] {
        let src = dir.join(file);
        let text = std::fs::read_to_string(&src).ctx("read", &src)?;
        write_atomic(&dest, &text)?;
    }
    Ok(())
}

/// Remove `path` if it exists (a deployment or a file), never following a
/// link out of it: `remove_dir_all` removes links, not their targets.
pub(crate) fn remove(path: &Path) -> Result<()> {
    match std::fs::symlink_metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).ctx("stat", path),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path).ctx("remove", path),
        Ok(_) => std::fs::remove_file(path).ctx("remove", path),
    }
}

/// `systemctl ARGS` when systemd is PID 1; nothing otherwise. Returns
/// whether it ran.
pub(crate) fn systemctl(args: &[&str]) -> Result<bool> {
    if !systemd_is_pid1() {
        return Ok(false);
    }
    let out = Command::new("systemctl")
        .args(args)
        .output()
        .ctx("run", "systemctl")?;
    if !out.status.success() {
        return Err(Error::Command {
            command: format!("systemctl {}", args.join(" ")),
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(true)
}
