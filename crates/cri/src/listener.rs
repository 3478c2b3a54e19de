//! The gRPC socket: systemd's (socket activation, `LISTEN_FDS`) or one
//! berthd binds itself.
//!
//! Why not the engine's `listen_fds`: that module hands the activated
//! sockets on to every container it starts (what `berth run` under a
//! socket unit is for). berthd's socket is its own and must reach no
//! container, so it is taken here, marked close-on-exec, and the
//! variables are removed before any child is made.

use anyhow::{bail, Context as _};
use std::os::fd::{FromRawFd as _, RawFd};
use std::os::unix::fs::FileTypeExt as _;
use std::path::Path;

/// The first descriptor systemd passes.
const SD_LISTEN_FDS_START: RawFd = 3;

/// systemd's listening socket when `LISTEN_PID` names this process. Call
/// first thing in `main`, before any thread or file exists.
pub fn take_activated() -> anyhow::Result<Option<std::os::unix::net::UnixListener>> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let count = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok());
    for v in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
        std::env::remove_var(v);
    }
    let n = match (ours, count) {
        (true, Some(n)) => n,
        _ => return Ok(None),
    };
    if n != 1 {
        bail!("socket activation passed {n} sockets; berthd listens on exactly one");
    }
    let fd = SD_LISTEN_FDS_START;
    // SAFETY: F_GETFD/F_SETFD on a descriptor number only read and set its flag.
    let ok = unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        flags >= 0 && libc::fcntl(fd, libc::F_SETFD, flags | libc::FD_CLOEXEC) == 0
    };
    if !ok {
        bail!("LISTEN_FDS=1 but descriptor {fd} is not open");
    }
    // SAFETY: systemd passed descriptor 3 to this process (LISTEN_PID is
    // ours) and nothing else in it owns the number yet.
    let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(fd) };
    listener
        .local_addr()
        .context("the activated descriptor is not a unix socket")?;
    Ok(Some(listener))
}

/// Bind `path`, replacing a stale socket file a killed berthd left (but
/// never another kind of file, and never a socket something answers on).
pub fn bind(path: &Path) -> anyhow::Result<std::os::unix::net::UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            bail!("{} exists and is not a socket", path.display());
        }
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            bail!("{} is in use: another berthd serves it", path.display());
        }
        std::fs::remove_file(path).with_context(|| format!("removing stale {}", path.display()))?;
    }
    let listener = std::os::unix::net::UnixListener::bind(path)
        .with_context(|| format!("binding {}", path.display()))?;
    // Root only: the socket runs containers.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o660))
        .with_context(|| format!("chmod {}", path.display()))?;
    Ok(listener)
}
