//! Descriptors 3.. that a container inherits from whoever runs `berth`:
//! systemd's socket activation (`LISTEN_FDS`/`LISTEN_PID` naming this
//! process) and podman's `--preserve-fds N`.
//!
//! berth adopts them first thing — marks them close-on-exec, so no other
//! child (`runtime kill`, the storage's helpers) inherits them — and hands
//! them only to the runtime's `create`/`run`, as `--preserve-fds`, with
//! `LISTEN_FDS` in its environment under socket activation. The runtime
//! (berth-runtime as runc does) keeps 3..3+N open for the container's
//! process and, seeing `LISTEN_FDS`, sets `LISTEN_FDS` and `LISTEN_PID`
//! for it. Nothing is re-implemented here: the runtime's own socket
//! activation needs `LISTEN_PID` to be *its* pid, which a parent cannot
//! know before the fork, so berth speaks `--preserve-fds` instead.
//!
//! A detached container's monitor receives them the same way (their counts
//! in [`MONITOR_ENV`]) and closes its copies once the container started.
//! With both sources, fds 3..3+L+P pass (numbered as in berth, listeners
//! first) and the runtime reports the total as `LISTEN_FDS`.

use crate::error::{Error, Result};
use std::os::unix::process::CommandExt as _;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// How many listening sockets came from socket activation.
static LISTEN: AtomicU32 = AtomicU32::new(0);
/// How many more descriptors `--preserve-fds` asked for.
static PRESERVE: AtomicU32 = AtomicU32::new(0);

/// The environment variable that tells a monitor which descriptors it
/// inherited for the container: `LISTEN:PRESERVE`.
pub const MONITOR_ENV: &str = "BERTH_PASS_FDS";

fn set_cloexec(fd: i32, on: bool) -> bool {
    // SAFETY: F_GETFD/F_SETFD on a descriptor number only read and set its flag.
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFD);
        if flags < 0 {
            return false;
        }
        let flags = if on {
            flags | libc::FD_CLOEXEC
        } else {
            flags & !libc::FD_CLOEXEC
        };
        libc::fcntl(fd, libc::F_SETFD, flags) == 0
    }
}

fn adopt(listen: u32, preserve: u32) {
    for fd in 3..3 + listen + preserve {
        set_cloexec(fd as i32, true);
    }
    LISTEN.store(listen, Ordering::Relaxed);
    PRESERVE.store(preserve, Ordering::Relaxed);
}

/// Take systemd's listening sockets if `LISTEN_PID` names this process,
/// as `sd_listen_fds(1)` does: the variables are removed so no child
/// mistakes them for its own. Call first thing in `main`, before threads
/// start and before anything opens a file. Returns how many; a count that
/// names a closed descriptor is refused (berth's own files would take its
/// number and reach the container).
pub fn adopt_socket_activation() -> Result<u32> {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    let n = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|_| ours)
        .unwrap_or(0);
    if ours {
        for v in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] {
            std::env::remove_var(v);
        }
    }
    if let Some(fd) = (3..3 + n).find(|fd| !set_cloexec(*fd as i32, true)) {
        return Err(Error::InvalidOption {
            option: "LISTEN_FDS",
            value: n.to_string(),
            reason: format!("descriptor {fd} is not open"),
        });
    }
    adopt(n, PRESERVE.load(Ordering::Relaxed));
    Ok(n)
}

/// `--preserve-fds N`: descriptors 3.. after the listening sockets go to
/// the container too. Each must be open; call before berth opens files of
/// its own (they would take the numbers).
pub fn preserve(n: u32) -> Result<()> {
    let listen = LISTEN.load(Ordering::Relaxed);
    for fd in 3 + listen..3 + listen + n {
        if !set_cloexec(fd as i32, true) {
            return Err(Error::InvalidOption {
                option: "--preserve-fds",
                value: n.to_string(),
                reason: format!("descriptor {fd} is not open"),
            });
        }
    }
    PRESERVE.store(n, Ordering::Relaxed);
    Ok(())
}

/// In a monitor: adopt what the CLI passed (see [`MONITOR_ENV`]).
pub(crate) fn adopt_from_cli() {
    let Ok(v) = std::env::var(MONITOR_ENV) else {
        return;
    };
    std::env::remove_var(MONITOR_ENV);
    let mut it = v.split(':').map(|n| n.parse::<u32>().unwrap_or(0));
    adopt(it.next().unwrap_or(0), it.next().unwrap_or(0));
}

/// In a monitor, once the container has them: close our copies, so the
/// container alone decides when a socket goes away.
pub(crate) fn close_passed() {
    let total = LISTEN.swap(0, Ordering::Relaxed) + PRESERVE.swap(0, Ordering::Relaxed);
    for fd in 3..3 + total {
        // SAFETY: these numbers were handed to us for the container; nothing
        // else in this process owns them.
        unsafe { libc::close(fd as i32) };
    }
}

fn total() -> u32 {
    LISTEN.load(Ordering::Relaxed) + PRESERVE.load(Ordering::Relaxed)
}

/// Let `cmd`'s child inherit the descriptors (cleared close-on-exec in the
/// child only).
fn inherit(cmd: &mut Command, n: u32) {
    if n == 0 {
        return;
    }
    // SAFETY: the hook only calls fcntl(2), which is async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            for fd in 3..3 + n {
                set_cloexec(fd as i32, false);
            }
            Ok(())
        });
    }
}

/// The runtime command for `create`/`run` (`listen`: with `LISTEN_FDS`)
/// or `exec`: inherits the descriptors; returns the `--preserve-fds`
/// arguments to put before the container id.
pub(crate) fn to_runtime(cmd: &mut Command, listen: bool) -> Vec<String> {
    cmd.env_remove("LISTEN_PID").env_remove("LISTEN_FDS");
    let n = total();
    if n == 0 {
        return Vec::new();
    }
    // The runtime reads LISTEN_FDS to tell its container about them.
    if listen && LISTEN.load(Ordering::Relaxed) > 0 {
        cmd.env("LISTEN_FDS", n.to_string());
    }
    inherit(cmd, n);
    vec!["--preserve-fds".into(), n.to_string()]
}

/// The monitor command: inherits every descriptor, with their counts.
pub(crate) fn to_monitor(cmd: &mut Command) -> &mut Command {
    let (l, p) = (
        LISTEN.load(Ordering::Relaxed),
        PRESERVE.load(Ordering::Relaxed),
    );
    if l + p > 0 {
        cmd.env(MONITOR_ENV, format!("{l}:{p}"));
        inherit(cmd, l + p);
    }
    cmd
}
