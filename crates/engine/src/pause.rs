//! `pause` and `unpause`: the runtime freezes a running container's
//! processes (cgroup v1 `freezer.state`, v2 `cgroup.freeze`) and the record
//! says so, so `ps` and `inspect` show it `paused`. The status stays
//! running: the processes are there, their waiter still waits for them.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::records::Status;

impl Engine {
    /// Freeze container `key`; its id.
    pub fn pause(&self, key: &str) -> Result<String> {
        self.set_paused(key, true)
    }

    /// Thaw container `key`; its id.
    pub fn unpause(&self, key: &str) -> Result<String> {
        self.set_paused(key, false)
    }

    /// Check and act under the record lock: a racing `stop` or exit
    /// cannot slip between the state check and the freezer.
    fn set_paused(&self, key: &str, paused: bool) -> Result<String> {
        let c = self.container(key)?;
        let record = self.record(&c.id);
        let lock = record.lock()?;
        let mut state = record.load()?;
        self.settle(&c.id, &lock, &mut state)?;
        let refused = |what: &str| Error::State {
            name: c.name.clone(),
            state: state.shown_status(),
            what: what.into(),
        };
        if state.status != Status::Running {
            let what = if paused {
                "can't pause"
            } else {
                "can't unpause"
            };
            return Err(refused(what));
        }
        if state.paused == paused {
            let what = if paused {
                "it is already paused"
            } else {
                "it is not paused, can't unpause"
            };
            return Err(refused(what));
        }
        self.runtime.freeze(&c.id, paused)?;
        state.paused = paused;
        record.save(&lock, &state)?;
        self.event(&c, if paused { "pause" } else { "unpause" }, None);
        Ok(c.id)
    }
}
