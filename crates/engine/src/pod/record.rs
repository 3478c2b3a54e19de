//! A pod's state under the runroot, `<runroot>/pods/<id>/`: `pod.json`
//! (guarded by an flock on `lock`), the files its containers bind in
//! (`hosts`, `hostname`, `resolv.conf`) and the pinned namespaces
//! `ns/ipc` and `ns/uts` (its network namespace is the network layer's,
//! `<runroot>/netns/<id>`). `<runroot>/pods/lock` is held while a pod is
//! made, so a name is checked and taken under one lock (removal needs
//! only the pod's lock: a record that goes meanwhile is skipped).
//!
//! Lock order: `pods/lock`, then a pod's lock, then its containers'
//! record locks (and storage's, and the network's, inside those).

use super::error::PodError;
use super::options::PodOptions;
use crate::error::{IoContext, Result};
use crate::network::Attachment;
use crate::records::lock_exclusive;
use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Whether a pod's network is up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PodState {
    /// Made and networked: containers can be made in it.
    #[default]
    Ready,
    /// Stopped: its containers are stopped and its network is down.
    NotReady,
}

/// `pod.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct PodRecord {
    pub id: String,
    pub options: PodOptions,
    pub state: PodState,
    /// Nanoseconds since the epoch.
    pub created_nanos: i64,
    /// Its place on the bridge while Ready (None on the host's network).
    pub network: Option<Attachment>,
    /// The pinned IPC namespace (None: the host's).
    pub ipc: Option<PathBuf>,
    /// The pinned UTS namespace (None: the host's).
    pub uts: Option<PathBuf>,
    /// The cgroup parent's directories that did not exist when the pod
    /// was made: removed with the pod once empty.
    pub cgroups_made: Vec<PathBuf>,
    /// The infra container in the pause-image mode.
    pub infra: Option<String>,
    /// The pod's `/dev/shm` tmpfs (None on the host's IPC).
    pub shm: Option<PathBuf>,
}

/// An exclusive hold on a pod's record or on the pods' directory.
pub(crate) struct PodLock {
    _lock: Flock<File>,
}

/// Where pods live under a runroot.
pub(crate) struct PodDirs {
    root: PathBuf,
}

impl PodDirs {
    pub(crate) fn new(runroot: &Path) -> PodDirs {
        PodDirs {
            root: runroot.join("pods"),
        }
    }

    /// The directory of pod `id`.
    pub(crate) fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Held while a pod is made or removed.
    pub(crate) fn lock_all(&self) -> Result<PodLock> {
        std::fs::create_dir_all(&self.root).ctx("create", &self.root)?;
        Ok(PodLock {
            _lock: lock_exclusive(&self.root.join("lock"))?,
        })
    }

    /// Held while pod `id` changes.
    pub(crate) fn lock(&self, id: &str) -> Result<PodLock> {
        let dir = self.dir(id);
        std::fs::create_dir_all(&dir).ctx("create", &dir)?;
        Ok(PodLock {
            _lock: lock_exclusive(&dir.join("lock"))?,
        })
    }

    /// Pod `id`'s lock and record, or None when it has none: removed by
    /// another process between the caller's lookup and this lock (the
    /// directory the lock made again is removed; a pod being made holds
    /// its lock until its record is written, so it is never taken for one).
    pub(crate) fn lock_existing(&self, id: &str) -> Result<Option<(PodLock, PodRecord)>> {
        let lock = self.lock(id)?;
        match self.load(id)? {
            Some(rec) => Ok(Some((lock, rec))),
            None => {
                self.remove(id)?;
                Ok(None)
            }
        }
    }

    /// Pod `id`'s record; None when it has none (gone, or half made).
    pub(crate) fn load(&self, id: &str) -> Result<Option<PodRecord>> {
        let path = self.dir(id).join("pod.json");
        match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .map_err(|source| PodError::Record { path, source }.into()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).ctx("read", path),
        }
    }

    /// Write `pod.json` atomically (hold the pod's lock).
    pub(crate) fn save(&self, _held: &PodLock, rec: &PodRecord) -> Result<()> {
        let path = self.dir(&rec.id).join("pod.json");
        let bytes = serde_json::to_vec_pretty(rec).map_err(|source| PodError::Record {
            path: path.clone(),
            source,
        })?;
        // Run state, as the containers' records: atomic, no fsync.
        Ok(berth_storage::write_atomic_nosync(&path, &bytes)?)
    }

    /// The ids of every pod with a record.
    pub(crate) fn ids(&self) -> Result<Vec<String>> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).ctx("read", &self.root),
        };
        let mut out = Vec::new();
        for e in entries {
            let e = e.ctx("read", &self.root)?;
            if e.path().join("pod.json").exists() {
                out.push(e.file_name().to_string_lossy().into_owned());
            }
        }
        Ok(out)
    }

    /// The id `key` names: an id, or a prefix of exactly one.
    pub(crate) fn resolve(&self, key: &str) -> Result<String> {
        if key.is_empty() {
            return Err(PodError::NotFound(key.into()).into());
        }
        let ids = self.ids()?;
        if ids.iter().any(|i| i == key) {
            return Ok(key.into());
        }
        let mut found = ids.into_iter().filter(|i| i.starts_with(key));
        match (found.next(), found.next()) {
            (Some(id), None) => Ok(id),
            (Some(_), Some(_)) => Err(PodError::Ambiguous(key.into()).into()),
            _ => Err(PodError::NotFound(key.into()).into()),
        }
    }

    /// Remove pod `id`'s directory. Its namespace pins must be unmounted
    /// first (a mounted pin makes this fail with EBUSY, never follows it).
    pub(crate) fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        match std::fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e).ctx("remove", &dir),
            _ => Ok(()),
        }
    }
}

/// A new pod id: 64 hex digits from the kernel's random source.
pub(crate) fn new_id() -> String {
    berth_storage::random_hex(32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_prefixes() {
        let d = tempfile::tempdir().unwrap();
        let dirs = PodDirs::new(d.path());
        assert!(dirs.ids().unwrap().is_empty());
        for id in ["abc1", "abc2", "def"] {
            let l = dirs.lock(id).unwrap();
            let rec = PodRecord {
                id: id.into(),
                ..Default::default()
            };
            dirs.save(&l, &rec).unwrap();
        }
        assert_eq!(dirs.resolve("d").unwrap(), "def");
        assert_eq!(dirs.resolve("abc1").unwrap(), "abc1");
        assert!(dirs
            .resolve("abc")
            .unwrap_err()
            .to_string()
            .contains("more than one"));
        assert!(dirs
            .resolve("x")
            .unwrap_err()
            .to_string()
            .contains("no pod"));
        assert_eq!(dirs.load("def").unwrap().unwrap().state, PodState::Ready);
        std::fs::write(dirs.dir("def").join("pod.json"), "{").unwrap();
        assert!(dirs
            .load("def")
            .unwrap_err()
            .to_string()
            .contains("pod.json"));
        dirs.remove("def").unwrap();
        assert!(dirs.load("def").unwrap().is_none());
        assert_eq!(new_id().len(), 64);
    }
}
