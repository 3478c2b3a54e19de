//! Advisory file locks (`flock`) that let processes share the store
//! without a daemon: shared for readers, exclusive for writers.
//!
//! `flock` locks belong to the open file description, so they are released
//! when the process dies, even by SIGKILL; that is what lets the next open
//! tell a crashed writer's leftovers from a live writer's work.

use crate::error::{IoContext, Result};
use rustix::fs::{flock, FlockOperation};
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// A held lock; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub(crate) struct FileLock {
    _file: File,
}

/// Whether a lock is shared (many readers) or exclusive (one writer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LockMode {
    Shared,
    Exclusive,
}

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .ctx("open lock file", path)
}

fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.ino() == b.ino() && a.dev() == b.dev(),
        _ => false,
    }
}

impl FileLock {
    /// Wait for the lock at `path` (created if missing).
    pub(crate) fn acquire(path: &Path, mode: LockMode) -> Result<FileLock> {
        let op = match mode {
            LockMode::Shared => FlockOperation::LockShared,
            LockMode::Exclusive => FlockOperation::LockExclusive,
        };
        loop {
            let file = open_lock_file(path)?;
            loop {
                match flock(&file, op) {
                    Err(rustix::io::Errno::INTR) => continue,
                    r => break r.ctx("lock", path)?,
                }
            }
            // Lock files of dead writers are deleted by whoever finds them
            // free; if that happened between our open and our flock, we hold
            // a lock on a deleted file that protects nothing: start over.
            if same_file(&file, path) {
                return Ok(FileLock { _file: file });
            }
        }
    }

    /// Take the exclusive lock only if nobody holds it: `Ok(None)` means a
    /// live process holds it.
    pub(crate) fn try_exclusive(path: &Path) -> Result<Option<FileLock>> {
        let file = open_lock_file(path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => Ok(Some(FileLock { _file: file })),
            Err(rustix::io::Errno::WOULDBLOCK) => Ok(None),
            Err(e) => Err(e).ctx("lock", path),
        }
    }
}

/// The store's three metadata locks, taken in this order when several are
/// needed (containers, then images, then layers) so that no two processes
/// can wait on each other.
#[derive(Debug, Clone)]
pub(crate) struct StoreLocks {
    pub(crate) containers: PathBuf,
    pub(crate) images: PathBuf,
    pub(crate) layers: PathBuf,
}

impl StoreLocks {
    pub(crate) fn new(root: &Path) -> StoreLocks {
        StoreLocks {
            containers: root.join("containers.lock"),
            images: root.join("images.lock"),
            layers: root.join("layers.lock"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readers_share_and_writers_exclude() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l");
        let a = FileLock::acquire(&p, LockMode::Shared).unwrap();
        let _b = FileLock::acquire(&p, LockMode::Shared).unwrap();
        assert!(FileLock::try_exclusive(&p).unwrap().is_none());
        drop(a);
        drop(_b);
        assert!(FileLock::try_exclusive(&p).unwrap().is_some());
    }
}
