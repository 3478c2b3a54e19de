//! The receiving end of the runtime's `--console-socket`: a listening unix
//! socket the runtime connects to, over which the container's init (or an
//! exec'd process) sends its pty master with `SCM_RIGHTS`, as runc does.
//!
//! The socket lives in the container's record directory. That path can
//! pass the 108 bytes a socket address holds (a deep runroot plus a 64-digit
//! id), so it is bound and named through a descriptor of the directory:
//! `/proc/<pid>/fd/<dir>/<name>`, the way conmon names its attach socket.

use crate::error::{sys, Error, IoContext, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use std::io::IoSliceMut;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A listening console socket; removed when dropped.
pub(crate) struct ConsoleSocket {
    listener: UnixListener,
    dir: OwnedFd,
    name: String,
    path: PathBuf,
}

impl ConsoleSocket {
    /// Listen on `dir/name` (a leftover socket of that name is replaced).
    pub(crate) fn bind(dir: &Path, name: &str) -> Result<ConsoleSocket> {
        let fd = nix::fcntl::open(
            dir,
            nix::fcntl::OFlag::O_PATH
                | nix::fcntl::OFlag::O_DIRECTORY
                | nix::fcntl::OFlag::O_CLOEXEC,
            nix::sys::stat::Mode::empty(),
        )
        .map_err(sys(format!("open {}", dir.display())))?;
        // SAFETY: open returned a new descriptor that we now own.
        let dir_fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let via = |who: String| PathBuf::from(format!("/proc/{who}/fd/{fd}/{name}"));
        let _ = std::fs::remove_file(via("self".into()));
        let listener = UnixListener::bind(via("self".into())).ctx("bind", dir.join(name))?;
        Ok(ConsoleSocket {
            listener,
            dir: dir_fd,
            name: name.into(),
            path: via(std::process::id().to_string()),
        })
    }

    /// The path to give the runtime (`--console-socket`).
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// The pty master, once the runtime has sent it. Gives up when
    /// `runtime` (a pidfd of the runtime process) shows it ended first, or
    /// after `limit`.
    pub(crate) fn receive(
        &self,
        runtime: Option<BorrowedFd<'_>>,
        limit: Duration,
    ) -> Result<OwnedFd> {
        let end = Instant::now() + limit;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let mut fds = vec![PollFd::new(self.listener.as_fd(), PollFlags::POLLIN)];
            if let Some(r) = runtime {
                fds.push(PollFd::new(r, PollFlags::POLLIN));
            }
            let ms = left.as_millis().min(u16::MAX as u128) as u16;
            match poll(&mut fds, PollTimeout::from(ms)) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(sys("poll console socket")(e)),
                Ok(_) => {}
            }
            let ready = |f: &PollFd| f.revents().is_some_and(|r| !r.is_empty());
            if ready(&fds[0]) {
                break;
            }
            if fds.get(1).is_some_and(ready) || left.is_zero() {
                return Err(Error::Sys {
                    op: "receive the pty master over the console socket".into(),
                    source: nix::errno::Errno::ETIMEDOUT,
                });
            }
        }
        let (conn, _) = self.listener.accept().ctx("accept", self.path())?;
        let mut name = [0u8; 256];
        let mut iov = [IoSliceMut::new(&mut name)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(sys("receive the pty master"))?;
        for c in msg.cmsgs().map_err(sys("read the console message"))? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                if let Some(&fd) = fds.first() {
                    // SAFETY: SCM_RIGHTS gave us a new descriptor; extra ones
                    // (none are sent) would leak, not alias.
                    return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
                }
            }
        }
        Err(Error::Sys {
            op: "the console socket message carried no descriptor".into(),
            source: nix::errno::Errno::EBADMSG,
        })
    }
}

impl Drop for ConsoleSocket {
    fn drop(&mut self) {
        let _ = nix::unistd::unlinkat(
            Some(self.dir.as_raw_fd()),
            self.name.as_str(),
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
    }
}
