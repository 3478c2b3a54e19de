//! The pod's `/dev/shm`: one tmpfs in the pod's directory that every
//! container of the pod binds over its own, so POSIX shared memory is
//! shared as SysV IPC is by the pinned IPC namespace (CRI-O and
//! containerd share it alike). A pod on the host's IPC keeps each
//! container's own.

use crate::error::{sys, IoContext, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use std::path::{Path, PathBuf};

/// Mount the pod's shm tmpfs at `dir/shm` (podman's size, 64 MiB).
pub(crate) fn mount_shm(dir: &Path) -> Result<PathBuf> {
    let at = dir.join("shm");
    std::fs::create_dir_all(&at).ctx("create", &at)?;
    mount(
        Some("shm"),
        &at,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        Some("mode=1777,size=65536k"),
    )
    .map_err(sys(format!("mounting the pod's shm on {}", at.display())))?;
    Ok(at)
}

/// Unmount the pod's shm; one not mounted (or gone) is fine.
pub(crate) fn unmount_shm(at: &Path) -> Result<()> {
    match umount2(at, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(sys(format!("unmounting {}", at.display()))(e)),
    }
}
