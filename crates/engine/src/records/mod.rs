//! A container's run state under the runroot: `<runroot>/containers/<id>/`
//! holds `state.json` (guarded by an flock on `lock`), the bundle's
//! `config.json`, the files bound into the container (`hosts`,
//! `hostname`, `resolv.conf`) and the log `ctr.log`. What the container
//! *is* (image, options, name) lives in storage's container record; this is
//! what it is *doing*, and a reboot (the runroot is a tmpfs) forgets it.
//!
//! Lock order: a record's lock is taken before anything it guards calls
//! into storage (whose own locks are inner) or the network (whose state
//! lock is inner); never two records' locks at once.

mod state;

pub use crate::process_ref::ProcessRef;
pub use state::{State, Status};

use crate::error::{Error, IoContext, Result};
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;
use std::path::{Path, PathBuf};

/// The directory of one container under the runroot.
#[derive(Debug, Clone)]
pub struct RecordDir {
    dir: PathBuf,
}

/// An exclusive hold on a container's record; released on drop.
pub struct RecordLock {
    _lock: Flock<File>,
}

impl RecordDir {
    /// The record of `id` under `runroot` (not created).
    pub fn new(runroot: &Path, id: &str) -> RecordDir {
        RecordDir {
            dir: runroot.join("containers").join(id),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Create the directory if needed.
    pub fn ensure(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).ctx("create", &self.dir)
    }

    /// Take the record's lock (creating the directory).
    pub fn lock(&self) -> Result<RecordLock> {
        self.ensure()?;
        Ok(RecordLock {
            _lock: lock_exclusive(&self.dir.join("lock"))?,
        })
    }

    /// Read `state.json`; a missing one is a created container.
    pub fn load(&self) -> Result<State> {
        let path = self.dir.join("state.json");
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|source| Error::Record { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
            Err(e) => Err(e).ctx("read", path),
        }
    }

    /// Write `state.json` atomically (hold the lock).
    pub fn save(&self, _held: &RecordLock, state: &State) -> Result<()> {
        let path = self.dir.join("state.json");
        let bytes = serde_json::to_vec_pretty(state).map_err(|source| Error::Record {
            path: path.clone(),
            source,
        })?;
        // Run state means nothing after a reboot: atomic, no fsync.
        Ok(berth_storage::write_atomic_nosync(&path, &bytes)?)
    }

    /// Remove the whole directory.
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_dir_all(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).ctx("remove", &self.dir),
            _ => Ok(()),
        }
    }
}

/// An exclusive flock on `path` (created if missing), held until dropped.
pub(crate) fn lock_exclusive(path: &Path) -> Result<Flock<File>> {
    let f = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .ctx("open", path)?;
    Flock::lock(f, FlockArg::LockExclusive)
        .map_err(|(_, e)| crate::error::sys(format!("flock {}", path.display()))(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let r = RecordDir::new(d.path(), "abc");
        assert_eq!(r.load().unwrap().status, Status::Created);
        let l = r.lock().unwrap();
        let s = State {
            status: Status::Exited,
            exit_code: Some(3),
            ..Default::default()
        };
        r.save(&l, &s).unwrap();
        assert_eq!(r.load().unwrap().exit_code, Some(3));
    }

    #[test]
    fn a_corrupt_state_is_an_error_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let r = RecordDir::new(d.path(), "abc");
        r.ensure().unwrap();
        std::fs::write(r.path().join("state.json"), "{\"status\": ").unwrap();
        let e = r.load().unwrap_err().to_string();
        assert!(e.contains("state.json"), "{e}");
    }
}
