//! Pinned network namespaces: made before the container (so CNI can wire
//! it and the runtime can join it by path), kept alive by a bind mount of
//! the nsfs file, as `ip netns add` does, and removed by unmounting it.

use super::NetError;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{unshare, CloneFlags};
use std::path::Path;

fn sys(op: &str, path: &Path) -> impl FnOnce(nix::errno::Errno) -> NetError {
    let op = format!("{op} {}", path.display());
    move |source| NetError::Sys { op, source }
}

/// Create a network namespace pinned at `path`, with its loopback up.
pub fn create(path: &Path) -> Result<(), NetError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| NetError::Io {
            op: "create",
            path: dir.into(),
            source: e,
        })?;
    }
    std::fs::File::options()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| NetError::Io {
            op: "create",
            path: path.into(),
            source: e,
        })?;
    let made = in_new_netns(
        || {
            loopback_up().map_err(sys("bringing lo up in", path))?;
            mount(
                Some("/proc/thread-self/ns/net"),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(sys("bind-mounting the namespace on", path))
        },
        path,
    );
    if made.is_err() {
        let _ = remove(path);
    }
    made
}

/// Run `f` with the calling thread in a new network namespace, then put
/// the thread back in the one it was in (unshare(CLONE_NEWNET) moves only
/// the calling thread). Not a thread of its own: in the monitor, which
/// holds its resident pages for the container's whole life, spawning one
/// cost ~200 KiB of them.
fn in_new_netns(
    f: impl FnOnce() -> Result<(), NetError> + Send,
    path: &Path,
) -> Result<(), NetError> {
    if crate::rootless::in_user_namespace() {
        // Rootless, the host's namespace belongs to the host's user
        // namespace, and a thread could not return to it: a thread of its
        // own makes the namespace and ends.
        return std::thread::scope(|s| {
            s.spawn(|| {
                unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(sys("unshare(CLONE_NEWNET) for", path))?;
                f()
            })
            .join()
            .unwrap_or_else(|_| {
                Err(NetError::Sys {
                    op: format!("making the namespace {}", path.display()),
                    source: nix::errno::Errno::EINTR,
                })
            })
        });
    }
    let orig = std::fs::File::open("/proc/thread-self/ns/net").map_err(|e| NetError::Io {
        op: "open",
        path: "/proc/thread-self/ns/net".into(),
        source: e,
    })?;
    unshare(CloneFlags::CLONE_NEWNET).map_err(sys("unshare(CLONE_NEWNET) for", path))?;
    let done = f();
    nix::sched::setns(&orig, CloneFlags::CLONE_NEWNET)
        .map_err(sys("returning to the host network namespace after", path))?;
    done
}

/// Set IFF_UP on `lo` of the calling thread's network namespace (what the
/// CNI loopback plugin does, without a process of its own).
fn loopback_up() -> Result<(), nix::errno::Errno> {
    // SAFETY: plain socket(2)/ioctl(2) on a zeroed ifreq that names "lo";
    // the fd is closed by OwnedFd.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if fd < 0 {
            return Err(nix::errno::Errno::last());
        }
        let _guard = <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd);
        let mut req: libc::ifreq = std::mem::zeroed();
        for (i, b) in b"lo\0".iter().enumerate() {
            req.ifr_name[i] = *b as libc::c_char;
        }
        if libc::ioctl(fd, libc::SIOCGIFFLAGS, &mut req) < 0 {
            return Err(nix::errno::Errno::last());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        if libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) < 0 {
            return Err(nix::errno::Errno::last());
        }
    }
    Ok(())
}

/// Unpin and remove the namespace at `path`; a missing one (a reboot, an
/// earlier removal) is fine. The kernel frees the namespace, and the
/// container's end of its veth with it, once nothing else holds it.
pub fn remove(path: &Path) -> Result<(), NetError> {
    match umount2(path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(sys("unmounting", path)(e)),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetError::Io {
            op: "remove",
            path: path.into(),
            source: e,
        }),
        _ => Ok(()),
    }
}
