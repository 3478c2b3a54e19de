//! Health checks on a timer. podman hands the schedule to a systemd timer
//! that runs `podman healthcheck run`; berth has no daemon, so the
//! container's monitor keeps the schedule: every `--health-interval`
//! after the last check ended it starts `berth healthcheck run ID` (the
//! same engine path a user's command takes, kept out of the monitor so its
//! resident size stays small and its output loop never waits on a check).
//! The monitor reaps the check with the container's other children.

use crate::engine::Engine;
use crate::health::Healthcheck;
use nix::unistd::Pid;
use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The schedule of one container's checks.
pub(crate) struct HealthTimer {
    command: Vec<OsString>,
    interval: Duration,
    next: Instant,
    running: Option<Pid>,
}

impl HealthTimer {
    /// The timer of container `id`, if it has a `check` with an interval
    /// (`--health-interval=disable` or `0`: none) and the berth binary is
    /// next to ours.
    pub(crate) fn of(engine: &Engine, id: &str, check: Option<Healthcheck>) -> Option<HealthTimer> {
        let check = check?;
        if !check.defined() || check.interval <= 0 {
            return None;
        }
        let berth = std::env::current_exe().ok()?.with_file_name("berth");
        if !berth.exists() {
            return None;
        }
        let o = &engine.opts;
        let command = vec![
            berth.into_os_string(),
            "--root".into(),
            engine.store.root().as_os_str().to_owned(),
            "--runroot".into(),
            o.runroot.clone().into_os_string(),
            "--runtime".into(),
            o.runtime.clone().into_os_string(),
            "--cgroup-parent".into(),
            o.cgroup_parent.clone().into(),
            "healthcheck".into(),
            "run".into(),
            id.into(),
        ];
        let interval = Duration::from_nanos(check.interval as u64);
        Some(HealthTimer {
            command,
            interval,
            next: Instant::now() + interval,
            running: None,
        })
    }

    /// A new run of the container: the first check one interval from now.
    pub(crate) fn restart(&mut self) {
        self.next = Instant::now() + self.interval;
    }

    /// When the next check is due (None while one runs).
    pub(crate) fn due(&self) -> Option<Instant> {
        self.running.is_none().then_some(self.next)
    }

    /// Start the check if it is due.
    pub(crate) fn fire_if_due(&mut self) {
        if self.running.is_some() || Instant::now() < self.next {
            return;
        }
        let Some((prog, args)) = self.command.split_first() else {
            return;
        };
        let spawned = Command::new(prog)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        match spawned {
            // The monitor's reaping loop waits for it, not the Child.
            Ok(child) => self.running = Some(Pid::from_raw(child.id() as i32)),
            Err(_) => self.next = Instant::now() + self.interval,
        }
    }

    /// A child ended; if it was the check, the next is due one interval
    /// from now.
    pub(crate) fn reaped(&mut self, pid: Option<Pid>) {
        if pid.is_some() && pid == self.running {
            self.running = None;
            self.next = Instant::now() + self.interval;
        }
    }
}
