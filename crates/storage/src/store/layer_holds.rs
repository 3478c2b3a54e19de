//! Which of some paths a layer's own diff holds: how a scanner tells which
//! layer of an image added a package (the topmost layer whose diff holds
//! the package's record file).

use super::Store;
use crate::driver::DriverKind;
use crate::error::{IoContext, Result};
use crate::fsat::{file_type, lstat_at, open_dir, open_dir_at};
use crate::lock::LockMode;
use rustix::fs::{FileType, Stat};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};

impl Store {
    /// For each of `paths` (absolute in-image paths, symlinks not
    /// followed), whether layer `id`'s own diff holds it as a file or link:
    /// on overlay, present in the layer's directory and no whiteout; on
    /// vfs (whole copies), present and unlike the parent layer's copy
    /// (size or mtime differ, or the parent lacks it).
    pub fn layer_holds(&self, id: &str, paths: &[&str]) -> Result<Vec<bool>> {
        let layer = self.layer(id)?;
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        let own = self.driver.content(&layer.id);
        let own_dir = open_dir(&own).ctx("open layer", &own)?;
        let parent_dir = match (&layer.parent, self.driver.kind()) {
            (Some(p), DriverKind::Vfs) => {
                let dir = self.driver.content(p);
                Some(open_dir(&dir).ctx("open layer", &dir)?)
            }
            _ => None,
        };
        Ok(paths
            .iter()
            .map(|p| {
                let Some(st) = stat_in(&own_dir, p) else {
                    return false;
                };
                if is_whiteout(&st) {
                    return false;
                }
                match (&parent_dir, self.driver.kind()) {
                    (_, DriverKind::Overlay) => true,
                    (None, _) => true,
                    (Some(parent), _) => match stat_in(parent, p) {
                        None => true,
                        Some(below) => {
                            below.st_size != st.st_size
                                || below.st_mtime != st.st_mtime
                                || below.st_mtime_nsec != st.st_mtime_nsec
                        }
                    },
                }
            })
            .collect())
    }
}

/// `lstat` of `path` below `root`, each directory opened without following
/// symlinks; None when any part is missing or not a directory.
fn stat_in(root: &OwnedFd, path: &str) -> Option<Stat> {
    let mut comps: Vec<&str> = path
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let last = CString::new(comps.pop()?).ok()?;
    let mut dir: Option<OwnedFd> = None;
    for comp in comps {
        let name = CString::new(comp).ok()?;
        let next = open_dir_at(dir.as_ref().unwrap_or(root).as_fd(), name.as_c_str()).ok()?;
        dir = Some(next);
    }
    lstat_at(dir.as_ref().unwrap_or(root).as_fd(), last.as_c_str()).ok()
}

/// overlay's whiteout: a character device 0/0.
fn is_whiteout(st: &Stat) -> bool {
    file_type(st) == FileType::CharacterDevice && st.st_rdev == 0
}
