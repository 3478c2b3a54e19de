//! Whoever waits for a container (its monitor when detached, `berth run`
//! in the foreground) copies the container's output into its log in the
//! CRI format until the container exited and the streams are drained,
//! reaping every child meanwhile: podman logs a foreground run too. In the
//! foreground each chunk is also echoed to our own stdout or stderr; when
//! a reader of ours goes away (`berth run … | head -1`) that stream's pipe
//! is closed, so the container gets the SIGPIPE it would have had writing
//! there itself.

use crate::attach_hub::AttachHub;
use crate::engine::Engine;
use crate::error::{sys, IoContext, Result};
use crate::health_timer::HealthTimer;
use crate::lifecycle::exit_code;
use crate::logs::StreamBuffer;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

static WAKE_FD: AtomicI32 = AtomicI32::new(-1);
/// Set by SIGUSR1: reopen the log (it was rotated by rename).
static REOPEN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigchld(_: libc::c_int) {
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking
        // and a full pipe already means "wake up".
        unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
    }
}

extern "C" fn on_sigusr1(_: libc::c_int) {
    REOPEN.store(true, Ordering::Relaxed);
    on_sigchld(0);
}

/// The signal that asks a container's waiter to reopen its log
/// ([`crate::Engine::reopen_log`]).
pub(crate) const REOPEN_SIGNAL: Signal = Signal::SIGUSR1;

/// A pipe that SIGCHLD writes to, so the watch loop's poll wakes when a
/// child ends; SIGUSR1 wakes it too, to reopen the log (its default
/// action would end the waiter). Install before the container starts.
pub(crate) fn sigchld_wake() -> Result<OwnedFd> {
    let (wake_r, wake_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
            .map_err(sys("pipe"))?;
    WAKE_FD.store(wake_w.as_raw_fd(), Ordering::Relaxed);
    // The handler may run at any time from now on: the write end lives as
    // long as the process.
    std::mem::forget(wake_w);
    let action = SigAction::new(
        SigHandler::Handler(on_sigchld),
        SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP,
        SigSet::empty(),
    );
    // SAFETY: the handler only writes to a non-blocking pipe.
    unsafe { nix::sys::signal::sigaction(Signal::SIGCHLD, &action) }.map_err(sys("sigaction"))?;
    let reopen = SigAction::new(
        SigHandler::Handler(on_sigusr1),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler stores to an atomic and writes to the pipe.
    unsafe { nix::sys::signal::sigaction(REOPEN_SIGNAL, &reopen) }.map_err(sys("sigaction"))?;
    Ok(wake_r)
}

/// The container's log, opened for appending (made if new).
pub(crate) fn open_log(engine: &Engine, id: &str) -> Result<std::fs::File> {
    let record = engine.record(id);
    record.ensure()?;
    let log_path = record.path().join("ctr.log");
    std::fs::File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .ctx("open the log", &log_path)
}

/// One of the container's output streams.
struct Stream {
    fd: Option<OwnedFd>,
    name: &'static str,
    /// Its packet kind on the attach socket.
    kind: u8,
    pending: StreamBuffer,
    /// Our own fd to copy it to as well (1 or 2), in the foreground.
    echo: Option<i32>,
}

/// What a monitor watches besides the container's streams: its attach
/// socket, the health check timer, and how to reopen the log when
/// SIGUSR1 asks (the file at the log path, made anew after a rotation).
pub(crate) struct MonitorSide<'a> {
    pub hub: &'a mut AttachHub,
    pub health: Option<&'a mut HealthTimer>,
    pub reopen_log: &'a dyn Fn() -> Result<std::fs::File>,
}

/// Copy the container's output (pipes, or a pty master as stdout) into
/// `log` until the init `pid` exited and the streams are drained; with
/// `echo` (per stream), to our stdout and stderr as well; with `side`
/// (a monitor), to the attach socket's clients too, with health checks
/// run when due. Reaps every child meanwhile.
/// The init's exit code, and the first failure to write the log.
pub(crate) fn watch(
    pid: i32,
    streams: [Option<OwnedFd>; 2],
    wake: OwnedFd,
    mut log: std::fs::File,
    echo: [bool; 2],
    mut side: Option<MonitorSide<'_>>,
) -> (Option<i32>, Option<std::io::Error>) {
    let mut failure = None;
    let mut note = |r: std::io::Result<()>| {
        if let Err(e) = r {
            failure.get_or_insert(e);
        }
    };
    let [out, err] = streams;
    let mut streams = [(out, "stdout", 1), (err, "stderr", 2)].map(|(fd, name, ours)| Stream {
        fd,
        name,
        kind: ours as u8,
        pending: StreamBuffer::default(),
        echo: echo[ours as usize - 1].then_some(ours),
    });
    let mut code = None;
    let mut exited = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Reap whatever ended (the init, or orphans of the container).
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(st) => {
                    if let Some(health) = side.as_mut().and_then(|s| s.health.as_mut()) {
                        health.reaped(st.pid());
                    }
                    if st.pid() == Some(Pid::from_raw(pid)) {
                        if let Some(c) = exit_code(st) {
                            code = Some(c);
                            exited = true;
                        }
                    }
                }
            }
        }
        let open = streams.iter().any(|s| s.fd.is_some());
        if exited && !open {
            break;
        }
        let mut fds = Vec::new();
        for s in &streams {
            if let Some(fd) = &s.fd {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
        }
        fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
        let hub_fds = side.as_ref().map(|s| s.hub.fds()).unwrap_or_default();
        let hub_at = fds.len();
        fds.extend(hub_fds.iter().map(|fd| PollFd::new(*fd, PollFlags::POLLIN)));
        // Once the init is gone its pid namespace is too; whatever still
        // holds a pipe gets a moment, not forever.
        let due = side
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.due());
        let timeout = if exited {
            PollTimeout::from(1000u16)
        } else if let Some(due) = due {
            let left = due.saturating_duration_since(std::time::Instant::now());
            PollTimeout::from(left.as_millis().clamp(1, 60_000) as u16)
        } else {
            PollTimeout::NONE
        };
        let ready = match poll(&mut fds, timeout) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(_) => 0,
        };
        let revents: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        drop(hub_fds);
        if ready == 0 && exited {
            break;
        }
        if let Some(side) = side.as_mut() {
            if REOPEN.swap(false, Ordering::Relaxed) {
                // Lines cut short stay buffered and go to the new file.
                match (side.reopen_log)() {
                    Ok(f) => log = f,
                    Err(e) => note(Err(std::io::Error::other(e.to_string()))),
                }
            }
            if !exited {
                if let Some(health) = side.health.as_mut() {
                    health.fire_if_due();
                }
            }
            side.hub.ready(&revents[hub_at..], &mut buf);
        }
        let mut i = 0;
        for s in streams.iter_mut() {
            let Some(fd) = &s.fd else { continue };
            if revents[i] {
                match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                    Ok(0) | Err(_) => {
                        note(s.pending.finish(&mut log, s.name));
                        s.fd = None;
                    }
                    Ok(n) => {
                        note(s.pending.feed(&mut log, s.name, &buf[..n]));
                        if let Some(side) = side.as_mut() {
                            side.hub.broadcast(s.kind, &buf[..n]);
                        }
                        if let Some(ours) = s.echo {
                            if !write_all(ours, &buf[..n]) {
                                note(s.pending.finish(&mut log, s.name));
                                s.fd = None;
                            }
                        }
                    }
                }
            }
            i += 1;
        }
        if revents[i] {
            let mut sink = [0u8; 64];
            let _ = nix::unistd::read(wake.as_raw_fd(), &mut sink);
        }
    }
    for s in streams.iter_mut() {
        note(s.pending.finish(&mut log, s.name));
    }
    (code, failure)
}

/// Write all of `data` to our fd `fd`; false once it can take no more
/// (EPIPE: its reader went away).
fn write_all(fd: i32, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: our stdout or stderr, open for the process's life.
        match nix::unistd::write(unsafe { BorrowedFd::borrow_raw(fd) }, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
    true
}
