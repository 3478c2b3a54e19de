//! Boots. The runroot (a tmpfs at /run/berth) and every process are gone
//! after a reboot; storage is not. So the engine keeps the outcome of a
//! container's last run in its storage record ([`LastRun`] in the engine's
//! metadata), and each run's `state.json` names the boot it started in,
//! so a runroot that survived the reboot is not trusted either: a pid of
//! another boot may belong to anybody now.

use crate::records::State;
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
