//! Who may have left the store half changed. A [`Store`] that is about to
//! change anything (an exclusive metadata lock, a staging directory) first
//! holds a marker in `writers/`, locked for the Store's lifetime and
//! removed when it is dropped. A marker whose lock is free belongs to a
//! process that died, maybe in the middle of a change: only then does
//! `open` pay for the full repair scan. Readers never write a marker, so
//! opening a store costs the same with 10 containers as with 10 000, and a
//! reader's open never waits behind a writer's locks.

use super::Store;
use crate::error::{IoContext, Result};
use crate::fsutil::{list_dir, random_hex};
use crate::lock::{FileLock, LockMode};
use std::path::{Path, PathBuf};

pub(super) const DIR: &str = "writers";

/// This Store's marker: its lock says "a live writer".
#[derive(Debug)]
pub(super) struct WriterMark {
    path: PathBuf,
    _lock: FileLock,
}

impl Drop for WriterMark {
    fn drop(&mut self) {
        // Unlinked while still locked, so nobody takes it for a dead one.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// The markers of dead writers, each locked by us; `None` when the store
/// predates markers and so may hold leftovers nobody marked.
pub(super) fn dead_writers(root: &Path) -> Result<Option<Vec<(PathBuf, FileLock)>>> {
    let dir = root.join(DIR);
    if !dir.is_dir() {
        return Ok(None);
    }
    let mut dead = Vec::new();
    for name in list_dir(&dir)? {
        let path = dir.join(name);
        if let Some(lock) = FileLock::try_exclusive(&path)? {
            dead.push((path, lock));
        }
    }
    Ok(Some(dead))
}

impl Store {
    /// Mark this Store as a writer before its first change (once).
    pub(super) fn mark_writer(&self) -> Result<()> {
        let mut mark = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if mark.is_none() {
            let dir = self.root.join(DIR);
            std::fs::create_dir_all(&dir).ctx("create", &dir)?;
            let path = dir.join(format!("{}-{}", std::process::id(), random_hex(8)));
            let lock = FileLock::acquire(&path, LockMode::Exclusive)?;
            *mark = Some(WriterMark { path, _lock: lock });
        }
        Ok(())
    }

    /// Repair when a writer died (or the store has no markers yet), then
    /// drop the dead markers: a repair killed half way is redone next time.
    pub(super) fn repair_if_a_writer_died(&self) -> Result<()> {
        match dead_writers(&self.root)? {
            Some(dead) if dead.is_empty() => Ok(()),
            Some(dead) => {
                self.repair()?;
                for (path, _lock) in dead {
                    std::fs::remove_file(&path).ctx("remove", &path)?;
                }
                Ok(())
            }
            None => {
                self.repair()?;
                let dir = self.root.join(DIR);
                std::fs::create_dir_all(&dir).ctx("create", &dir)
            }
        }
    }
}
