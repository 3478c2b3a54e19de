//! A container layer's own copy of a directory, looked at and taken back.
//! A build's RUN mounts files at paths like `/etc/hosts`; where the image
//! has no such file the runtime makes one, and overlay copies the parent
//! directory (`/etc`) up into the layer. The engine removes the mountpoint
//! after the run, but the copied-up parent would stay, an empty change to
//! the layer. These let the engine ask whether the layer held a directory
//! before the run and drop that empty copy afterwards, while unmounted.

use super::Store;
use crate::driver::DriverKind;
use crate::error::{IoContext, Result};
use crate::fsat::{open_dir, open_dir_at, read_names};
use crate::lock::LockMode;
use rustix::fs::{fgetxattr, unlinkat, AtFlags};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};

impl Store {
    /// Whether container `key`'s own layer holds `path` (a path in the
    /// container, symlinks not followed): always false on vfs, whose
    /// layers are whole copies (their diff leaves unchanged directories
    /// out by itself).
    pub fn container_layer_has(&self, key: &str, path: &str) -> Result<bool> {
        let c = self.container(key)?;
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        Ok(self.upper_dir(&c.layer, path)?.is_some())
    }

    /// Take directory `path` out of container `key`'s layer when the layer
    /// holds it empty and not opaque (so the layer below shows through as
    /// before). Only while nothing mounts the container (overlay's upper
    /// directory must not change under a mount); returns whether it went.
    pub fn container_layer_drop_empty_dir(&self, key: &str, path: &str) -> Result<bool> {
        let c = self.container(key)?;
        let _l = self.lock(&self.locks.layers, LockMode::Exclusive)?;
        if self.mount_count(&c.layer)? > 0 {
            return Ok(false);
        }
        let Some((parent, name)) = path.trim_end_matches('/').rsplit_once('/') else {
            return Ok(false);
        };
        let Some(dir) = self.upper_dir(&c.layer, parent)? else {
            return Ok(false);
        };
        let Ok(cname) = CString::new(name) else {
            return Ok(false);
        };
        let upper = self.driver.content(&c.layer);
        let sub = match open_dir_at(dir.as_fd(), cname.as_c_str()) {
            Ok(s) => s,
            Err(_) => return Ok(false),
        };
        let mut v = [0u8; 4];
        let opaque = fgetxattr(&sub, crate::overlay_xattrs::opaque(), &mut v[..]).is_ok();
        if opaque || !read_names(sub.as_fd()).ctx("read", &upper)?.is_empty() {
            return Ok(false);
        }
        unlinkat(dir.as_fd(), cname.as_c_str(), AtFlags::REMOVEDIR).ctx("remove", &upper)?;
        Ok(true)
    }

    /// Directory `path` of layer `layer`'s overlay upper directory, each
    /// component opened without following symlinks; None when absent or
    /// on vfs. Layers lock held.
    fn upper_dir(&self, layer: &str, path: &str) -> Result<Option<OwnedFd>> {
        if self.driver.kind() != DriverKind::Overlay {
            return Ok(None);
        }
        let upper = self.driver.content(layer);
        let mut dir = open_dir(&upper).ctx("open layer", &upper)?;
        for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            let Ok(name) = CString::new(comp) else {
                return Ok(None);
            };
            match open_dir_at(dir.as_fd(), name.as_c_str()) {
                Ok(d) => dir = d,
                Err(_) => return Ok(None),
            }
        }
        Ok(Some(dir))
    }
}
