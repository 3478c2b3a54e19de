//! The vfs driver: every layer is a complete copy of its parent plus its
//! own changes. Slow and large, but it needs nothing from the kernel, so it
//! works where overlayfs does not (overlay on overlay, odd filesystems).
//!
//! Layout: `<root>/vfs/<id>/root` is the layer's whole filesystem tree.
//! Mounting is a bind mount of that tree (read-only for images).

use super::{copy::copy_tree, Driver, DriverKind, MountMode};
use crate::apply::WhiteoutStyle;
use crate::diff::{compare_changes, Change};
use crate::error::{Error, IoContext, Result};
use crate::fsat::open_dir;
use crate::fsutil::{list_dir, remove_tree};
use rustix::mount::{mount_bind, mount_remount, MountFlags};
use std::fs;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// The vfs driver over `<root>/vfs`.
#[derive(Debug)]
pub(crate) struct Vfs {
    dir: PathBuf,
}

impl Vfs {
    pub(crate) fn open(root: &Path) -> Result<Vfs> {
        let dir = root.join("vfs");
        fs::create_dir_all(&dir).ctx("create", &dir)?;
        Ok(Vfs { dir })
    }
}

impl Driver for Vfs {
    fn kind(&self) -> DriverKind {
        DriverKind::Vfs
    }

    fn whiteout_style(&self) -> WhiteoutStyle {
        WhiteoutStyle::Delete
    }

    fn prepare(&self, staging: &Path, parent: Option<&str>) -> Result<PathBuf> {
        fs::create_dir(staging).ctx("create", staging)?;
        let root = staging.join("root");
        fs::create_dir(&root).ctx("create", &root)?;
        if let Some(p) = parent {
            let src_path = self.content(p);
            let src = open_dir(&src_path).ctx("open layer", &src_path)?;
            let dst = open_dir(&root).ctx("open layer", &root)?;
            copy_tree(src.as_fd(), dst.as_fd()).ctx("copy parent layer into", &root)?;
        }
        Ok(root)
    }

    fn layers_independent(&self) -> bool {
        false
    }

    fn set_parent(&self, staging: &Path, parent: Option<&str>) -> Result<()> {
        match parent {
            None => Ok(()),
            Some(p) => Err(Error::Io {
                op: "rebase vfs layer on",
                path: staging.join(p),
                source: std::io::Error::from(std::io::ErrorKind::Unsupported),
            }),
        }
    }

    fn lowers(&self, _parent: Option<&str>) -> Result<Vec<PathBuf>> {
        Ok(Vec::new())
    }

    fn commit(&self, staging: &Path, id: &str) -> Result<()> {
        let layer = self.dir.join(id);
        fs::rename(staging, &layer).ctx("commit layer", &layer)
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn content(&self, id: &str) -> PathBuf {
        self.dir.join(id).join("root")
    }

    fn mount(&self, id: &str, target: &Path, mode: MountMode) -> Result<()> {
        let source = self.content(id);
        let err = |source: rustix::io::Errno| Error::Mount {
            op: "bind mount layer on",
            target: target.to_path_buf(),
            source: source.into(),
        };
        mount_bind(&source, target).map_err(err)?;
        if mode == MountMode::ReadOnly {
            // A bind mount ignores MS_RDONLY until remounted.
            if let Err(e) = mount_remount(target, MountFlags::BIND | MountFlags::RDONLY, c"") {
                let _ = rustix::mount::unmount(target, rustix::mount::UnmountFlags::DETACH);
                return Err(err(e));
            }
        }
        Ok(())
    }

    fn remove(&self, id: &str) -> Result<()> {
        remove_tree(&self.dir.join(id))
    }

    fn detach(&self, id: &str, trash: &Path) -> Result<()> {
        match fs::rename(self.dir.join(id), trash) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r.ctx("move layer to trash", trash),
        }
    }

    fn list(&self) -> Result<Vec<String>> {
        list_dir(&self.dir)
    }

    fn changes(&self, id: &str, parent: Option<&str>) -> Result<(PathBuf, Vec<Change>)> {
        let upper = self.content(id);
        let lower = parent.map(|p| self.content(p));
        let changes = compare_changes(&upper, lower.as_deref())?;
        Ok((upper, changes))
    }
}
