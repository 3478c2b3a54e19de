//! Containers across a reboot (see [`crate::boot`]): what the engine does
//! with a run of another boot, and the last run it keeps in storage.

use crate::boot::{same_boot, LastRun};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::meta::Meta;
use crate::records::{State, Status};

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
            Ok(c) => Meta::of(&c)?.last_run,
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
        let mut meta = Meta::of(c)?;
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
