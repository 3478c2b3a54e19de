//! A pod's IPC and UTS namespaces, pinned without a process (as CRI-O's
//! pinns does): a thread of ours unshares them, sets the hostname and the
//! sysctls in them, and bind-mounts its `/proc/thread-self/ns/*` files
//! onto files of the pod's directory; the thread then ends and the mounts
//! keep the namespaces alive until they are unmounted. Containers join
//! them by path. The network namespace is pinned the same way by the
//! network layer.
//!
//! A thread of its own, not the caller's: unshare(CLONE_NEWIPC |
//! CLONE_NEWUTS) changes only the calling thread, and one that ends needs
//! no way back to the host's namespaces.

use super::options::sysctl_kind;
use crate::error::{sys, IoContext, Result};
use nix::mount::{mount, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What to pin in `dir` (`dir/ipc`, `dir/uts`).
pub(crate) struct Pins<'a> {
    pub dir: &'a Path,
    pub ipc: bool,
    /// The hostname of a new UTS namespace; None keeps the host's.
    pub hostname: Option<&'a str>,
    pub sysctls: &'a BTreeMap<String, String>,
}

/// Pin the namespaces `p` asks for; their paths (IPC, UTS). On an error
/// nothing is left pinned.
pub(crate) fn pin(p: &Pins<'_>) -> Result<(Option<PathBuf>, Option<PathBuf>)> {
    let ipc = p.ipc.then(|| p.dir.join("ipc"));
    let uts = p.hostname.map(|_| p.dir.join("uts"));
    if ipc.is_none() && uts.is_none() {
        return Ok((None, None));
    }
    std::fs::create_dir_all(p.dir).ctx("create", p.dir)?;
    for f in ipc.iter().chain(uts.iter()) {
        std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(f)
            .ctx("create", f)?;
    }
    let made = std::thread::scope(|s| {
        s.spawn(|| pin_in_this_thread(p, ipc.as_deref(), uts.as_deref()))
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
    });
    if let Err(e) = made {
        for f in ipc.iter().chain(uts.iter()) {
            let _ = unpin(f);
        }
        return Err(e);
    }
    Ok((ipc, uts))
}

fn pin_in_this_thread(p: &Pins<'_>, ipc: Option<&Path>, uts: Option<&Path>) -> Result<()> {
    let mut flags = CloneFlags::empty();
    if ipc.is_some() {
        flags |= CloneFlags::CLONE_NEWIPC;
    }
    if uts.is_some() {
        flags |= CloneFlags::CLONE_NEWUTS;
    }
    unshare(flags).map_err(sys("unshare the pod's IPC/UTS namespaces"))?;
    if let Some(h) = p.hostname {
        nix::unistd::sethostname(h).map_err(sys(format!("sethostname {h:?}")))?;
    }
    // /proc/sys reads the namespaces of the thread that opens it.
    write_sysctls(p.sysctls, &["ipc", "uts"])?;
    for (file, pin) in [("ipc", ipc), ("uts", uts)] {
        if let Some(pin) = pin {
            bind(&format!("/proc/thread-self/ns/{file}"), pin)?;
        }
    }
    Ok(())
}

fn bind(from: &str, to: &Path) -> Result<()> {
    mount(Some(from), to, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(sys(format!("bind-mounting {from} on {}", to.display())))
}

/// Write the `kinds` sysctls of `all` (names with dots or slashes) for
/// the calling thread's namespaces.
fn write_sysctls(all: &BTreeMap<String, String>, kinds: &[&str]) -> Result<()> {
    for (name, value) in all {
        if !sysctl_kind(name).is_some_and(|k| kinds.contains(&k)) {
            continue;
        }
        let path = Path::new("/proc/sys").join(name.replace('.', "/"));
        std::fs::write(&path, value).ctx("write", &path)?;
    }
    Ok(())
}

/// Set the `net.*` sysctls of `all` in the network namespace pinned at
/// `netns` (from a thread that joins it and ends).
pub(crate) fn net_sysctls(netns: &Path, all: &BTreeMap<String, String>) -> Result<()> {
    if !all.keys().any(|n| sysctl_kind(n) == Some("net")) {
        return Ok(());
    }
    std::thread::scope(|s| {
        s.spawn(|| {
            let f = std::fs::File::open(netns).ctx("open", netns)?;
            setns(&f, CloneFlags::CLONE_NEWNET)
                .map_err(sys(format!("joining {}", netns.display())))?;
            write_sysctls(all, &["net"])
        })
        .join()
        .unwrap_or_else(|e| std::panic::resume_unwind(e))
    })
}

/// Unpin and remove a pinned namespace file; a missing one is fine.
pub(crate) fn unpin(path: &Path) -> Result<()> {
    Ok(crate::network::netns::remove(path)?)
}
