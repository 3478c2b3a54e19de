//! `state.json`: what a container is doing.

use crate::process_ref::ProcessRef;
use serde::{Deserialize, Serialize};

/// Where a container is in its life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Made, never started (or its state was lost with a reboot).
    #[default]
    Created,
    /// Its process runs.
    Running,
    /// Its process ended.
    Exited,
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Exited => "exited",
        })
    }
}

impl State {
    /// The state as podman names it: `paused` for a frozen running one.
    pub fn shown_status(&self) -> String {
        if self.paused && self.status == Status::Running {
            return "paused".into();
        }
        self.status.to_string()
    }
}

/// `state.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct State {
    /// Where it is in its life.
    pub status: Status,
    /// The container's init process, while it runs.
    pub process: Option<ProcessRef>,
    /// The process that waits for it (a monitor, or a foreground `berth`).
    pub monitor: Option<ProcessRef>,
    /// RFC 3339 time of the last start.
    pub started_at: Option<String>,
    /// RFC 3339 time of the last exit.
    pub finished_at: Option<String>,
    /// The last exit code (128+N for signal N); None when nobody saw it.
    pub exit_code: Option<i32>,
    /// Whether the rootfs is mounted for it (undone on cleanup).
    pub mounted: bool,
    /// The boot the run started in (see the `reboot` module).
    pub boot_id: Option<String>,
    /// Mounts taken by `berth mount` (each undone by `berth umount`).
    pub user_mounts: u32,
    /// Its place on the bridge while it runs there.
    pub network: Option<crate::network::Attachment>,
    /// Frozen by `pause` (the status stays running): `ps` and `inspect`
    /// show it as paused; cleared by `unpause` and by the exit.
    pub paused: bool,
    /// Set by `restart` so the exit it causes does not remove a `--rm`
    /// container; the next exit clears it.
    pub restarting: bool,
    /// Set by `stop`/`kill`: the exit they cause is not restarted by the
    /// `--restart` policy; cleared by the next start.
    pub stopped_by_user: bool,
    /// How often the `--restart` policy started the container again.
    pub restart_count: u32,
    /// What went wrong with the last run that the user was not there to
    /// hear (its monitor's failures): shown by `inspect`, cleared by the
    /// next start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
