//! Terminals. A foreground container with one (`run -t`, `start -a` of a
//! container created with `-t`): `runtime run` proxies the pty between
//! our terminal and the container's and passes resizes on, so the engine
//! lets it be the waiter and records what it reports. `exec -t`: the
//! runtime sends the pty master over a console socket and berth relays it
//! ([`crate::pty_relay`]). A detached one: the monitor holds the master.

use crate::console_socket::ConsoleSocket;
use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::lifecycle::{forward_to, set_forwarding, FORWARD_TO};
use crate::record::{now_rfc3339, ProcessRef, Status};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

impl Engine {
    /// Run container `c` in the foreground through `runtime run`; its
    /// exit code.
    pub(crate) fn run_with_terminal(&self, c: &berth_storage::Container) -> Result<i32> {
        self.in_state(&c.id, false, "it is already running")?;
        self.ensure_bundle(c)?;
        let record = self.record(&c.id);
        let lock = record.lock()?;
        let mut state = record.load()?;
        self.release(&c.id, &mut state)?;
        self.store.mount_container(&c.id)?;
        state.mounted = true;
        record.save(&lock, &state)?;
        if let Err(e) = self.network_up(&c.id, &Engine::meta(c).options, &mut state) {
            let _ = self.release(&c.id, &mut state);
            let _ = record.save(&lock, &state);
            return Err(e);
        }
        let pid_file = record.path().join("pid");
        let _ = std::fs::remove_file(&pid_file);
        set_forwarding(true);
        let spawned = self.runtime.run_command(&c.id, record.path()).spawn();
        let mut child = match spawned.ctx("run", &self.runtime.path) {
            Ok(ch) => ch,
            Err(e) => {
                set_forwarding(false);
                let _ = self.release(&c.id, &mut state);
                let _ = record.save(&lock, &state);
                return Err(e);
            }
        };
        // The pid file appears once the container is created.
        let end = Instant::now() + Duration::from_secs(30);
        let mut pid = None;
        while pid.is_none() && Instant::now() < end {
            pid = std::fs::read_to_string(&pid_file)
                .ok()
                .and_then(|t| t.trim().parse::<i32>().ok());
            if pid.is_none() {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        state.status = Status::Running;
        state.process = pid.and_then(ProcessRef::of);
        state.monitor = ProcessRef::current();
        state.started_at = Some(now_rfc3339());
        state.finished_at = None;
        state.exit_code = None;
        record.save(&lock, &state)?;
        drop(lock);
        forward_to(child.id() as i32);
        let status = child.wait();
        set_forwarding(false);
        FORWARD_TO.store(0, Ordering::Relaxed);
        let code = status.ok().and_then(|s| {
            use std::os::unix::process::ExitStatusExt;
            s.code().or_else(|| s.signal().map(|n| 128 + n))
        });
        if pid.is_none() {
            let log =
                std::fs::read_to_string(record.path().join("runtime.log")).unwrap_or_default();
            let message = log
                .lines()
                .last()
                .unwrap_or("failed with no message")
                .to_string();
            let _ = self.finish(&c.id, None);
            return Err(Error::Runtime {
                runtime: self.runtime.path.clone(),
                verb: "run",
                id: c.id.clone(),
                message,
            });
        }
        self.finish(&c.id, code)?;
        Ok(code.unwrap_or(-1))
    }
}

/// `exec -t`: receive the pty master from the running `runtime exec`
/// (`child`), put our terminal in raw mode if `input`, and relay until the
/// process ended. A runtime that ends without sending a master (it failed,
/// and said why on our stderr) is not an error here: its exit code is.
pub(crate) fn relay_exec(
    console: &ConsoleSocket,
    child: &std::process::Child,
    input: bool,
) -> Result<()> {
    use std::os::fd::AsFd as _;
    let done = crate::pty_relay::pidfd(child.id() as i32)?;
    let master = match console.receive(Some(done.as_fd()), Duration::from_secs(30)) {
        Ok(m) => m,
        Err(e) => {
            let ended = nix::poll::poll(
                &mut [nix::poll::PollFd::new(
                    done.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )],
                nix::poll::PollTimeout::ZERO,
            );
            return if ended == Ok(1) { Ok(()) } else { Err(e) };
        }
    };
    let _raw = if input {
        crate::pty_relay::RawMode::enter()
    } else {
        None
    };
    crate::pty_relay::relay(&master, input, done.as_fd())
}
