//! `berth mount`/`umount` of containers: storage's counted
//! `mount_container`, so host tools can read and write the container's
//! files while it runs or not. The mounts a user took are counted in the
//! record (`user_mounts`), apart from the one a run holds (`mounted`), so
//! a start or stop never undoes the user's and `umount` never undoes a
//! run's.

use crate::engine::Engine;
use crate::error::Result;
use crate::records::State;
use std::path::PathBuf;

impl Engine {
    /// Mount container `key`; where its root filesystem is.
    pub fn mount(&self, key: &str) -> Result<PathBuf> {
        let c = self.container(key)?;
        self.refresh(&c.id)?;
        let record = self.record(&c.id);
        let lock = record.lock()?;
        let mut state = user_state(record.load()?);
        let path = self.store.mount_container(&c.id)?;
        state.user_mounts += 1;
        state.boot_id = crate::boot::boot_id();
        record.save(&lock, &state)?;
        Ok(path)
    }

    /// Undo a `mount` of container `key` (all of them with `force`).
    /// Returns whether it is still mounted for the user.
    pub fn unmount(&self, key: &str, force: bool) -> Result<bool> {
        let c = self.container(key)?;
        self.refresh(&c.id)?;
        let record = self.record(&c.id);
        let lock = record.lock()?;
        let mut state = user_state(record.load()?);
        let times = if force {
            state.user_mounts
        } else {
            state.user_mounts.min(1)
        };
        for _ in 0..times {
            self.store.unmount_container(&c.id, false)?;
            state.user_mounts -= 1;
            record.save(&lock, &state)?;
        }
        Ok(state.user_mounts > 0)
    }

    /// Containers whose root filesystem is mounted (by the user or for a
    /// run): id and path.
    pub fn mounted(&self) -> Result<Vec<(String, PathBuf)>> {
        let mut out = Vec::new();
        for c in self.store.containers()? {
            let state = user_state(self.refresh(&c.id)?);
            if state.user_mounts == 0 && !state.mounted {
                continue;
            }
            let config = self.record(&c.id).path().join("config.json");
            let root = std::fs::read(&config)
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
                .and_then(|v| v["root"]["path"].as_str().map(PathBuf::from));
            if let Some(root) = root {
                out.push((c.id, root));
            }
        }
        Ok(out)
    }
}

/// Mounts counted in another boot are gone (a runroot that is no tmpfs
/// survives the reboot; the mounts do not).
fn user_state(mut state: State) -> State {
    if !crate::boot::same_boot(&state) {
        state.user_mounts = 0;
        state.mounted = false;
    }
    state
}
