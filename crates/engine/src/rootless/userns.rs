//! The user's namespace: one user namespace and mount namespace per user,
//! kept alive by a pause process as podman's, which every berth command of
//! that user joins. One long-lived namespace means the store's overlay
//! mounts, made by one command, are still there for the next (`berth rm`
//! unmounts what `berth run -d` mounted), and ids are mapped once, through
//! the setuid helpers, not on every command.
//!
//! Sequence (under `<state dir>/pause.lock`):
//! 1. a live pause process recorded in `pause.pid` (ours, still the pause
//!    binary): join it;
//! 2. else spawn one: `setsid`, `unshare(CLONE_NEWUSER | CLONE_NEWNS)`,
//!    exec `berth` [`PAUSE_ARG`], which only waits for signals;
//! 3. write its maps from outside (newuidmap/newgidmap, or the user's own id
//!    directly), record its pid, join it.
//!
//! Joining is `setns` of the user namespace then the mount namespace; the
//! kernel allows the user namespace only to a single-threaded process, so
//! the CLI joins first thing in `main`.

use super::error::{Error, Result};
use super::idmap::{IdMapping, IdRange};
use nix::sched::CloneFlags;
use std::fs::File;
use std::os::unix::fs::{DirBuilderExt as _, MetadataExt as _};
use std::os::unix::process::CommandExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

/// The argument that makes `berth` the pause process.
pub const PAUSE_ARG: &str = "__berth-rootless-pause";
/// The environment variable set in the namespace: the user's uid outside.
/// Commands started there (`berth unshare`'s shell, monitors) see it and
/// know they run for that user, not for the host's root.
pub const ROOTLESS_UID_ENV: &str = "BERTH_ROOTLESS_UID";

/// The pause process's life: nothing but waiting for a signal that ends it.
pub fn pause_main() -> ! {
    loop {
        nix::unistd::pause();
    }
}

/// Join this user's namespace under `state_dir`, making it with `mapping`
/// when no pause process lives. Returns whether it was made now. Must run
/// while the process has one thread.
pub fn join(state_dir: &Path, mapping: &IdMapping) -> Result<bool> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(state_dir)
        .map_err(|source| Error::Io {
            what: "create",
            path: state_dir.into(),
            source,
        })?;
    let _lock = lock(&state_dir.join("pause.lock"))?;
    let pid_file = state_dir.join("pause.pid");
    if let Some(pid) = live_pause(&pid_file) {
        enter(pid)?;
        return Ok(false);
    }
    let pid = spawn_pause(mapping)?;
    let tmp = pid_file.with_extension("tmp");
    std::fs::write(&tmp, pid.to_string())
        .and_then(|()| std::fs::rename(&tmp, &pid_file))
        .map_err(|source| Error::Io {
            what: "write",
            path: pid_file.clone(),
            source,
        })?;
    enter(pid)?;
    Ok(true)
}

fn lock(path: &Path) -> Result<nix::fcntl::Flock<File>> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| Error::Io {
            what: "open",
            path: path.into(),
            source,
        })?;
    nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(|(_, source)| {
        Error::Sys {
            what: format!("lock {}", path.display()),
            source,
        }
    })
}

/// The recorded pause process, if it still runs, is this user's, and is
/// still the pause binary (a reused pid is none of these).
fn live_pause(pid_file: &Path) -> Option<i32> {
    let pid: i32 = std::fs::read_to_string(pid_file)
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let proc = std::path::PathBuf::from(format!("/proc/{pid}"));
    let owner = std::fs::metadata(&proc).ok()?.uid();
    let cmdline = std::fs::read(proc.join("cmdline")).ok()?;
    let ours = owner == nix::unistd::getuid().as_raw()
        && cmdline
            .split(|b| *b == 0)
            .any(|arg| arg == PAUSE_ARG.as_bytes());
    ours.then_some(pid)
}

fn spawn_pause(mapping: &IdMapping) -> Result<i32> {
    let exe = std::env::current_exe().map_err(|source| Error::Io {
        what: "find",
        path: "/proc/self/exe".into(),
        source,
    })?;
    let mut cmd = Command::new(&exe);
    cmd.arg(PAUSE_ARG)
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: between fork and exec only setsid and unshare run, both
    // async-signal-safe syscalls that allocate nothing.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid()?;
            nix::sched::unshare(CloneFlags::CLONE_NEWUSER | CloneFlags::CLONE_NEWNS)?;
            Ok(())
        });
    }
    let mut child = cmd.spawn().map_err(|source| Error::Io {
        what: "start the pause process",
        path: exe,
        source,
    })?;
    let pid = child.id() as i32;
    if let Err(e) = write_maps(pid, mapping) {
        let _ = child.kill();
        let _ = child.wait();
        return Err(e);
    }
    Ok(pid)
}

fn write_maps(pid: i32, mapping: &IdMapping) -> Result<()> {
    if mapping.is_single() {
        // A user may map its own ids without the helpers, giving up
        // setgroups first for the gid map.
        let proc = format!("/proc/{pid}");
        for (file, text) in [
            ("setgroups", "deny".to_string()),
            ("uid_map", map_lines(&mapping.uids)),
            ("gid_map", map_lines(&mapping.gids)),
        ] {
            let path = Path::new(&proc).join(file);
            std::fs::write(&path, text).map_err(|source| Error::Io {
                what: "write",
                path,
                source,
            })?;
        }
        return Ok(());
    }
    helper("newuidmap", pid, &mapping.uids)?;
    helper("newgidmap", pid, &mapping.gids)
}

fn map_lines(ranges: &[IdRange]) -> String {
    ranges
        .iter()
        .map(|r| format!("{} {} {}\n", r.inside, r.outside, r.count))
        .collect()
}

fn helper(name: &'static str, pid: i32, ranges: &[IdRange]) -> Result<()> {
    let args: Vec<String> = ranges
        .iter()
        .flat_map(|r| [r.inside, r.outside, r.count])
        .map(|n| n.to_string())
        .collect();
    let out = Command::new(name)
        .arg(pid.to_string())
        .args(&args)
        .stdin(Stdio::null())
        .output()
        .map_err(|source| Error::Io {
            what: "run",
            path: name.into(),
            source,
        })?;
    if out.status.success() {
        return Ok(());
    }
    Err(Error::Helper {
        helper: name,
        args: args.join(" "),
        message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    })
}

/// setns into the pause process's user namespace, then its mount
/// namespace (owned by the first, so only reachable after it).
fn enter(pid: i32) -> Result<()> {
    for (ns, flag) in [
        ("user", CloneFlags::CLONE_NEWUSER),
        ("mnt", CloneFlags::CLONE_NEWNS),
    ] {
        let path = format!("/proc/{pid}/ns/{ns}");
        let fd = File::open(&path).map_err(|source| Error::Io {
            what: "open",
            path: path.clone().into(),
            source,
        })?;
        nix::sched::setns(&fd, flag).map_err(|source| Error::Sys {
            what: format!("join the {ns} namespace of the pause process {pid}"),
            source,
        })?;
    }
    Ok(())
}
