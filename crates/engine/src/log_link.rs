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
