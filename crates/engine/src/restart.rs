//! `restart`: stop (when running), then start detached.

use crate::engine::Engine;
use crate::error::Result;

impl Engine {
    /// Stop the container (stop signal, SIGKILL after `timeout` seconds)
    /// if it runs, then start it detached; an exited or created container
    /// is just started.
    pub fn restart(&self, key: &str, timeout: u64) -> Result<()> {
        let c = self.container(key)?;
        self.stop(&c.id, timeout)?;
        self.start_detached(&c.id)
    }
}
