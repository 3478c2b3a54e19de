//! `restart`: stop (when running), then start detached.

use crate::engine::Engine;
use crate::error::Result;
use crate::records::Status;

impl Engine {
    /// Stop the container (stop signal, SIGKILL after `timeout` seconds)
    /// if it runs, then start it detached; an exited or created container
    /// is just started. A `--rm` container survives its restart, as in
    /// podman: the exit the stop causes is marked as a restart's.
    pub fn restart(&self, key: &str, timeout: u64) -> Result<()> {
        let c = self.container(key)?;
        if self.refresh(&c.id)?.status == Status::Running {
            let record = self.record(&c.id);
            let lock = record.lock()?;
            let mut state = record.load()?;
            state.restarting = true;
            record.save(&lock, &state)?;
        }
        self.stop(&c.id, timeout)?;
        self.start_detached(&c.id)
    }
}
