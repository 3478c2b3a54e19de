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

use crate::engine::Engine;
use crate::error::{sys, IoContext, Result};
use crate::launcher::{Output, Wiring};
use crate::lifecycle::exit_code;
use crate::logs::StreamBuffer;
use crate::meta::Meta;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::{ForkResult, Pid};
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
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
    // The log exists before the CLI hears "ok" (a `logs -f` right after
    // `run -d` must find it), and a log that can't be opened means the
    // container's output would be lost: then it does not start.
    let log = match open_log(engine, id) {
        Ok(l) => l,
        Err(e) => {
            tell_cli(&format!("error: {e}\n"));
            return 1;
        }
    };
    match start(engine, id) {
        Ok((pid, streams, wake)) => {
            tell_cli("ok\n");
            let (code, log_failure) = watch(pid, streams, wake, log);
            if let Some(e) = log_failure {
                engine.note_error(id, &format!("writing the log: {e}"));
            }
            match engine.finish(id, code) {
                Ok(()) => 0,
                Err(e) => {
                    engine.note_error(id, &format!("recording the exit: {e}"));
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
    let tty = Meta::of(&engine.container(id)?)?.options.tty;
    let wiring = if tty { Wiring::Terminal } else { Wiring::Pipes };
    let started = engine.launch(id, wiring);
    // The container has its own copies now (or failed to start).
    crate::listen_fds::close_passed();
    let launched = started?;
    let streams = match launched.output {
        Output::Pipes([out, err]) => [Some(out), Some(err)],
        // A pty's output is all stdout.
        Output::Terminal(master) => [Some(master), None],
        Output::Inherited => [None, None],
    };
    Ok((launched.pid, streams, wake_r))
}

fn open_log(engine: &Engine, id: &str) -> Result<std::fs::File> {
    let record = engine.record(id);
    record.ensure()?;
    let log_path = record.path().join("ctr.log");
    std::fs::File::options()
        .create(true)
        .append(true)
        .open(&log_path)
        .ctx("open the log", &log_path)
}

/// Copy the container's output (pipes, or a pty master as stdout) into its
/// log until it exited and they are drained; reap every child meanwhile.
/// The container's exit code.
fn watch(
    pid: i32,
    streams: [Option<OwnedFd>; 2],
    wake: OwnedFd,
    mut log: std::fs::File,
) -> (Option<i32>, Option<std::io::Error>) {
    let mut failure = None;
    let mut note = |r: std::io::Result<()>| {
        if let Err(e) = r {
            failure.get_or_insert(e);
        }
    };
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
                        note(s.2.finish(&mut log, s.1));
                        s.0 = None;
                    }
                    Ok(n) => note(s.2.feed(&mut log, s.1, &buf[..n])),
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
        note(s.2.finish(&mut log, s.1));
    }
    (code, failure)
}
