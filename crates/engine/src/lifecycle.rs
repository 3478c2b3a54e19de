//! Starting, stopping, signalling and waiting for containers.
//!
//! Whoever starts a container waits for it: a foreground `berth run` (or
//! `start -a`) itself, or the container's monitor when detached. Both
//! become child subreapers before `runtime create`, so the container's init
//! is their child once the runtime exits, and they reap it and record its
//! exit code. If that waiter is killed, [`Engine::refresh`] notices (neither
//! process nor waiter alive) and releases what the run held.

use crate::attach::{AttachEnd, AttachOptions};
use crate::clock::now_rfc3339;
use crate::engine::Engine;
use crate::error::{sys, Error, Result};
use crate::exit_codes::ExitCodes;
use crate::launcher::{Input, Output, Wiring};
use crate::logs::StreamBuffer;
use crate::meta::Meta;
use crate::records::{State, Status};
use crate::signal_forwarding::{forward_to, set_forwarding, stop_forwarding};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The exit code of a wait status: the code, or 128+signal.
pub(crate) fn exit_code(status: WaitStatus) -> Option<i32> {
    match status {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

impl Engine {
    /// Record that the container's process ended with `code`, release what
    /// the run held, and remove the container if it was made with `--rm`.
    /// Whether its `--restart` policy starts it again is decided here, under
    /// the same record lock (the restart counted in the same save): true
    /// tells the waiter to start it. Nothing touches the record after the
    /// exit is visible, so a `wait` that returned sees the final word.
    pub(crate) fn finish(&self, id: &str, code: Option<i32>) -> Result<bool> {
        let c = match self.container(id) {
            Ok(c) => c,
            // Removed meanwhile (`rm -f`): nothing to record.
            Err(Error::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        let meta = Meta::of(&c)?;
        let record = self.record(&c.id);
        let (restarting, restart_due);
        {
            let lock = record.lock()?;
            let mut state = record.load()?;
            restarting = std::mem::take(&mut state.restarting);
            // As in podman, an exit `stop` or `kill` caused is never restarted.
            restart_due = !restarting
                && !state.stopped_by_user
                && meta
                    .options
                    .life
                    .restart
                    .restarts_after(code, state.restart_count);
            if restart_due {
                state.restart_count += 1;
            }
            state.status = Status::Exited;
            state.paused = false;
            state.exit_code = code;
            state.finished_at = Some(now_rfc3339());
            state.process = None;
            state.monitor = None;
            let released = self.release(&c.id, &mut state);
            // Storage first: whoever sees the exit in the runroot (`wait`)
            // must find it kept for a reboot too.
            let remembered = self.remember_run(&c, &state);
            record.save(&lock, &state)?;
            released?;
            remembered?;
        }
        self.event(&c, "died", code);
        let removing = meta.options.remove && !restarting && !restart_due;
        // podman's: the run's resources are released (a `--rm` one is
        // removed instead).
        if !removing {
            self.event(&c, "cleanup", None);
        }
        if removing {
            if let Some(code) = code {
                ExitCodes::new(&self.opts.runroot).keep(&c.id, code);
            }
            self.remove_with_volumes(&c.id, true)?;
        }
        Ok(restart_due)
    }

    /// Keep a failure of the run that nobody is there to hear (the
    /// monitor's) in the record, where `inspect` shows it. Best effort: a
    /// container removed meanwhile has nowhere to keep it.
    pub(crate) fn note_error(&self, id: &str, message: &str) {
        let record = self.record(id);
        if !record.path().exists() {
            return;
        }
        if let Ok(lock) = record.lock() {
            if let Ok(mut state) = record.load() {
                state.error = Some(message.to_string());
                let _ = record.save(&lock, &state);
            }
        }
    }

    /// Start a container in the foreground: its output is copied to ours
    /// and into its log (or, made with `-t`, a pty relayed to our
    /// terminal and logged), stdin is ours with `-i`, signals sent here are
    /// passed on, and its exit code is returned.
    pub fn start_foreground(&self, key: &str) -> Result<i32> {
        match self.run_attached(key, &AttachOptions::default())? {
            AttachEnd::Exited(code) => Ok(code),
            AttachEnd::Detached => Ok(0),
        }
    }

    /// Start container `key` attached to us as `opts` says: a terminal or
    /// interactive (`-i`) container under its monitor, attached from the
    /// first byte (the detach keys leave a terminal one running; our
    /// stdin's end closes an interactive one's stdin); otherwise in the
    /// foreground as [`Engine::start_foreground`] describes, with only the
    /// streams `opts` names copied to ours and signals passed on if it
    /// says so.
    pub fn run_attached(&self, key: &str, opts: &AttachOptions) -> Result<AttachEnd> {
        let c = self.container(key)?;
        let options = Meta::of(&c)?.options;
        if (options.tty || options.interactive) && !self.opts.monitor.is_empty() {
            return self.start_attached(&c.id, opts);
        }
        self.run_here(&c.id, opts).map(AttachEnd::Exited)
    }

    /// The foreground run: we are the container's waiter.
    fn run_here(&self, key: &str, opts: &AttachOptions) -> Result<i32> {
        // The relay handles EPIPE on our stdout itself: a closed reader
        // must not kill us between the start and the exit's record.
        // SAFETY: SIG_IGN is a valid disposition for SIGPIPE.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        nix::sys::prctl::set_child_subreaper(true).map_err(sys("PR_SET_CHILD_SUBREAPER"))?;
        let c = self.container(key)?;
        self.pod_ready_to_start(&c)?;
        self.ensure_bundle(&c)?;
        self.start_dependencies(&c)?;
        let options = Meta::of(&c)?.options;
        let log = crate::output_watch::open_log(self, &c.id)?;
        let wiring = if options.tty {
            Wiring::Terminal
        } else {
            Wiring::Pipes {
                input: match options.interactive && opts.stdin {
                    true => Input::Ours,
                    false => Input::Null,
                },
            }
        };
        // Before the start: an exit right away must still wake the watch.
        let wake = crate::output_watch::sigchld_wake()?;
        // Installed before the start: a signal in that window is passed on,
        // not our death.
        let notifier = crate::sd_notify::Notifier::open(&options.life, self.record(&c.id).path())?;
        set_forwarding(opts.sig_proxy);
        let launched = match self.launch(&c.id, wiring) {
            Ok(l) => l,
            Err(e) => {
                stop_forwarding();
                return Err(e);
            }
        };
        forward_to(launched.pid);
        if let Some(n) = &notifier {
            n.started();
        }
        self.event(&c, "attach", None);
        let (code, relayed, log_failure) = match launched.output {
            Output::Pipes([out, err]) => {
                let streams = [Some(out), Some(err)];
                let echo = [opts.stdout, opts.stderr];
                let (code, failure) =
                    crate::output_watch::watch(launched.pid, streams, wake, log, echo, None);
                (code, Ok(()), failure)
            }
            Output::Terminal(master) => {
                let mut log = log;
                let mut pending = StreamBuffer::default();
                let mut failure = None;
                let mut to_log = |data: &[u8]| {
                    if let Err(e) = pending.feed(&mut log, "stdout", data) {
                        failure.get_or_insert(e);
                    }
                };
                let relayed = crate::terminal::relay_container(
                    &master,
                    launched.pid,
                    options.interactive && opts.stdin,
                    &mut to_log,
                );
                if let Err(e) = pending.finish(&mut log, "stdout") {
                    failure.get_or_insert(e);
                }
                (wait_for(launched.pid), relayed, failure)
            }
        };
        stop_forwarding();
        if let Some(e) = log_failure {
            self.note_error(&c.id, &format!("writing the log: {e}"));
        }
        if self.finish(&c.id, code)? {
            self.restart_detached(&c.id);
        }
        relayed?;
        Ok(code.unwrap_or(-1))
    }

    /// Start a container detached, under its own monitor process; returns
    /// once the container's process runs (or with the monitor's error).
    pub fn start_detached(&self, id: &str) -> Result<()> {
        self.start_monitored(id, None)
    }

    /// As [`Engine::start_detached`]; `client` (one end of an attach
    /// socket pair) becomes the monitor's first attached client.
    pub(crate) fn start_monitored(&self, id: &str, client: Option<OwnedFd>) -> Result<()> {
        // A quick answer; the monitor checks again under the record lock.
        let (c, _) = self.in_state(id, false, "it is already running")?;
        self.pod_ready_to_start(&c)?;
        self.ensure_bundle(&c)?;
        self.start_dependencies(&c)?;
        let Some((prog, args)) = self.opts.monitor.split_first() else {
            return Err(Error::Monitor {
                id: c.id,
                message: "no monitor program configured".into(),
            });
        };
        let mut cmd = std::process::Command::new(prog);
        if let Some(fd) = client.as_ref().map(|c| c.as_raw_fd()) {
            cmd.env(crate::attach_socket::CLIENT_ENV, fd.to_string());
            // SAFETY: the hook only calls fcntl(2), which is async-signal-safe.
            unsafe {
                cmd.pre_exec(move || {
                    libc::fcntl(fd, libc::F_SETFD, 0);
                    Ok(())
                });
            }
        }
        let out = crate::listen_fds::to_monitor(&mut cmd)
            // It notifies from the socket recorded at create (sd_notify).
            .env_remove("NOTIFY_SOCKET")
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

    /// Send `signal` to the container's process. SIGKILL returns once the
    /// exit is recorded, as podman's does: a `rm` right after must not find
    /// the container still running.
    pub fn kill(&self, key: &str, signal: &str) -> Result<()> {
        let (c, state) = self.in_state(key, true, "only a running container can be signalled")?;
        self.user_ends(&c.id, is_sigkill(signal))?;
        self.runtime.kill(&c.id, signal, false)?;
        self.event(&c, "kill", None);
        if is_sigkill(signal) {
            let alive = || state.process.is_some_and(|p| p.maybe_alive());
            wait_until(Duration::from_secs(10), || !alive());
            self.await_recorded(&c.id, &state)?;
        }
        Ok(())
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
        // Thawed first, so the stop signal is acted on (podman 4.3 refuses).
        self.user_ends(&c.id, true)?;
        let alive = || state.process.is_some_and(|p| p.maybe_alive());
        if timeout > 0 {
            let sig = Meta::of(&c)?.stop_signal;
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
        self.await_recorded(&c.id, &state)?;
        self.event(&c, "stop", None);
        Ok(())
    }

    /// After the container's process ended: give its waiter the chance to
    /// record the exit code (or, with the waiter gone, settle it here).
    fn await_recorded(&self, id: &str, state: &State) -> Result<()> {
        let record = self.record(id);
        wait_until(Duration::from_secs(5), || {
            record
                .load()
                .map(|s| s.status != Status::Running)
                .unwrap_or(true)
                || !state.monitor.is_some_and(|m| m.maybe_alive())
        });
        match self.refresh(id) {
            Ok(_) | Err(Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Wait until the container is not running; its exit code.
    pub fn wait(&self, key: &str) -> Result<Option<i32>> {
        let c = self.container(key)?;
        loop {
            let state = self.refresh(&c.id)?;
            if state.status != Status::Running {
                // Gone with `--rm` meanwhile: its waiter kept the code.
                let kept = || ExitCodes::new(&self.opts.runroot).get(&c.id);
                return Ok(state.exit_code.or_else(kept));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Whether `signal` (a name with or without SIG, or a number) is SIGKILL.
fn is_sigkill(signal: &str) -> bool {
    let s = signal.trim().to_ascii_uppercase();
    matches!(s.trim_start_matches("SIG"), "KILL" | "9")
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
