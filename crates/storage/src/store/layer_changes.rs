//! What a layer changed, path by path, as `podman diff` lists it: added,
//! changed (the path exists below the layer) or deleted.

use super::Store;
use crate::apply::walk_existing_dir;
use crate::diff::{compare_changes, ChangeKind};
use crate::driver::DriverKind;
use crate::error::{IoContext, Result};
use crate::fsat::{file_type, lstat_at, open_dir};
use crate::lock::LockMode;
use rustix::fs::FileType;
use std::ffi::CString;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// How a path changed in a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathChange {
    /// Not there below the layer.
    Added,
    /// There below the layer, and different.
    Modified,
    /// Removed by the layer.
    Deleted,
}

impl Store {
    /// The changes layer `id` makes to the layers below it, in path order:
    /// each path (relative, `/`-joined) and how it changed.
    pub fn layer_changes(&self, id: &str) -> Result<Vec<(String, PathChange)>> {
        let layer = {
            let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
            self.read_layer(id)?
        };
        let (_, changes) = self.driver.changes(id, layer.parent.as_deref())?;
        // Where the layers below keep their files: overlay's lowers, top
        // first, or vfs's full copy of the parent.
        let below: Vec<PathBuf> = match (&layer.parent, self.driver.kind()) {
            (None, _) => Vec::new(),
            (Some(p), DriverKind::Vfs) => vec![self.driver.content(p)],
            (Some(p), DriverKind::Overlay) => self.driver.lowers(Some(p))?,
        };
        let mut out = Vec::new();
        for change in changes {
            let path = String::from_utf8_lossy(&change.path).into_owned();
            let kind = match change.kind {
                ChangeKind::Whiteout => PathChange::Deleted,
                ChangeKind::Opaque => continue,
                ChangeKind::Entry if exists_below(&below, &change.path)? => PathChange::Modified,
                ChangeKind::Entry => PathChange::Added,
            };
            out.push((path, kind));
        }
        Ok(out)
    }
}

/// Whether `path` is in the stack `below` (top first): the first layer
/// that has it, or a whiteout of it, decides.
pub(crate) fn exists_below(below: &[PathBuf], path: &[u8]) -> Result<bool> {
    let comps: Vec<&[u8]> = path.split(|b| *b == b'/').collect();
    let Some((last, parents)) = comps.split_last() else {
        return Ok(true);
    };
    let entry = String::from_utf8_lossy(path).into_owned();
    let Ok(name) = CString::new(*last) else {
        return Ok(false);
    };
    for dir in below {
        let root = open_dir(dir).ctx("open layer", dir)?;
        let Some(parent) = walk_existing_dir(root.as_fd(), parents, &entry).unwrap_or(None) else {
            continue;
        };
        match lstat_at(parent.as_fd(), name.as_c_str()) {
            // overlay's whiteout: deleted there.
            Ok(st) if file_type(&st) == FileType::CharacterDevice && st.st_rdev == 0 => {
                return Ok(false)
            }
            Ok(_) => return Ok(true),
            Err(_) => continue,
        }
    }
    Ok(false)
}

/// The changes that turn the tree `base` into the tree `tree` (two root
/// filesystems, e.g. mounted images or containers: `podman diff A B`), in
/// path order: added (not in `base`), changed, deleted (only in `base`).
/// Both are read one name at a time under directory fds, never following
/// a symlink either tree holds.
pub fn tree_changes(tree: &Path, base: &Path) -> Result<Vec<(String, PathChange)>> {
    let below = [base.to_path_buf()];
    let mut out = Vec::new();
    for change in compare_changes(tree, Some(base))? {
        let kind = match change.kind {
            ChangeKind::Whiteout => PathChange::Deleted,
            ChangeKind::Opaque => continue,
            ChangeKind::Entry if exists_below(&below, &change.path)? => PathChange::Modified,
            ChangeKind::Entry => PathChange::Added,
        };
        out.push((String::from_utf8_lossy(&change.path).into_owned(), kind));
    }
    Ok(out)
}
