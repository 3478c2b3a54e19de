//! The attach socket of a detached container, conmon's model: a
//! `SOCK_SEQPACKET` unix socket named `attach` in the container's record
//! directory, served by its monitor. Every packet starts with one byte
//! saying what it carries:
//!
//! ```text
//!  monitor → client   1 stdout bytes | 2 stderr bytes   (a pty's output is 1)
//!  client → monitor   0 stdin bytes  | 3 resize: rows u16 LE, cols u16 LE
//!                     4 end of input (empty)
//! ```
//!
//! The monitor copies the container's output to every client as it
//! copies it to the log (nothing older is replayed, as podman), and writes
//! any client's stdin packets to the container's stdin (a pipe it holds
//! for `-i`, or the pty master for `-t`). A client whose stdin ended says
//! so (4) and, without a terminal, the monitor closes the container's
//! stdin, as conmon does: a `cat` in it ends. When the container's run ends
//! the monitor closes its clients: end of file is "it exited".
//!
//! The path can pass the 108 bytes a socket address holds, so it is bound
//! and connected through a descriptor of the directory, as
//! [`crate::console_socket`] does.

use crate::error::{sys, Result};
use nix::sys::socket::{
    accept4, bind, connect, listen, recv, sendmsg, socket, socketpair, AddressFamily, Backlog,
    MsgFlags, SockFlag, SockType, UnixAddr,
};
use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// The socket's name in the record directory.
pub(crate) const NAME: &str = "attach";
/// Packet kinds.
pub(crate) const STDIN: u8 = 0;
/// The container's stdout (or its pty's output).
pub(crate) const STDOUT: u8 = 1;
/// The container's stderr.
pub(crate) const STDERR: u8 = 2;
/// A terminal size: rows then columns, u16 little-endian.
pub(crate) const RESIZE: u8 = 3;
/// The client's stdin ended: the container's stdin pipe is closed.
pub(crate) const STDIN_EOF: u8 = 4;
/// Room for one packet: the output watch reads at most 64 KiB at a time.
pub(crate) const MAX_PACKET: usize = 64 * 1024 + 1;

/// `dir`'s socket as a path short enough for an address, and the
/// directory descriptor that keeps that path valid.
fn address(dir: &Path) -> Result<(OwnedFd, UnixAddr)> {
    let fd = nix::fcntl::open(
        dir,
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(sys(format!("open {}", dir.display())))?;
    // SAFETY: open returned a new descriptor that we now own.
    let dir_fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let addr = UnixAddr::new(format!("/proc/self/fd/{fd}/{NAME}").as_str())
        .map_err(sys("attach socket address"))?;
    Ok((dir_fd, addr))
}

fn seqpacket() -> Result<OwnedFd> {
    socket(
        AddressFamily::Unix,
        SockType::SeqPacket,
        SockFlag::SOCK_CLOEXEC,
        None,
    )
    .map_err(sys("socket"))
}

/// Listen on `dir`'s attach socket (a leftover of an earlier run is
/// replaced).
pub(crate) fn listen_in(dir: &Path) -> Result<OwnedFd> {
    let _ = std::fs::remove_file(dir.join(NAME));
    let (_dir, addr) = address(dir)?;
    let fd = seqpacket()?;
    bind(fd.as_raw_fd(), &addr).map_err(sys(format!("bind {}", dir.join(NAME).display())))?;
    listen(&fd, Backlog::new(8).map_err(sys("listen"))?).map_err(sys("listen"))?;
    Ok(fd)
}

/// Connect to `dir`'s attach socket.
pub(crate) fn connect_in(dir: &Path) -> Result<OwnedFd> {
    let (_dir, addr) = address(dir)?;
    let fd = seqpacket()?;
    connect(fd.as_raw_fd(), &addr).map_err(sys(format!("connect {}", dir.join(NAME).display())))?;
    Ok(fd)
}

/// A connected pair: one end for the monitor-to-be, one for us.
pub(crate) fn pair() -> Result<(OwnedFd, OwnedFd)> {
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(sys("socketpair"))
}

/// Take a waiting client of `listener`.
pub(crate) fn accept(listener: BorrowedFd<'_>) -> Option<OwnedFd> {
    let fd = accept4(listener.as_raw_fd(), SockFlag::SOCK_CLOEXEC).ok()?;
    // SAFETY: accept4 returned a new descriptor that we now own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // A client that stops reading holds the container's output back for
    // at most this long before it is dropped.
    let limit = nix::sys::time::TimeVal::new(2, 0);
    let _ = nix::sys::socket::setsockopt(&fd, nix::sys::socket::sockopt::SendTimeout, &limit);
    Some(fd)
}

/// Send one packet of `kind`; false once the peer is gone (or stuck).
///
/// The kind byte and the data go out as one packet from two slices, so the
/// data is not copied.
pub(crate) fn send_packet(fd: BorrowedFd<'_>, kind: u8, data: &[u8]) -> bool {
    let kind = [kind];
    let iov = [IoSlice::new(&kind), IoSlice::new(data)];
    loop {
        match sendmsg::<UnixAddr>(fd.as_raw_fd(), &iov, &[], MsgFlags::MSG_NOSIGNAL, None) {
            Ok(_) => return true,
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return false,
        }
    }
}

/// Receive one packet into `buf`: its kind and length of payload; None at
/// end of file or on error.
pub(crate) fn recv_packet(fd: BorrowedFd<'_>, buf: &mut [u8]) -> Option<(u8, usize)> {
    loop {
        match recv(fd.as_raw_fd(), buf, MsgFlags::empty()) {
            Ok(0) => return None,
            Ok(n) => return Some((buf[0], n - 1)),
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
}

/// The environment variable that hands a monitor a client already
/// connected (a foreground `run -it` attached from the first byte).
pub(crate) const CLIENT_ENV: &str = "BERTH_ATTACH_FD";

/// In a monitor: the client the CLI passed, if any (close-on-exec set,
/// so the container never holds it).
pub(crate) fn client_from_cli() -> Option<OwnedFd> {
    let v = std::env::var(CLIENT_ENV).ok()?;
    std::env::remove_var(CLIENT_ENV);
    let fd: i32 = v.parse().ok()?;
    // SAFETY: F_GETFD only checks that the number is open.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return None;
    }
    // SAFETY: F_SETFD on a descriptor handed to us.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    // SAFETY: the CLI gave this descriptor to us alone.
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}
