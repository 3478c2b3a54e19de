//! Containers across a reboot. The runroot (a tmpfs at /run/berth) and
//! every process are gone after one; storage is not. So the engine keeps
//! the outcome of a container's last run in its storage record
//! ([`LastRun`] in the engine's metadata), and each run's `state.json`
//! names the boot it started in, so a runroot that survived the reboot is
//! not trusted either: a pid of another boot may belong to anybody now.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::record::{State, Status};
use serde::{Deserialize, Serialize};

/// What storage keeps of a container's last run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LastRun {
    /// The exit code, once a waiter saw it.
    pub exit_code: Option<i32>,
    /// RFC 3339 start time.
    pub started_at: Option<String>,
    /// RFC 3339 exit time.
    pub finished_at: Option<String>,
}

/// This boot's id (`/proc/sys/kernel/random/boot_id`), read once per
/// process: every refresh of every container asks for it.
fn this_boot() -> Option<&'static str> {
    static BOOT: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    BOOT.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
            .ok()
            .map(|s| s.trim().to_string())
    })
    .as_deref()
}

/// This boot's id, for a new run's state.
pub fn boot_id() -> Option<String> {
    this_boot().map(str::to_string)
}

/// Whether `state` was written in this boot (records without a boot id
/// are trusted, as before).
pub(crate) fn same_boot(state: &State) -> bool {
    match &state.boot_id {
        Some(b) => this_boot() == Some(b.as_str()),
        None => true,
    }
}

impl Engine {
    /// A run of another boot left the runtime's state of a process that no
    /// longer exists: drop it, so that `runtime delete` does not signal
    /// whatever process has its pid now.
    pub(crate) fn forget_other_boot(&self, id: &str, state: &State) {
        if !same_boot(state) {
            let _ = std::fs::remove_dir_all(self.runtime.root.join(id));
        }
    }

    /// The state of a container with no record under the runroot: created,
    /// or — when storage says it ran before (a reboot emptied the runroot)
    /// — exited with what was kept.
    pub(crate) fn state_without_record(&self, id: &str) -> Result<State> {
        let last = match self.container(id) {
            Ok(c) => Engine::meta(&c)?.last_run,
            Err(Error::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        Ok(match last {
            Some(l) => State {
                status: Status::Exited,
                exit_code: l.exit_code,
                started_at: l.started_at,
                finished_at: l.finished_at,
                ..State::default()
            },
            None => State::default(),
        })
    }

    /// Keep the outcome of a run in storage (not for `--rm` containers,
    /// which go anyway): called when a run starts and when it ends.
    pub(crate) fn remember_run(&self, c: &berth_storage::Container, state: &State) -> Result<()> {
        let mut meta = Engine::meta(c)?;
        if meta.options.remove {
            return Ok(());
        }
        let last = LastRun {
            exit_code: state.exit_code,
            started_at: state.started_at.clone(),
            finished_at: state.finished_at.clone(),
        };
        if meta.last_run.as_ref() == Some(&last) {
            return Ok(());
        }
        meta.last_run = Some(last);
        let value = serde_json::to_value(&meta).map_err(|source| Error::Record {
            path: self.store.root().join("containers"),
            source,
        })?;
        self.store.set_container_metadata(&c.id, value)?;
        Ok(())
    }
}
