//! A container's log at a path its owner chose (the CRI's
//! `log_directory/log_path`, which kubelet reads): the record's `ctr.log`
//! becomes a symlink to it, so the monitor, `berth logs` and the CLI's
//! other readers all use that one file.

use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use std::path::Path;

impl Engine {
    /// Make container `key`'s log the file at `path` (absolute; made empty
    /// if missing, its directory too). Call before the container starts.
    pub fn set_log_path(&self, key: &str, path: &Path) -> Result<()> {
        if !path.is_absolute() {
            return Err(Error::InvalidOption {
                option: "log path",
                value: path.display().to_string(),
                reason: "must be absolute".into(),
            });
        }
        let c = self.container(key)?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).ctx("create", dir)?;
        }
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ctx("create the log", path)?;
        let record = self.record(&c.id);
        record.ensure()?;
        let link = record.path().join("ctr.log");
        match std::fs::remove_file(&link) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).ctx("remove", &link),
        }
        std::os::unix::fs::symlink(path, &link).ctx("link the log", &link)
    }
}

/// How long [`Engine::reopen_log`] waits for the monitor to make the new
/// file.
const REOPEN_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

impl Engine {
    /// Ask the monitor of running container `key` to reopen its log, as
    /// kubelet does after rotating it by rename: the monitor opens the
    /// log path anew (made empty where the old file was renamed away) and
    /// writes there from then on. Returns once the file exists again.
    /// Refused (and no file made) unless the container runs under a
    /// monitor.
    pub fn reopen_log(&self, key: &str) -> Result<()> {
        let c = self.container(key)?;
        let state = self.refresh(&c.id)?;
        let refuse = |what: &str| Error::State {
            name: c.name.clone(),
            state: state.shown_status(),
            what: what.into(),
        };
        if state.status != crate::records::Status::Running {
            return Err(refuse("only a running container's log can be reopened"));
        }
        let link = self.record(&c.id).path().join("ctr.log");
        // The monitor is what `start_detached` runs; a foreground `berth
        // run` ignores the signal (its log is not reopenable).
        let Some(monitor) = state.monitor.filter(|m| m.maybe_alive()) else {
            return Err(refuse("no monitor holds its log"));
        };
        let pid = nix::unistd::Pid::from_raw(monitor.pid);
        nix::sys::signal::kill(pid, crate::output_watch::REOPEN_SIGNAL)
            .map_err(crate::error::sys("kill"))?;
        // The link resolves to the log path; it exists again once the
        // monitor reopened (or was never renamed).
        let deadline = std::time::Instant::now() + REOPEN_WAIT;
        while !link.exists() {
            if std::time::Instant::now() > deadline {
                return Err(refuse("its monitor did not reopen the log"));
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        Ok(())
    }
}
