//! The image's rootfs copied out of storage into a deployment. The image
//! is mounted read-only by storage and copied with `cp -a`, which copies
//! symlinks as symlinks: nothing in the image is followed onto the host.

use crate::error::{Error, IoContext, Result};
use std::path::Path;
use std::process::Command;

/// Copy the tree at `from` (an image mount) to `to` (created).
pub(crate) fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).ctx("create", to)?;
    let out = Command::new("cp")
        .arg("-a")
        .arg("--reflink=auto")
        .arg("--no-target-directory")
        .arg(from)
        .arg(to)
        .output()
        .ctx("run cp for", to)?;
    if !out.status.success() {
        return Err(Error::Command {
            command: format!("cp -a {} {}", from.display(), to.display()),
            detail: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}
