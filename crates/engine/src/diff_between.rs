//! `diff A B`: what changed from B's filesystem to A's, each a container
//! (its root as it is now) or an image (all its layers), as podman 4.3's
//! two-argument `diff`. Both are held mounted for the call
//! ([`TreeView`](crate::TreeView): storage counts mounts, so a running
//! container's mount is shared, not undone) and compared by storage under
//! directory fds.

use crate::engine::Engine;
use crate::error::Result;
use berth_storage::PathChange;

impl Engine {
    /// The changes from `base`'s filesystem to `key`'s (each a container,
    /// else an image), in path order.
    pub fn changes_between(&self, key: &str, base: &str) -> Result<Vec<(String, PathChange)>> {
        let tree = self.view_tree(key)?;
        let below = self.view_tree(base)?;
        Ok(berth_storage::tree_changes(tree.path(), below.path())?)
    }
}
