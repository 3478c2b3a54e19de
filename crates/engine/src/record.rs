//! A container's run state under the runroot: `<runroot>/containers/<id>/`
//! holds `state.json` (guarded by an flock on `lock`), the bundle's
//! `config.json`, the files bound into the container (`hosts`,
//! `hostname`, `resolv.conf`) and the log `ctr.log`. What the container
//! *is* (image, options, name) lives in storage's container record; this is
//! what it is *doing*, and a reboot (the runroot is a tmpfs) forgets it.

use crate::error::{Error, IoContext, Result};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::path::{Path, PathBuf};

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made, never started (or its state was lost with a reboot).
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Its process ended.
    Exited,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        })
    }
}

/// A process, named by pid and start time so a reused pid is not taken
/// for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    /// The pid (in the host's namespace).
    pub pid: i32,
    /// Field 22 of /proc/PID/stat.
    pub start: u64,
}

impl ProcessRef {
    /// The process `pid` as it is now, if it exists.
    pub fn of(pid: i32) -> Option<ProcessRef> {
        proc_stat(pid).map(|(start, _)| ProcessRef { pid, start })
    }

    /// This process.
    pub fn current() -> Option<ProcessRef> {
        ProcessRef::of(std::process::id() as i32)
    }

    /// Whether it still runs (a zombie does not).
    pub fn alive(&self) -> bool {
        matches!(proc_stat(self.pid), Some((s, state)) if s == self.start && state != 'Z' && state != 'X')
    }
}

fn proc_stat(pid: i32) -> Option<(u64, char)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    // rest starts at field 3 (state); starttime is field 22.
    let start = fields.get(19)?.parse().ok()?;
    Some((start, state))
}

/// `state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Where it is in its life.
    pub status: Status,
    /// The container's init process, while it runs.
    pub process: Option<ProcessRef>,
    /// The process that waits for it (a monitor, or a foreground `berth`).
    pub monitor: Option<ProcessRef>,
    /// RFC 3339 time of the last start.
    pub started_at: Option<String>,
    /// RFC 3339 time of the last exit.
    pub finished_at: Option<String>,
    /// The last exit code (128+N for signal N); None when nobody saw it.
    pub exit_code: Option<i32>,
    /// Whether the rootfs is mounted for it (undone on cleanup).
    pub mounted: bool,
    /// The boot the run started in (see the `reboot` module).
    pub boot_id: Option<String>,
    /// Mounts taken by `berth mount` (each undone by `berth umount`).
    pub user_mounts: u32,
    /// Its place on the bridge while it runs there.
    pub network: Option<crate::network::Attachment>,
    /// Set by `restart` so the exit it causes does not remove a `--rm`
    /// container; the next exit clears it.
    pub restarting: bool,
}

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

/// Now as RFC 3339 UTC with nanoseconds (`2026-01-01T00:00:00.000000000Z`).
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_nanos()
    )
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
    fn time_format() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 30, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }

    #[test]
    fn self_is_alive() {
        let me = ProcessRef::current().unwrap();
        assert!(me.alive());
        let other = ProcessRef {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive());
    }

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
}
