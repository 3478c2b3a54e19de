//! A foreground `run` of a container with a terminal and no console socket:
//! the runtime receives the pty master itself and proxies it to its own
//! stdio, with the caller's terminal in raw mode, as `runc run` does.

use crate::error::{Error, Result};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::termios::{self, SetArg, Termios};
use std::io::{IoSliceMut, Read, Write};
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::thread::JoinHandle;

/// Receive the pty master the init sent over `sock`.
pub fn receive_master(sock: &UnixStream) -> Result<OwnedFd> {
    let mut buf = [0u8; 256];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| Error::sys("receive pty master", e))?;
    for cmsg in msg
        .cmsgs()
        .map_err(|e| Error::sys("receive pty master", e))?
    {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            if let Some(fd) = fds.first() {
                // SAFETY: SCM_RIGHTS gave us a new descriptor that we own.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(Error::Init(
        "no pty master received on the console socket".into(),
    ))
}

/// The running proxy between our stdio and the container's terminal.
pub struct TerminalProxy {
    master: std::fs::File,
    saved: Option<Termios>,
    output: Option<JoinHandle<()>>,
}

impl TerminalProxy {
    /// Start copying stdin → master and master → stdout.
    pub fn start(master: OwnedFd) -> Result<Self> {
        let master = std::fs::File::from(master);
        let stdin = std::io::stdin();
        let saved = termios::tcgetattr(stdin.as_fd()).ok();
        if let Some(orig) = &saved {
            let mut raw = orig.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw)
                .map_err(|e| Error::sys("set terminal raw", e))?;
        }
        let mut to_master = master
            .try_clone()
            .map_err(|e| Error::io("dup", "pty master", e))?;
        // The input side may block in read(stdin) forever; it is never joined.
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut input = std::io::stdin();
            while let Ok(n) = input.read(&mut buf) {
                if n == 0 || to_master.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        });
        let mut from_master = master
            .try_clone()
            .map_err(|e| Error::io("dup", "pty master", e))?;
        let output = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            let mut out = std::io::stdout();
            // EIO once the last slave descriptor closes: the container is done.
            while let Ok(n) = from_master.read(&mut buf) {
                if n == 0 || out.write_all(&buf[..n]).and_then(|()| out.flush()).is_err() {
                    break;
                }
            }
        });
        let proxy = TerminalProxy {
            master,
            saved,
            output: Some(output),
        };
        proxy.resize();
        Ok(proxy)
    }

    /// Copy our terminal's size to the container's (on start and SIGWINCH).
    pub fn resize(&self) {
        let mut ws: libc::winsize = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ/TIOCSWINSZ read or write a winsize we own.
        unsafe {
            if libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) == 0 {
                libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
            }
        }
    }

    /// Wait for the output to drain and restore the caller's terminal.
    pub fn finish(mut self) {
        if let Some(t) = self.output.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TerminalProxy {
    fn drop(&mut self) {
        if let Some(orig) = &self.saved {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, orig);
        }
    }
}
