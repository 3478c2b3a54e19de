//! Mounting images and containers, with mount counts shared by every
//! process: `mounts/<layer>/count` is read and written under
//! `mounts/<layer>/lock`, with the layers lock held shared so that no
//! removal runs at the same time. The last unmount really unmounts.

use super::Store;
use crate::driver::MountMode;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::write_atomic_nosync;
use crate::lock::{FileLock, LockMode};
use rustix::fs::{statx, AtFlags, StatxFlags};
use rustix::mount::{unmount, UnmountFlags};
use std::fs;
use std::path::{Path, PathBuf};

/// Whether `path` is the root of a mount: its mount id differs from its
/// parent's (a bind mount of a directory of the same filesystem has the same
/// device number, so compare mount ids, not devices).
pub(crate) fn is_mountpoint(path: &Path) -> bool {
    let id = |p: &Path| {
        statx(
            rustix::fs::CWD,
            p,
            AtFlags::SYMLINK_NOFOLLOW,
            StatxFlags::MNT_ID,
        )
        .ok()
        .map(|s| s.stx_mnt_id)
    };
    match (id(path), path.parent().and_then(id)) {
        (Some(a), Some(b)) => a != b,
        _ => false,
    }
}

impl Store {
    /// How many times layer `id` is mounted. Hold the layers lock or its
    /// mount lock.
    pub(crate) fn mount_count(&self, id: &str) -> Result<u32> {
        let path = self.mount_dir(id).join("count");
        match fs::read_to_string(&path) {
            Ok(s) => s.trim().parse().map_err(|_| Error::CorruptCount {
                path: path.clone(),
                text: s.chars().take(64).collect(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e).ctx("read", path),
        }
    }

    fn mount_layer(&self, id: &str, mode: MountMode) -> Result<PathBuf> {
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        self.read_layer(id)?;
        let dir = self.mount_dir(id);
        let target = dir.join("root");
        fs::create_dir_all(&target).ctx("create", &target)?;
        let _m = FileLock::acquire(&dir.join("lock"), LockMode::Exclusive)?;
        let mut count = self.mount_count(id)?;
        if count == 0 || !is_mountpoint(&target) {
            // Counted but not mounted: the machine rebooted since.
            count = 0;
            self.driver.mount(id, &target, mode)?;
        }
        write_atomic_nosync(&dir.join("count"), (count + 1).to_string().as_bytes())?;
        Ok(target)
    }

    fn unmount_layer(&self, id: &str, force: bool) -> Result<u32> {
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        self.read_layer(id)?;
        let dir = self.mount_dir(id);
        let _m = FileLock::acquire(&dir.join("lock"), LockMode::Exclusive)?;
        // A forced unmount needs no count: it is how a corrupt one is undone.
        let left = if force {
            0
        } else {
            self.mount_count(id)?.saturating_sub(1)
        };
        if left == 0 {
            really_unmount(&dir.join("root"))?;
        }
        write_atomic_nosync(&dir.join("count"), left.to_string().as_bytes())?;
        Ok(left)
    }

    /// Unmount layer `id` whatever its count; layers lock held exclusively.
    pub(crate) fn unmount_all(&self, id: &str) -> Result<()> {
        let dir = self.mount_dir(id);
        if dir.exists() {
            really_unmount(&dir.join("root"))?;
            write_atomic_nosync(&dir.join("count"), b"0")?;
        }
        Ok(())
    }

    /// Mount image `key` read-only; returns where its files are. Every call
    /// must be paired with [`Store::unmount_image`].
    pub fn mount_image(&self, key: &str) -> Result<PathBuf> {
        let top = {
            let _i = self.lock(&self.locks.images, LockMode::Shared)?;
            let image = self.find_image(key)?;
            image.top_layer.ok_or(Error::EmptyImage(image.id))?
        };
        self.mount_layer(&top, MountMode::ReadOnly)
    }

    /// Undo one [`Store::mount_image`]; the last one unmounts. `force`
    /// unmounts whatever the count. Returns the mounts left.
    pub fn unmount_image(&self, key: &str, force: bool) -> Result<u32> {
        let top = {
            let _i = self.lock(&self.locks.images, LockMode::Shared)?;
            let image = self.find_image(key)?;
            image.top_layer.ok_or(Error::EmptyImage(image.id))?
        };
        self.unmount_layer(&top, force)
    }

    /// Mount container `key` read-write; returns its root filesystem. What
    /// is written there (by the container or by host tools) is the
    /// container's layer.
    pub fn mount_container(&self, key: &str) -> Result<PathBuf> {
        let layer = {
            let _c = self.lock(&self.locks.containers, LockMode::Shared)?;
            self.find_container(key)?.layer
        };
        self.mount_layer(&layer, MountMode::ReadWrite)
    }

    /// Undo one [`Store::mount_container`]; the last one unmounts.
    pub fn unmount_container(&self, key: &str, force: bool) -> Result<u32> {
        let layer = {
            let _c = self.lock(&self.locks.containers, LockMode::Shared)?;
            self.find_container(key)?.layer
        };
        self.unmount_layer(&layer, force)
    }

    /// How many times image `key` is mounted.
    pub fn image_mounts(&self, key: &str) -> Result<u32> {
        let _i = self.lock(&self.locks.images, LockMode::Shared)?;
        let image = self.find_image(key)?;
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        match image.top_layer {
            Some(top) => self.mount_count(&top),
            None => Ok(0),
        }
    }
}

/// Unmount `target` if it is mounted. A busy mount (a shell's working
/// directory inside it) is detached: it disappears from the tree now and
/// the kernel frees it when the last user leaves.
fn really_unmount(target: &Path) -> Result<()> {
    while is_mountpoint(target) {
        match unmount(target, UnmountFlags::empty()) {
            Ok(()) => {}
            Err(rustix::io::Errno::BUSY) => {
                unmount(target, UnmountFlags::DETACH).map_err(|e| Error::Mount {
                    op: "unmount",
                    target: target.to_path_buf(),
                    source: e.into(),
                })?;
            }
            Err(rustix::io::Errno::INVAL) => break,
            Err(e) => {
                return Err(Error::Mount {
                    op: "unmount",
                    target: target.to_path_buf(),
                    source: e.into(),
                })
            }
        }
    }
    Ok(())
}
