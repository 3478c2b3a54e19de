//! Terminals: `process.terminal` with `--console-socket`, as runc does it.
//!
//! The caller (podman's conmon, containerd's shim) listens on a unix socket;
//! the runtime connects to it before entering the container, and the
//! container's init, once its `/dev/pts` is mounted, opens a pty there,
//! sends the master over the socket with `SCM_RIGHTS`, and makes the slave
//! its controlling terminal and stdio.

use crate::error::{Error, Result};
use nix::fcntl::{open, OFlag};
use nix::mount::{mount, MsFlags};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::stat::Mode;
use oci_spec::runtime::Box as ConsoleSize;
use std::io::IoSlice;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Connect to the console socket at `path`, refusing anything that is not
/// a unix socket with a clear error before a container is created.
pub fn connect(path: &Path) -> Result<UnixStream> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io("console socket", path, e))?;
    if !meta.file_type().is_socket() {
        return Err(Error::InvalidConfig {
            field: "--console-socket",
            reason: format!("{} is not a unix socket", path.display()),
        });
    }
    UnixStream::connect(path).map_err(|e| Error::io("connect console socket", path, e))
}

/// In the container (after its `/dev/pts` is mounted, before credentials
/// are dropped): make a pty, send its master to `socket`, and make the
/// slave the controlling terminal and stdio of this process, owned by
/// `uid`/`gid`. With `bind_console`, the slave also appears as `/dev/console`.
pub fn setup_pty(
    socket: RawFd,
    size: Option<ConsoleSize>,
    uid: u32,
    gid: u32,
    bind_console: bool,
) -> Result<()> {
    let master = open(
        "/dev/ptmx",
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys("open /dev/ptmx", e))?;
    // SAFETY: `open` returned a new descriptor that we now own.
    let master = unsafe { OwnedFd::from_raw_fd(master) };
    // Plain ioctls rather than glibc's unlockpt/ptsname_r: the latter drag
    // locale code into the static binary. TIOCGPTPEER opens the slave from
    // the master without a path lookup (and so without a race on /dev/pts).
    let unlock: libc::c_int = 0;
    let mut number: libc::c_uint = 0;
    // SAFETY: TIOCSPTLCK reads an int and TIOCGPTN writes one; both are ours.
    unsafe {
        if libc::ioctl(master.as_raw_fd(), libc::TIOCSPTLCK, &unlock) != 0 {
            return Err(Error::sys("unlock pty", nix::errno::Errno::last()));
        }
        if libc::ioctl(master.as_raw_fd(), libc::TIOCGPTN, &mut number) != 0 {
            return Err(Error::sys("get pty number", nix::errno::Errno::last()));
        }
    }
    let name = format!("/dev/pts/{number}");
    // SAFETY: TIOCGPTPEER returns a new descriptor for the slave, or -1.
    let slave = unsafe {
        libc::ioctl(
            master.as_raw_fd(),
            libc::TIOCGPTPEER,
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        )
    };
    if slave < 0 {
        return Err(Error::sys(
            format!("open {name}"),
            nix::errno::Errno::last(),
        ));
    }
    // SAFETY: the ioctl returned a new descriptor that we now own.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    nix::unistd::fchown(slave.as_raw_fd(), Some(uid.into()), Some(gid.into()))
        .map_err(|e| Error::sys(format!("chown {name}"), e))?;
    if let Some(size) = size {
        let ws = libc::winsize {
            ws_row: size.height() as u16,
            ws_col: size.width() as u16,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ reads a winsize struct we own.
        unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) };
    }
    send_fd(socket, &master, "/dev/ptmx")?;
    drop(master);
    if bind_console {
        bind_dev_console(&name)?;
    }
    // SAFETY: TIOCSCTTY on a descriptor we own; we are a session leader.
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(Error::sys("ioctl(TIOCSCTTY)", nix::errno::Errno::last()));
    }
    for fd in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), fd).map_err(|e| Error::sys("dup2 pty to stdio", e))?;
    }
    Ok(())
}

/// Send `fd` over the unix socket `socket` with `name` as payload.
pub fn send_fd(socket: RawFd, fd: &OwnedFd, name: &str) -> Result<()> {
    let fds = [fd.as_raw_fd()];
    let iov = [IoSlice::new(name.as_bytes())];
    sendmsg::<()>(
        socket,
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(|e| Error::sys("send pty master over console socket", e))?;
    Ok(())
}

/// Make `/dev/console` the pty slave, as the spec asks when a terminal is
/// set up.
fn bind_dev_console(slave: &str) -> Result<()> {
    let console = Path::new("/dev/console");
    if !console.exists() {
        std::fs::File::create(console).map_err(|e| Error::io("create", console, e))?;
    }
    mount(
        Some(slave),
        console,
        None::<&str>,
        MsFlags::MS_BIND,
        None::<&str>,
    )
    .map_err(|e| Error::sys(format!("bind {slave} on /dev/console"), e))
}
