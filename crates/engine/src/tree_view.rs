//! A container's or an image's root filesystem held mounted for reading
//! from the host (scanners, `diff --packages`): storage counts the mount,
//! so a running container's mount is shared, not undone, and the view
//! unmounts when dropped. Read the tree only through
//! [`RootfsReader`](crate::rootfs_reader::RootfsReader): it is hostile.

use crate::engine::Engine;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// What a name given by the user stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeKind {
    /// A container: its id.
    Container(String),
    /// An image: its id.
    Image(String),
}

/// One layer of a viewed tree, from the base up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewLayer {
    /// The store's layer id.
    pub id: String,
    /// The diff id (`sha256:…`); None for a container's read-write layer.
    pub diff_id: Option<String>,
}

/// A mounted tree and where it came from; unmounted on drop.
pub struct TreeView<'a> {
    engine: &'a Engine,
    kind: TreeKind,
    path: PathBuf,
    /// The image the tree is (or the container was made from), if any.
    pub image: Option<berth_storage::Image>,
    /// The image's config blob, when there is an image.
    pub config: Option<Vec<u8>>,
    /// The layers from the base up (a container's own layer last).
    pub layers: Vec<ViewLayer>,
}

impl TreeView<'_> {
    /// Where the tree is mounted on the host.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether this is a container or an image, and its id.
    pub fn kind(&self) -> &TreeKind {
        &self.kind
    }

    /// For each of `paths` (in-image, symlinks not followed), the topmost
    /// layer whose own diff holds it; None when no layer's does.
    pub fn added_by(&self, paths: &[&str]) -> Result<Vec<Option<&ViewLayer>>> {
        let mut out: Vec<Option<&ViewLayer>> = vec![None; paths.len()];
        let mut open: Vec<usize> = (0..paths.len()).collect();
        for layer in self.layers.iter().rev() {
            if open.is_empty() {
                break;
            }
            let asked: Vec<&str> = open.iter().map(|&i| paths[i]).collect();
            let held = self.engine.store.layer_holds(&layer.id, &asked)?;
            let mut still = Vec::with_capacity(open.len());
            for (k, &i) in open.iter().enumerate() {
                if held.get(k).copied().unwrap_or(false) {
                    out[i] = Some(layer);
                } else {
                    still.push(i);
                }
            }
            open = still;
        }
        Ok(out)
    }
}

impl Drop for TreeView<'_> {
    fn drop(&mut self) {
        let _ = match &self.kind {
            TreeKind::Container(id) => self.engine.store.unmount_container(id, false),
            TreeKind::Image(id) => self.engine.store.unmount_image(id, false),
        };
    }
}

impl Engine {
    /// Whether `key` names a container (first) or an image; None when
    /// neither.
    pub fn tree_kind(&self, key: &str) -> Result<Option<TreeKind>> {
        match self.container(key) {
            Ok(c) => return Ok(Some(TreeKind::Container(c.id))),
            Err(Error::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
        match berth_image::find_image(&self.ctx, &self.store, key) {
            Ok(img) => Ok(Some(TreeKind::Image(img.id))),
            Err(berth_image::Error::NoLocalImage { .. } | berth_image::Error::NotFound(_)) => {
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Mount container `key`, else image `key`, for reading.
    pub fn view_tree(&self, key: &str) -> Result<TreeView<'_>> {
        let kind = self
            .tree_kind(key)?
            .ok_or_else(|| Error::NotFound(key.to_string()))?;
        let (image_id, own_layer) = match &kind {
            TreeKind::Container(id) => {
                let c = self.store.container(id)?;
                (Some(c.image).filter(|i| !i.is_empty()), Some(c.layer))
            }
            TreeKind::Image(id) => (Some(id.clone()), None),
        };
        let image = image_id.map(|i| self.store.image(&i)).transpose()?;
        let config = match &image {
            Some(img) => Some(self.store.image_config(&img.id)?),
            None => None,
        };
        let mut layers = Vec::new();
        let mut next = own_layer
            .clone()
            .or_else(|| image.as_ref().and_then(|i| i.top_layer.clone()));
        while let Some(id) = next {
            let l = self.store.layer(&id)?;
            next = l.parent.clone();
            layers.push(ViewLayer {
                id: l.id,
                diff_id: l.diff_digest.map(|d| d.to_string()),
            });
        }
        layers.reverse();
        let path = match &kind {
            TreeKind::Container(id) => self.store.mount_container(id)?,
            TreeKind::Image(id) => self.store.mount_image(id)?,
        };
        Ok(TreeView {
            engine: self,
            kind,
            path,
            image,
            config,
            layers,
        })
    }
}
