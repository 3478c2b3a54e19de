//! Starting, stopping, signalling and waiting for containers.
//!
//! Whoever starts a container waits for it: a foreground `berth run` (or
//! `start -a`) itself, or the container's monitor when detached. Both
//! become child subreapers before `runtime create`, so the container's init
//! is their child once the runtime exits, and they reap it and record its
//! exit code. If that waiter is killed, [`Engine::refresh`] notices (neither
//! process nor waiter alive) and releases what the run held.

use crate::engine::Engine;
use crate::error::{sys, Error, Result};
use crate::record::{now_rfc3339, ProcessRef, Status};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

/// Signals a foreground run passes on to the container.
const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

pub(crate) static FORWARD_TO: AtomicI32 = AtomicI32::new(0);
/// A signal that came before there was a pid to pass it to.
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = FORWARD_TO.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    } else {
        PENDING.store(sig, Ordering::Relaxed);
    }
}

/// From now on signals go to `pid`, including one that came while it was
/// being started (the handler is installed before the start, so a signal
/// in that window is not our death).
pub(crate) fn forward_to(pid: i32) {
    FORWARD_TO.store(pid, Ordering::Relaxed);
    let sig = PENDING.swap(0, Ordering::Relaxed);
    if sig > 0 {
        // SAFETY: plain kill(2) of a process we started.
        unsafe { libc::kill(pid, sig) };
    }
}

pub(crate) fn set_forwarding(on: bool) {
    let handler = if on {
        SigHandler::Handler(forward)
    } else {
        SigHandler::SigDfl
    };
    let action = SigAction::new(handler, SaFlags::SA_RESTART, SigSet::empty());
    for s in FORWARDED {
        // SAFETY: the handler only reads an atomic and calls kill(2).
        let _ = unsafe { nix::sys::signal::sigaction(s, &action) };
    }
}

/// The exit code of a wait status: the code, or 128+signal.
pub(crate) fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

impl Engine {
    /// Mount the rootfs, `runtime create` with `stdio` (and the pty master
    /// sent to `console`, for a terminal), record the run as this
    /// process's, `runtime start`. The caller must be a child subreaper.
    /// Returns the init's pid.
    pub(crate) fn launch(
        &self,
        id: &str,
        stdio: [Stdio; 3],
        console: Option<&std::path::Path>,
    ) -> Result<i32> {
        let (c, _) = self.in_state(id, false, "it is already running")?;
        let record = self.record(&c.id);
        self.ensure_bundle(&c)?;
        let lock = record.lock()?;
        let mut state = record.load()?;
        // A leftover runtime container of an earlier run must go first.
        self.release(&c.id, &mut state)?;
        self.store.mount_container(&c.id)?;
        state.mounted = true;
        record.save(&lock, &state)?;
        let started = self
            .network_up(&c.id, &Engine::meta(&c).options, &mut state)
            .and_then(|()| self.runtime.create(&c.id, record.path(), stdio, console))
            .and_then(|pid| {
                state.status = Status::Running;
                state.process = ProcessRef::of(pid);
                state.monitor = ProcessRef::current();
                state.started_at = Some(now_rfc3339());
                state.finished_at = None;
                state.exit_code = None;
                state.boot_id = crate::reboot::boot_id();
                record.save(&lock, &state)?;
                self.remember_run(&c, &state)?;
                self.runtime.start(&c.id).map(|()| pid)
            });
        match started {
            Ok(pid) => Ok(pid),
            Err(e) => {
                if let Some(p) = state.process {
                    let _ = nix::sys::signal::kill(Pid::from_raw(p.pid), Signal::SIGKILL);
                    let _ = waitpid(Pid::from_raw(p.pid), None);
                }
                state.status = Status::Created;
                state.process = None;
                state.monitor = None;
                let _ = self.release(&c.id, &mut state);
                let _ = record.save(&lock, &state);
                Err(e)
            }
        }
    }

    /// Record that the container's process ended with `code`, release what
    /// the run held, and remove the container if it was made with `--rm`.
    pub(crate) fn finish(&self, id: &str, code: Option<i32>) -> Result<()> {
        let Ok(c) = self.container(id) else {
            // Removed meanwhile (`rm -f`): nothing to record.
            return Ok(());
        };
        let record = self.record(&c.id);
        let restarting;
        {
            let lock = record.lock()?;
            let mut state = record.load()?;
            restarting = std::mem::take(&mut state.restarting);
            state.status = Status::Exited;
            state.exit_code = code;
            state.finished_at = Some(now_rfc3339());
            state.process = None;
            state.monitor = None;
            let released = self.release(&c.id, &mut state);
            record.save(&lock, &state)?;
            released?;
            self.remember_run(&c, &state)?;
        }
        if Engine::meta(&c).options.remove && !restarting {
            self.remove_with_volumes(&c.id, true)?;
        }
        Ok(())
    }

    /// Start a container in the foreground: its stdio is this process's,
    /// signals sent here are passed on, and its exit code is returned.
    pub fn start_foreground(&self, id: &str) -> Result<i32> {
        nix::sys::prctl::set_child_subreaper(true).map_err(sys("PR_SET_CHILD_SUBREAPER"))?;
        let c = self.container(id)?;
        if Engine::meta(&c).options.tty {
            return self.run_with_terminal(&c);
        }
        set_forwarding(true);
        let stdio = [Stdio::inherit(), Stdio::inherit(), Stdio::inherit()];
        let pid = match self.launch(&c.id, stdio, None) {
            Ok(pid) => pid,
            Err(e) => {
                set_forwarding(false);
                return Err(e);
            }
        };
        forward_to(pid);
        let code = wait_for(pid);
        set_forwarding(false);
        FORWARD_TO.store(0, Ordering::Relaxed);
        self.finish(&c.id, code)?;
        Ok(code.unwrap_or(-1))
    }

    /// Start a container detached, under its own monitor process; returns
    /// once the container's process runs (or with the monitor's error).
    pub fn start_detached(&self, id: &str) -> Result<()> {
        let (c, _) = self.in_state(id, false, "it is already running")?;
        let Some((prog, args)) = self.opts.monitor.split_first() else {
            return Err(Error::Monitor {
                id: c.id,
                message: "no monitor program configured".into(),
            });
        };
        let out = crate::listen_fds::to_monitor(&mut std::process::Command::new(prog))
            .args(args)
            .arg(&c.id)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| Error::Monitor {
                id: c.id.clone(),
                message: format!("starting {}: {e}", prog.to_string_lossy()),
            })?;
        let text = String::from_utf8_lossy(&out.stdout);
        match text.trim() {
            "ok" => Ok(()),
            "" => Err(Error::Monitor {
                id: c.id,
                message: format!("exited ({}) without a word", out.status),
            }),
            msg => Err(Error::Monitor {
                id: c.id,
                message: msg.trim_start_matches("error: ").to_string(),
            }),
        }
    }

    /// Send `signal` to the container's process.
    pub fn kill(&self, key: &str, signal: &str) -> Result<()> {
        let (c, _) = self.in_state(key, true, "only a running container can be signalled")?;
        self.runtime.kill(&c.id, signal, false)
    }

    /// Stop a container: its stop signal, then SIGKILL to all its
    /// processes after `timeout` seconds. Returns once its waiter recorded
    /// the exit (or, with the waiter gone, once the run is released).
    pub fn stop(&self, key: &str, timeout: u64) -> Result<()> {
        let c = self.container(key)?;
        let state = self.refresh(&c.id)?;
        if state.status != Status::Running {
            return Ok(());
        }
        let alive = || state.process.is_some_and(|p| p.alive());
        if timeout > 0 {
            let sig = Engine::meta(&c).stop_signal;
            let sig = if sig.is_empty() {
                "SIGTERM".into()
            } else {
                sig
            };
            let _ = self.runtime.kill(&c.id, &sig, false);
            wait_until(Duration::from_secs(timeout), || !alive());
        }
        if alive() {
            let _ = self.runtime.kill(&c.id, "SIGKILL", true);
            wait_until(Duration::from_secs(10), || !alive());
        }
        // Give the waiter the chance to record the exit code.
        let record = self.record(&c.id);
        wait_until(Duration::from_secs(5), || {
            record
                .load()
                .map(|s| s.status != Status::Running)
                .unwrap_or(true)
                || !state.monitor.is_some_and(|m| m.alive())
        });
        self.refresh(&c.id)?;
        Ok(())
    }

    /// Wait until the container is not running; its exit code.
    pub fn wait(&self, key: &str) -> Result<Option<i32>> {
        let c = self.container(key)?;
        loop {
            let state = self.refresh(&c.id)?;
            if state.status != Status::Running {
                return Ok(state.exit_code);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Poll `done` every 20 ms for at most `limit`.
fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) {
    let end = Instant::now() + limit;
    while !done() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Reap children (we are a subreaper: orphans of the container land here
/// too) until `pid` ends; its exit code, or None if it vanished.
pub(crate) fn wait_for(pid: i32) -> Option<i32> {
    loop {
        match waitpid(None, None) {
            Ok(st) if st.pid() == Some(Pid::from_raw(pid)) => {
                if let Some(code) = exit_code(st) {
                    return Some(code);
                }
            }
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
}
