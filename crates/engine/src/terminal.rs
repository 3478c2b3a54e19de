//! Terminals. The runtime sends a pty's master over a console socket; a
//! foreground container's (`run -t`, `start -a` of one created with `-t`)
//! and an `exec -t`'s are relayed to our terminal ([`crate::pty_relay`]),
//! resizes passed on; a detached one's is held by the monitor.

use crate::console_socket::ConsoleSocket;
use crate::detach_keys::DetachMatcher;
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
    crate::pty_relay::relay(master, input, done.as_fd(), Some(log), None).map(|_| ())
}

/// `exec -t`: receive the pty master from the running `runtime exec`
/// (`child`), put our terminal in raw mode if `input`, and relay until the
/// process ended. A runtime that ends without sending a master (it failed,
/// and said why on our stderr) is not an error here: its exit code is.
/// With `keys`, the detach sequence ends the relay early: the master comes
/// back, for someone to hold while the process runs on.
pub(crate) fn relay_exec(
    console: &ConsoleSocket,
    child: &std::process::Child,
    input: bool,
    keys: Option<&mut DetachMatcher>,
) -> Result<Option<OwnedFd>> {
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
            return if ended == Ok(1) { Ok(None) } else { Err(e) };
        }
    };
    let _raw = if input {
        crate::pty_relay::RawMode::enter()
    } else {
        None
    };
    let detached = crate::pty_relay::relay(&master, input, done.as_fd(), None, keys)?;
    Ok(detached.then_some(master))
}
