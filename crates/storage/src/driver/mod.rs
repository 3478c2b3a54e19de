//! Storage drivers: where layer contents live and how a chain of layers is
//! mounted.
//!
//! # Lifecycle
//!
//! Modelled on containerd's snapshotter. Every layer, image layer or
//! container layer, goes through the same states:
//!
//! 1. **prepare** ([`Driver::prepare`]): an *active* layer is made in a
//!    staging directory on top of a committed parent (overlay can also
//!    prepare it before the parent exists, then [`Driver::set_parent`]). It is writable and
//!    invisible to everyone else; a tar stream is applied into it, or, for a
//!    container, it stays empty until the container writes.
//! 2. **commit** ([`Driver::commit`]): the staging directory is renamed to
//!    the layer's id. Only after that does the store write the layer's
//!    record, which is what makes it visible. Image layers are never
//!    written again after commit.
//! 3. **view / mount** ([`Driver::mount`]): a committed chain is mounted
//!    read-only (containerd's *view*: an image), or a container layer is
//!    mounted read-write on top of its parents. The store counts mounts.
//! 4. **remove** ([`Driver::remove`]): the content is deleted after the
//!    store has removed the record, so a crash in between leaves an orphan
//!    directory that the next open deletes, never a record without content.
//!
//! Diffs ([`Driver::changes`]) read a committed layer against its parent.

pub(crate) mod copy;
mod overlay;
mod vfs;

use crate::apply::WhiteoutStyle;
use crate::diff::Change;
use crate::error::Result;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

pub(crate) use overlay::Overlay;
pub(crate) use vfs::Vfs;

/// Which driver a store uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriverKind {
    /// Layers as overlayfs directories, mounted as one overlay.
    Overlay,
    /// Each layer a full copy of its parent; works everywhere.
    Vfs,
}

impl DriverKind {
    /// The driver's name as written in configuration.
    pub fn name(self) -> &'static str {
        match self {
            DriverKind::Overlay => "overlay",
            DriverKind::Vfs => "vfs",
        }
    }
}

/// How a layer is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MountMode {
    /// An image's chain, read-only.
    ReadOnly,
    /// A container layer on top of its parents.
    ReadWrite,
}

/// A storage driver. See the module documentation for the lifecycle.
pub(crate) trait Driver: Send + Sync + std::fmt::Debug {
    /// Which driver this is.
    fn kind(&self) -> DriverKind;

    /// How whiteouts are stored in this driver's layers.
    fn whiteout_style(&self) -> WhiteoutStyle;

    /// Make an active layer in the empty, not yet existing directory
    /// `staging` on top of committed layer `parent`. Returns the directory
    /// whose contents are the layer's files.
    fn prepare(&self, staging: &Path, parent: Option<&str>) -> Result<PathBuf>;

    /// Whether a layer's content is independent of its parent's, so layers
    /// can be prepared before their parent is committed and applied in
    /// parallel (overlay). vfs copies the parent into each layer: no.
    fn layers_independent(&self) -> bool;

    /// Put the layer prepared in `staging` without a parent on top of the
    /// committed `parent` (only for drivers whose layers are independent).
    fn set_parent(&self, staging: &Path, parent: Option<&str>) -> Result<()>;

    /// The content directories of `parent` and the layers below it, top
    /// first, when this driver keeps them separate (overlay); empty for vfs.
    fn lowers(&self, parent: Option<&str>) -> Result<Vec<PathBuf>>;

    /// Turn the active layer in `staging` into committed layer `id`.
    fn commit(&self, staging: &Path, id: &str) -> Result<()>;

    /// The directory committed layer `id` lives in (what `staging` was
    /// renamed to); the store keeps the layer's tar-split record there.
    fn dir(&self, id: &str) -> PathBuf;

    /// The directory holding committed layer `id`'s files.
    fn content(&self, id: &str) -> PathBuf;

    /// Mount layer `id` (with its parents) on the existing directory `target`.
    fn mount(&self, id: &str, target: &Path, mode: MountMode) -> Result<()>;

    /// Delete the content of layer `id`; a missing layer is not an error.
    fn remove(&self, id: &str) -> Result<()>;

    /// Move the content of layer `id` to `trash` (a new path on the same
    /// filesystem), to be deleted later without holding any store lock.
    fn detach(&self, id: &str, trash: &Path) -> Result<()>;

    /// The ids of the layers that have content.
    fn list(&self) -> Result<Vec<String>>;

    /// What layer `id` changes relative to `parent`, in a stable order.
    fn changes(&self, id: &str, parent: Option<&str>) -> Result<(PathBuf, Vec<Change>)>;
}

/// Open the driver `kind` over the store directory `root`.
pub(crate) fn open(kind: DriverKind, root: &Path) -> Result<Box<dyn Driver>> {
    Ok(match kind {
        DriverKind::Overlay => Box::new(Overlay::open(root)?),
        DriverKind::Vfs => Box::new(Vfs::open(root)?),
    })
}

pub(crate) use overlay::prune_links as overlay_prune_links;

/// Whether overlayfs works over `root`: try a real mount, since the
/// filesystem type, the kernel config and a containing overlay (overlay on
/// overlay) all decide it.
pub(crate) fn overlay_works(root: &Path) -> std::result::Result<(), String> {
    overlay::probe(root)
}
