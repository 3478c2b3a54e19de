//! Targeted reads of an image's tree (package databases, os-release) on
//! top of the engine's [`RootfsReader`]: every path resolves inside the
//! image's root (`openat2(RESOLVE_IN_ROOT)`), so an absolute symlink or a
//! `..` chain in the image can never reach a host file. Faults come back
//! as [`ScanWarning`]s naming the in-image path.

use crate::model::ScanWarning;
use berth_engine::RootfsReader;
use nix::dir::Dir;
use std::os::fd::IntoRawFd;
use std::path::Path;

/// Package databases bigger than this are refused.
const DB_CAP: u64 = 256 << 20;

/// An image's root, read in-root.
pub struct Tree {
    reader: RootfsReader,
}

impl Tree {
    /// Open the tree whose `/` is host path `root`.
    pub fn open(root: &Path) -> Result<Tree, crate::Error> {
        let reader = RootfsReader::open(root).map_err(|e| crate::Error::Open {
            path: root.to_path_buf(),
            source: Box::new(e),
        })?;
        Ok(Tree { reader })
    }

    /// The engine's reader, for the walker's directory fds.
    pub fn reader(&self) -> &RootfsReader {
        &self.reader
    }

    /// The bytes of regular file `path`; None when it does not exist.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, ScanWarning> {
        self.reader
            .read_small(path, DB_CAP)
            .map_err(|e| warning(path, e))
    }

    /// The names in directory `path`, sorted; None when it does not exist.
    pub fn list(&self, path: &str) -> Result<Option<Vec<String>>, ScanWarning> {
        let fd = match self.reader.open_dir(path) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                return Ok(None)
            }
            Err(e) => return Err(io_warning(path, e)),
        };
        let mut dir = Dir::from_fd(fd.into_raw_fd()).map_err(|e| io_warning(path, e.into()))?;
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|e| io_warning(path, e.into()))?;
            let name = entry.file_name().to_string_lossy();
            if name != "." && name != ".." {
                names.push(name.into_owned());
            }
        }
        names.sort();
        Ok(Some(names))
    }

    /// Whether `path` exists (symlinks followed in-root).
    pub fn exists(&self, path: &str) -> bool {
        self.reader.metadata(path).is_ok()
    }
}

/// A warning about `path` from an engine error, without the host path.
fn warning(path: &str, e: berth_engine::Error) -> ScanWarning {
    let message = match e {
        berth_engine::Error::InRoot { op, source, .. } => format!("{op}: {source}"),
        other => other.to_string(),
    };
    ScanWarning {
        path: path.to_string(),
        line: None,
        message,
    }
}

fn io_warning(path: &str, e: std::io::Error) -> ScanWarning {
    ScanWarning {
        path: path.to_string(),
        line: None,
        message: e.to_string(),
    }
}
