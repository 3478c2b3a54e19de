//! Terminals. The runtime sends a pty's master over a console socket; a
//! foreground container's (`run -t`, `start -a` of one created with `-t`)
//! and an `exec -t`'s are relayed to our terminal ([`crate::pty_relay`]),
//! resizes passed on; a detached one's is held by the monitor.

use crate::console_socket::ConsoleSocket;
use crate::error::Result;
use std::os::fd::OwnedFd;
use std::time::Duration;

/// A foreground container's pty: relay it to our terminal (stdin too
/// with `input`, in raw mode) until the init `pid` ended and its output
/// is drained, handing its output to `log` as well.
pub(crate) fn relay_container(
    master: &OwnedFd,
    pid: i32,
    input: bool,
    log: &mut dyn FnMut(&[u8]),
) -> Result<()> {
    use std::os::fd::AsFd as _;
    let done = crate::pty_relay::pidfd(pid)?;
    let _raw = if input {
        crate::pty_relay::RawMode::enter()
    } else {
        None
    };
    crate::pty_relay::relay(master, input, done.as_fd(), Some(log))
}

/// `exec -t`: receive the pty master from the running `runtime exec`
/// (`child`), put our terminal in raw mode if `input`, and relay until the
/// process ended. A runtime that ends without sending a master (it failed,
/// and said why on our stderr) is not an error here: its exit code is.
pub(crate) fn relay_exec(
    console: &ConsoleSocket,
    child: &std::process::Child,
    input: bool,
) -> Result<()> {
    use std::os::fd::AsFd as _;
    let done = crate::pty_relay::pidfd(child.id() as i32)?;
    let master = match console.receive(Some(done.as_fd()), Duration::from_secs(30)) {
        Ok(m) => m,
        Err(e) => {
            let ended = nix::poll::poll(
                &mut [nix::poll::PollFd::new(
                    done.as_fd(),
                    nix::poll::PollFlags::POLLIN,
                )],
                nix::poll::PollTimeout::ZERO,
            );
            return if ended == Ok(1) { Ok(()) } else { Err(e) };
        }
    };
    let _raw = if input {
        crate::pty_relay::RawMode::enter()
    } else {
        None
    };
    crate::pty_relay::relay(&master, input, done.as_fd(), None)
}
