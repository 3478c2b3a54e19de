//! The per-container monitor of a detached container, conmon's job in a
//! few hundred kilobytes: it leaves the CLI (double fork, own session),
//! becomes a child subreaper, starts the container with stdout and stderr
//! on pipes, tells the CLI "ok" (or the error), writes the log in the CRI
//! format, reaps, records the exit code and time, releases the run, and
//! exits.
//!
//! The CLI runs it as `berth … monitor ID` with stdout on a pipe: the
//! first process forks and exits at once, the grandchild keeps that pipe
//! until the container started, then points stdout at /dev/null.
//!
//! A container with a terminal (`-t`) gets its pty from the runtime
//! instead of pipes: the master comes over `--console-socket` (see
//! [`crate::console_socket`]), its output is logged as stdout, and the
//! monitor holds it open for the container's life — a `-dit sh` waits for
//! input rather than reading EOF — until the pty hangs up (EIO) with the
//! container's end. Socket-activation and `--preserve-fds` descriptors the
//! CLI passed on go to the runtime and are closed here once it started.

use crate::console_socket::ConsoleSocket;
use crate::engine::Engine;
use crate::error::{sys, IoContext, Result};
use crate::lifecycle::exit_code;
use crate::logs::StreamBuffer;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};

static WAKE_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_sigchld(_: libc::c_int) {
    let fd = WAKE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking
        // and a full pipe already means "wake up".
        unsafe { libc::write(fd, b"x".as_ptr().cast(), 1) };
    }
}

/// Leave the caller: fork, let the parent exit at once, start a new
/// session. Call before anything starts threads.
pub fn detach() -> Result<()> {
    // SAFETY: called first thing in a fresh single-threaded process.
    match unsafe { nix::unistd::fork() }.map_err(sys("fork"))? {
        // SAFETY: _exit skips destructors that belong to the child now.
        ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        ForkResult::Child => {}
    }
    nix::unistd::setsid().map_err(sys("setsid"))?;
    Ok(())
}

fn tell_cli(msg: &str) {
    let mut out = std::io::stdout();
    let _ = out.write_all(msg.as_bytes());
    let _ = out.flush();
    if let Ok(null) = std::fs::File::options().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2(null.as_raw_fd(), 1);
        let _ = nix::unistd::dup2(null.as_raw_fd(), 2);
    }
}

/// Run the monitor of container `id` (after [`detach`]). Returns the exit
/// code for the monitor process.
pub fn run(engine: &Engine, id: &str) -> i32 {
    match start(engine, id) {
        Ok((pid, streams, wake)) => {
            // The log exists before the CLI hears "ok": a `logs -f` right
            // after `run -d` must not find it missing and stop.
            let log = open_log(engine, id);
            tell_cli("ok\n");
            let code = watch(pid, streams, wake, log);
            match engine.finish(id, code) {
                Ok(()) => 0,
                Err(e) => {
                    tracing::error!("monitor of {id}: {e}");
                    1
                }
            }
        }
        Err(e) => {
            tell_cli(&format!("error: {e}\n"));
            1
        }
    }
}

/// Start the container; its init's pid, its output streams, and the pipe
/// SIGCHLD wakes us with.
fn start(engine: &Engine, id: &str) -> Result<(i32, [Option<OwnedFd>; 2], OwnedFd)> {
    crate::listen_fds::adopt_from_cli();
    nix::sys::prctl::set_child_subreaper(true).map_err(sys("PR_SET_CHILD_SUBREAPER"))?;
    let (wake_r, wake_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
            .map_err(sys("pipe"))?;
    WAKE_FD.store(wake_w.as_raw_fd(), Ordering::Relaxed);
    std::mem::forget(wake_w);
    let action = SigAction::new(
        SigHandler::Handler(on_sigchld),
        SaFlags::SA_RESTART | SaFlags::SA_NOCLDSTOP,
        SigSet::empty(),
    );
    // SAFETY: the handler only writes to a non-blocking pipe.
    unsafe { nix::sys::signal::sigaction(Signal::SIGCHLD, &action) }.map_err(sys("sigaction"))?;
    let tty = Engine::meta(&engine.container(id)?).options.tty;
    let started = if tty {
        start_with_terminal(engine, id)
    } else {
        start_with_pipes(engine, id)
    };
    // The container has its own copies now (or failed to start).
    crate::listen_fds::close_passed();
    started.map(|(pid, streams)| (pid, streams, wake_r))
}

fn start_with_pipes(engine: &Engine, id: &str) -> Result<(i32, [Option<OwnedFd>; 2])> {
    let (out_r, out_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
    let (err_r, err_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
    let stdio = [Stdio::null(), Stdio::from(out_w), Stdio::from(err_w)];
    let pid = engine.launch(id, stdio, None)?;
    Ok((pid, [Some(out_r), Some(err_r)]))
}

/// Start the container with a pty; its master. If the master does not
/// arrive the container is killed and its end recorded.
fn start_with_terminal(engine: &Engine, id: &str) -> Result<(i32, [Option<OwnedFd>; 2])> {
    let record = engine.record(id);
    let console = ConsoleSocket::bind(record.path(), "console.sock")?;
    let stdio = [Stdio::null(), Stdio::null(), Stdio::null()];
    let pid = engine.launch(id, stdio, Some(console.path()))?;
    // The init sent it before `create` returned: it waits in the socket.
    match console.receive(None, std::time::Duration::from_secs(10)) {
        Ok(master) => Ok((pid, [Some(master), None])),
        Err(e) => {
            let _ = engine.runtime.kill(id, "SIGKILL", true);
            let _ = waitpid(Pid::from_raw(pid), None);
            let _ = engine.finish(id, None);
            Err(e)
        }
    }
}

/// Copy the container's output (pipes, or a pty master as stdout) into its
/// log until it exited and they are drained; reap every child meanwhile.
/// The container's exit code.
fn open_log(engine: &Engine, id: &str) -> Option<std::fs::File> {
    let log_path = engine.record(id).path().join("ctr.log");
    match std::fs::File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .ctx("open", &log_path)
    {
        Ok(f) => Some(f),
        Err(e) => {
            tracing::error!("{e}");
            None
        }
    }
}

fn watch(
    pid: i32,
    streams: [Option<OwnedFd>; 2],
    wake: OwnedFd,
    mut log: Option<std::fs::File>,
) -> Option<i32> {
    let [out, err] = streams;
    let mut streams = [
        (out, "stdout", StreamBuffer::default()),
        (err, "stderr", StreamBuffer::default()),
    ];
    let mut code = None;
    let mut exited = false;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        // Reap whatever ended (the init, or orphans of the container).
        loop {
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::StillAlive) | Err(_) => break,
                Ok(st) => {
                    if st.pid() == Some(Pid::from_raw(pid)) {
                        if let Some(c) = exit_code(st) {
                            code = Some(c);
                            exited = true;
                        }
                    }
                }
            }
        }
        let open = streams.iter().any(|s| s.0.is_some());
        if exited && !open {
            break;
        }
        let mut fds = Vec::new();
        for s in &streams {
            if let Some(fd) = &s.0 {
                fds.push(PollFd::new(fd.as_fd(), PollFlags::POLLIN));
            }
        }
        fds.push(PollFd::new(wake.as_fd(), PollFlags::POLLIN));
        // Once the init is gone its pid namespace is too; whatever still
        // holds a pipe gets a moment, not forever.
        let timeout = if exited {
            PollTimeout::from(1000u16)
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
        if ready == 0 && exited {
            break;
        }
        let mut i = 0;
        for s in streams.iter_mut() {
            let Some(fd) = &s.0 else { continue };
            if revents[i] {
                match nix::unistd::read(fd.as_raw_fd(), &mut buf) {
                    Ok(0) | Err(_) => {
                        if let Some(l) = log.as_mut() {
                            let _ = s.2.finish(l, s.1);
                        }
                        s.0 = None;
                    }
                    Ok(n) => {
                        if let Some(l) = log.as_mut() {
                            let _ = s.2.feed(l, s.1, &buf[..n]);
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
    if let Some(l) = log.as_mut() {
        for s in streams.iter_mut() {
            let _ = s.2.finish(l, s.1);
        }
    }
    code
}
