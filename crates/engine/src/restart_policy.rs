//! The `--restart` policy at work: [`Engine::finish`] decides, as it
//! records the exit, whether the policy starts the container again (and
//! counts the restart); the waiter (the monitor, or a foreground `run` that
//! hands over to one) then starts it. Also the note that the user ends a
//! container, so its exit is not restarted.

use crate::engine::Engine;
use crate::error::Result;
use crate::records::Status;

impl Engine {
    /// After a foreground run ended and [`Engine::finish`] found its
    /// policy restarts it: the container goes on detached under a monitor,
    /// as podman's does once `run` returned. A failure is kept for
    /// `inspect`, not raised: the run itself ended as reported.
    pub(crate) fn restart_detached(&self, id: &str) {
        if let Err(e) = self.start_detached(id) {
            self.note_error(id, &format!("restarting: {e}"));
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
