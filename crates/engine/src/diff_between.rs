//! `diff A B`: what changed from B's filesystem to A's, each a container
//! (its root as it is now) or an image (all its layers), as podman 4.3's
//! two-argument `diff`. Both are mounted for the call (storage counts
//! mounts, so a running container's mount is shared, not undone) and
//! compared by storage under directory fds.

use crate::engine::Engine;
use crate::error::{Error, Result};
use berth_storage::PathChange;
use std::path::PathBuf;

/// A container's or an image's root, mounted while it is held.
enum Mounted<'a> {
    Container(&'a Engine, String, PathBuf),
    Image(&'a Engine, String, PathBuf),
}

impl Mounted<'_> {
    fn path(&self) -> &PathBuf {
        match self {
            Mounted::Container(_, _, p) | Mounted::Image(_, _, p) => p,
        }
    }
}

impl Drop for Mounted<'_> {
    fn drop(&mut self) {
        match self {
            Mounted::Container(e, id, _) => {
                let _ = e.store.unmount_container(id, false);
            }
            Mounted::Image(e, id, _) => {
                let _ = e.store.unmount_image(id, false);
            }
        }
    }
}

impl Engine {
    /// The changes from `base`'s filesystem to `key`'s (each a container,
    /// else an image), in path order.
    pub fn changes_between(&self, key: &str, base: &str) -> Result<Vec<(String, PathChange)>> {
        let tree = self.mount_either(key)?;
        let below = self.mount_either(base)?;
        Ok(berth_storage::tree_changes(tree.path(), below.path())?)
    }

    /// Mount container `key`, else image `key`.
    fn mount_either(&self, key: &str) -> Result<Mounted<'_>> {
        match self.container(key) {
            Ok(c) => {
                let path = self.store.mount_container(&c.id)?;
                return Ok(Mounted::Container(self, c.id, path));
            }
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        let image = berth_image::find_image(&self.ctx, &self.store, key)?;
        let path = self.store.mount_image(&image.id)?;
        Ok(Mounted::Image(self, image.id, path))
    }
}
