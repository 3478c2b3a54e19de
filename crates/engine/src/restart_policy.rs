//! The `--restart` policy at work: after an exit is recorded, the waiter
//! (the monitor, or a foreground `run` that hands over to one) asks
//! whether the policy starts the container again, and counts the restart.
//! As in podman, an exit caused by `stop` or `kill` is never restarted.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::meta::Meta;
use crate::records::Status;

impl Engine {
    /// Whether the container's `--restart` policy starts it again after
    /// the exit just recorded; if so, the restart is counted.
    pub(crate) fn restart_due(&self, id: &str) -> Result<bool> {
        let c = match self.container(id) {
            Ok(c) => c,
            Err(Error::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let policy = Meta::of(&c)?.options.life.restart;
        // Without a policy, the record is not touched again: `wait` has
        // returned, and a lock would make its directory anew under a
        // runroot that was emptied meanwhile (a reboot showed "Created").
        if policy.name == crate::life_options::RestartPolicyName::No {
            return Ok(false);
        }
        let record = self.record(&c.id);
        let lock = record.lock()?;
        let mut state = record.load()?;
        // A start by someone else meanwhile has taken over.
        if state.status != Status::Exited
            || state.stopped_by_user
            || !policy.restarts_after(state.exit_code, state.restart_count)
        {
            return Ok(false);
        }
        state.restart_count += 1;
        record.save(&lock, &state)?;
        Ok(true)
    }

    /// After a foreground run ended: when the policy restarts it, the
    /// container goes on detached under a monitor, as podman's does once
    /// `run` returned. A failure is kept for `inspect`, not raised: the
    /// run itself ended as reported.
    pub(crate) fn restart_detached_if_due(&self, id: &str) {
        match self.restart_due(id) {
            Ok(true) => {
                if let Err(e) = self.start_detached(id) {
                    self.note_error(id, &format!("restarting: {e}"));
                }
            }
            Ok(false) => {}
            Err(e) => self.note_error(id, &format!("restart policy: {e}")),
        }
    }

    /// The user is ending the container (`stop`, `kill`): note it, so the
    /// exit that follows is not restarted, and with `thaw` unfreeze a
    /// paused one so the signal takes effect (a frozen task acts on no
    /// signal, SIGKILL included, on cgroup v1). One record update for both.
    pub(crate) fn user_ends(&self, id: &str, thaw: bool) -> Result<()> {
        let record = self.record(id);
        let lock = record.lock()?;
        let mut state = record.load()?;
        state.stopped_by_user = true;
        if thaw && state.paused {
            if state.status == Status::Running {
                self.runtime.freeze(id, false)?;
            }
            state.paused = false;
        }
        record.save(&lock, &state)
    }
}
