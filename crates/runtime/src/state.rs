//! What the runtime remembers about a container between commands.
//!
//! Each container has a directory `<root>/<id>/` holding `state.json` and,
//! between `create` and `start`, the `exec.fifo` its init blocks on. Commands
//! that change a container take an exclusive `flock` on that directory.

use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The fifo the init of a created container waits on until `start`.
pub const EXEC_FIFO: &str = "exec.fifo";
const STATE_FILE: &str = "state.json";

/// The persisted record of one container.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContainerState {
    /// The container id.
    pub id: String,
    /// Host pid of the container's init.
    pub pid: i32,
    /// The init's start time in clock ticks since boot (field 22 of
    /// `/proc/PID/stat`), so a recycled pid is never mistaken for it.
    pub pid_start: u64,
    /// Absolute bundle path.
    pub bundle: PathBuf,
    /// Absolute rootfs path.
    pub rootfs: PathBuf,
    /// RFC 3339 creation time.
    pub created: String,
    /// Annotations from the config, reported by `state`.
    #[serde(default)]
    pub annotations: HashMap<String, String>,
    /// The container's cgroup, if it has one.
    pub cgroup: Option<Cgroup>,
    /// Hooks still to run after `create` (`startContainer` runs in the
    /// container; `poststart`/`poststop` in the runtime).
    #[serde(default)]
    pub hooks: Option<oci_spec::runtime::Hooks>,
    /// The config's `ociVersion`, echoed by `state`.
    pub oci_version: String,
    /// The resources in force: the config's, as changed by `update`
    /// (the device rules are re-applied whole on every update).
    #[serde(default)]
    pub resources: Option<oci_spec::runtime::LinuxResources>,
}

/// The lifecycle states of the runtime spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Set up, waiting for `start`.
    Created,
    /// The user process runs.
    Running,
    /// Frozen through the cgroup freezer.
    Paused,
    /// The init has exited.
    Stopped,
}

impl Status {
    /// The spec's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// Refuse ids that are empty or could step outside the state directory.
pub fn validate_id(id: &str) -> Result<()> {
    let reason = if id.is_empty() {
        "empty"
    } else if id == "." || id == ".." {
        "a path component"
    } else if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"_+-.".contains(&b))
    {
        "only letters, digits, '_', '+', '-' and '.' are allowed"
    } else if id.len() > 1024 {
        "too long"
    } else {
        return Ok(());
    };
    Err(Error::InvalidId {
        id: id.to_string(),
        reason,
    })
}

/// The runtime's state root (`--root`).
#[derive(Debug, Clone)]
pub struct StateRoot {
    root: PathBuf,
}

impl StateRoot {
    /// Use `root` as the state directory; it is made on first write.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        StateRoot { root: root.into() }
    }

    /// The directory of container `id`.
    pub fn dir(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// The state root itself.
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Claim `id`: make its directory, failing if it exists. The directory is
    /// removed again unless [`ClaimedDir::keep`] is called.
    pub fn claim(&self, id: &str) -> Result<ClaimedDir> {
        validate_id(id)?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o711)
            .create(&self.root)
            .map_err(|e| Error::io("create state root", &self.root, e))?;
        let dir = self.dir(id);
        match fs::DirBuilder::new().mode(0o711).create(&dir) {
            Ok(()) => Ok(ClaimedDir { dir, keep: false }),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Err(Error::AlreadyExists(id.to_string()))
            }
            Err(e) => Err(Error::io("create state dir", dir, e)),
        }
    }

    /// Load the state of `id` and lock its directory for the caller's lifetime.
    pub fn load_locked(&self, id: &str) -> Result<(ContainerState, Flock<File>)> {
        validate_id(id)?;
        let dir = self.dir(id);
        let handle = File::open(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(id.to_string()),
            _ => Error::io("open state dir", &dir, e),
        })?;
        let lock = Flock::lock(handle, FlockArg::LockExclusive)
            .map_err(|(_, e)| Error::sys(format!("flock {}", dir.display()), e))?;
        Ok((self.load(id)?, lock))
    }

    /// [`load_locked`](Self::load_locked), refusing `action` unless the
    /// container's status is `want`.
    pub fn load_locked_in(
        &self,
        id: &str,
        want: Status,
        action: &'static str,
    ) -> Result<(ContainerState, Flock<File>)> {
        let (state, lock) = self.load_locked(id)?;
        let status = state.status(&self.dir(id));
        if status != want {
            return Err(Error::WrongState {
                id: id.into(),
                action,
                status: status.as_str(),
            });
        }
        Ok((state, lock))
    }

    /// Load the state of `id` without locking (for read-only commands).
    pub fn load(&self, id: &str) -> Result<ContainerState> {
        validate_id(id)?;
        let path = self.dir(id).join(STATE_FILE);
        let bytes = fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound(id.to_string()),
            _ => Error::io("read", &path, e),
        })?;
        serde_json::from_slice(&bytes).map_err(|source| Error::State { path, source })
    }

    /// Every container id under the root, sorted.
    pub fn ids(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io("list", &self.root, e)),
        };
        let mut ids: Vec<String> = entries
            .flatten()
            .filter(|e| e.path().join(STATE_FILE).exists())
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Remove the directory of `id` and everything in it.
    pub fn remove(&self, id: &str) -> Result<()> {
        let dir = self.dir(id);
        match fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::io("remove state dir", dir, e)),
        }
    }
}

/// A container directory made by `create`; removed on drop unless kept.
pub struct ClaimedDir {
    dir: PathBuf,
    keep: bool,
}

impl ClaimedDir {
    /// The directory.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Creation succeeded: leave the directory in place.
    pub fn keep(mut self) {
        self.keep = true;
    }
}

impl Drop for ClaimedDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

impl ContainerState {
    /// Write `state.json` in `dir` atomically (temp file, fsync, rename).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let tmp = dir.join(".state.json.tmp");
        let path = dir.join(STATE_FILE);
        let bytes = serde_json::to_vec(self).map_err(|source| Error::State {
            path: path.clone(),
            source,
        })?;
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(|e| Error::io("write", &tmp, e))?;
        file.write_all(&bytes)
            .map_err(|e| Error::io("write", &tmp, e))?;
        // The state is on tmpfs (/run) in the usual case, where fsync is free;
        // on disk it keeps a crash from leaving an empty state file.
        file.sync_all().map_err(|e| Error::io("fsync", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| Error::io("rename", &path, e))
    }

    /// Whether the init process recorded here is still alive (not a zombie).
    pub fn init_alive(&self) -> bool {
        self.pid > 0 && process_start_time(self.pid) == Some(self.pid_start)
    }

    /// The container's status, derived from the init process, the exec fifo
    /// and the freezer: nothing is cached that could go stale.
    pub fn status(&self, dir: &Path) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        if dir.join(EXEC_FIFO).exists() {
            return Status::Created;
        }
        match &self.cgroup {
            Some(cg) if cg.is_frozen().unwrap_or(false) => Status::Paused,
            _ => Status::Running,
        }
    }
}

/// Start time (clock ticks after boot) of a live, non-zombie process.
pub fn process_start_time(pid: i32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces and parentheses: fields start after
    // the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let mut fields = rest.split(' ');
    let state = fields.next()?;
    if state == "Z" || state == "X" {
        return None;
    }
    // `rest` starts at field 3 (state); field 22 is starttime.
    fields.nth(18)?.parse().ok()
}
