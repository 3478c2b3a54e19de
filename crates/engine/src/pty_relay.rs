//! Our terminal ↔ a container's pty master, for `exec -t`: our terminal in
//! raw mode (restored on every way out), its size passed on at the start
//! and on each SIGWINCH, stdin copied in and the output copied out until
//! the process has ended and its output is drained.

use crate::detach_keys::DetachMatcher;
use crate::error::{sys, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::termios::{self, SetArg, Termios};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicI32, Ordering};

/// Our terminal's size: stdout's, else stdin's.
pub(crate) fn window_size() -> Option<libc::winsize> {
    [1, 0].into_iter().find_map(|fd| {
        // SAFETY: winsize is plain integers; all-zero is a valid value.
        let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
        // SAFETY: TIOCGWINSZ writes a winsize we own.
        let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0;
        (ok && ws.ws_row > 0).then_some(ws)
    })
}

/// Set the window size of the terminal whose master is `master`; the
/// kernel sends the process group SIGWINCH.
pub fn resize_terminal(master: BorrowedFd<'_>, width: u16, height: u16) {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads a winsize we own from a descriptor we borrow.
    unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
}

fn pass_size(master: BorrowedFd<'_>) {
    if let Some(ws) = window_size() {
        resize_terminal(master, ws.ws_col, ws.ws_row);
    }
}

/// Stdin in raw mode until dropped.
pub(crate) struct RawMode {
    saved: Termios,
}

impl RawMode {
    /// Raw mode for stdin if it is a terminal. TCSANOW, not TCSAFLUSH:
    /// what was typed ahead is for the container.
    pub(crate) fn enter() -> Option<RawMode> {
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
        let mut raw = saved.clone();
        termios::cfmakeraw(&mut raw);
        termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.saved);
    }
}

/// Where the relay hands each chunk of output besides our stdout.
pub(crate) type OutputSink<'a> = &'a mut dyn FnMut(&[u8]);

static WINCH_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_winch(_: libc::c_int) {
    let fd = WINCH_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the pipe is non-blocking.
        unsafe { libc::write(fd, b"w".as_ptr().cast(), 1) };
    }
}

pub(crate) fn write_all(fd: i32, mut data: &[u8]) -> bool {
    while !data.is_empty() {
        // SAFETY: fd is open for the whole relay; the buffer is ours.
        match nix::unistd::write(unsafe { BorrowedFd::borrow_raw(fd) }, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(nix::errno::Errno::EAGAIN) => {
                let mut p = [PollFd::new(
                    // SAFETY: as above.
                    unsafe { BorrowedFd::borrow_raw(fd) },
                    PollFlags::POLLOUT,
                )];
                let _ = poll(&mut p, PollTimeout::NONE);
            }
            Err(_) => return false,
        }
    }
    true
}

/// A pipe that becomes readable on each SIGWINCH, for as long as it
/// lives (the handler that was there before is put back when dropped).
pub(crate) struct WinchPipe {
    read: OwnedFd,
    _write: OwnedFd,
    old: SigAction,
}

impl WinchPipe {
    pub(crate) fn install() -> Result<WinchPipe> {
        let (read, write) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK)
                .map_err(sys("pipe"))?;
        WINCH_FD.store(write.as_raw_fd(), Ordering::Relaxed);
        let action = SigAction::new(
            SigHandler::Handler(on_winch),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handler only writes to a non-blocking pipe.
        let old = unsafe { nix::sys::signal::sigaction(Signal::SIGWINCH, &action) }
            .map_err(sys("sigaction"))?;
        Ok(WinchPipe {
            read,
            _write: write,
            old,
        })
    }

    /// The end to poll.
    pub(crate) fn fd(&self) -> BorrowedFd<'_> {
        self.read.as_fd()
    }

    /// Empty the pipe after it was readable.
    pub(crate) fn drain(&self) {
        let mut sink = [0u8; 64];
        let _ = nix::unistd::read(self.read.as_raw_fd(), &mut sink);
    }
}

impl Drop for WinchPipe {
    fn drop(&mut self) {
        // SAFETY: puts back the handler that was there before.
        let _ = unsafe { nix::sys::signal::sigaction(Signal::SIGWINCH, &self.old) };
        WINCH_FD.store(-1, Ordering::Relaxed);
    }
}

/// Relay between our stdio and `master` until `done` (a pidfd of the
/// process whose end ends the session) is readable and the master has
/// nothing more to say. With `input`, our stdin goes to the master.
/// SIGWINCH is taken over for the relay's duration.
/// With `log`, every chunk of the output is also handed to it. With
/// `keys`, typing the detach sequence ends the relay early: true.
pub(crate) fn relay(
    master: &OwnedFd,
    input: bool,
    done: BorrowedFd<'_>,
    log: Option<OutputSink<'_>>,
    keys: Option<&mut DetachMatcher>,
) -> Result<bool> {
    let winch = WinchPipe::install()?;
    // A resize between reading the size for the process and now.
    pass_size(master.as_fd());
    copy_loop(master, input, done, &winch, log, keys)
}

fn copy_loop(
    master: &OwnedFd,
    input: bool,
    done: BorrowedFd<'_>,
    winch: &WinchPipe,
    mut log: Option<OutputSink<'_>>,
    mut keys: Option<&mut DetachMatcher>,
) -> Result<bool> {
    let stdin = std::io::stdin();
    let mut reading_stdin = input;
    let mut ended = false;
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        let mut fds = vec![
            PollFd::new(master.as_fd(), PollFlags::POLLIN),
            PollFd::new(winch.fd(), PollFlags::POLLIN),
            PollFd::new(done, PollFlags::POLLIN),
        ];
        if reading_stdin {
            fds.push(PollFd::new(stdin.as_fd(), PollFlags::POLLIN));
        }
        // Once the process ended its output is drained; whatever else
        // still holds the pty (a background child) gets a moment, not
        // forever.
        let timeout = if ended {
            PollTimeout::from(200u16)
        } else {
            PollTimeout::NONE
        };
        let n = match poll(&mut fds, timeout) {
            Ok(n) => n,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(sys("poll")(e)),
        };
        if n == 0 && ended {
            return Ok(false);
        }
        let ready: Vec<bool> = fds
            .iter()
            .map(|f| f.revents().is_some_and(|r| !r.is_empty()))
            .collect();
        drop(fds);
        if ready[0] {
            match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                Ok(0) | Err(nix::errno::Errno::EIO) => return Ok(false),
                Ok(n) => {
                    if let Some(log) = log.as_mut() {
                        log(&buf[..n]);
                    }
                    if !write_all(1, &buf[..n]) {
                        return Ok(false);
                    }
                }
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                Err(e) => return Err(sys("read pty master")(e)),
            }
        }
        if ready[1] {
            winch.drain();
            pass_size(master.as_fd());
        }
        if ready[2] {
            ended = true;
        }
        if ready.get(3).copied().unwrap_or(false) {
            match nix::unistd::read(0, &mut buf) {
                Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                Ok(0) | Err(_) => reading_stdin = false,
                Ok(n) => match keys.as_mut() {
                    Some(keys) => {
                        let (pass, detached) = keys.feed(&buf[..n]);
                        write_all(master.as_raw_fd(), &pass);
                        if detached {
                            return Ok(true);
                        }
                    }
                    None => {
                        write_all(master.as_raw_fd(), &buf[..n]);
                    }
                },
            }
        }
    }
}

/// A pidfd for `pid` (readable once it exited).
pub(crate) fn pidfd(pid: i32) -> Result<OwnedFd> {
    // SAFETY: pidfd_open returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        return Err(sys("pidfd_open")(nix::errno::Errno::last()));
    }
    // SAFETY: a new descriptor that we now own.
    Ok(unsafe { std::os::fd::FromRawFd::from_raw_fd(fd as i32) })
}

/// Hold a detached session's pty master in a process of its own, reading
/// (and dropping) its output until it hangs up, so the process on the
/// other end keeps its terminal after we are gone (conmon's job for a
/// detached `exec -it`). Returns once that process left our session: the
/// hangup our terminal's end sends to our group must not reach it (nor
/// be passed on to the container by an inherited forwarding handler).
pub(crate) fn keep_in_background(master: OwnedFd) -> Result<()> {
    let (ready_r, ready_w) =
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
    // SAFETY: the child only calls async-signal-safe functions
    // (sigaction, setsid, close, poll, read, _exit).
    match unsafe { nix::unistd::fork() }.map_err(sys("fork"))? {
        nix::unistd::ForkResult::Parent { .. } => {
            drop(ready_w);
            // End of file once the child is in its own session.
            let mut sink = [0u8; 1];
            let _ = nix::unistd::read(ready_r.as_raw_fd(), &mut sink);
            Ok(())
        }
        nix::unistd::ForkResult::Child => {
            // SAFETY: plain dispositions, set before anything can arrive.
            unsafe {
                for sig in [libc::SIGHUP, libc::SIGINT, libc::SIGTERM, libc::SIGQUIT] {
                    libc::signal(sig, libc::SIG_IGN);
                }
            }
            let _ = nix::unistd::setsid();
            drop(ready_w);
            drop(ready_r);
            let mut buf = [0u8; 4096];
            loop {
                // The master may be non-blocking: wait for it.
                let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
                let _ = poll(&mut fds, PollTimeout::NONE);
                match nix::unistd::read(master.as_raw_fd(), &mut buf) {
                    Ok(0) => break,
                    Ok(_) | Err(nix::errno::Errno::EINTR | nix::errno::Errno::EAGAIN) => {}
                    Err(_) => break,
                }
            }
            // SAFETY: leave without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
    }
}
