//! Signals sent to a foreground `berth run`/`start -a`/`exec` are the
//! container's: a handler that only calls kill(2) passes them on to the
//! process being waited for.

use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal};
use std::sync::atomic::{AtomicI32, Ordering};

/// Signals a foreground run passes on to the container.
const FORWARDED: [Signal; 7] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
];

static FORWARD_TO: AtomicI32 = AtomicI32::new(0);
/// A signal that came before there was a pid to pass it to.
static PENDING: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = FORWARD_TO.load(Ordering::Relaxed);
    if pid > 0 {
        // SAFETY: kill(2) is async-signal-safe.
        unsafe { libc::kill(pid, sig) };
    } else {
        PENDING.store(sig, Ordering::Relaxed);
    }
}

/// From now on signals go to `pid`, including one that came while it was
/// being started (the handler is installed before the start, so a signal
/// in that window is not our death).
pub(crate) fn forward_to(pid: i32) {
    FORWARD_TO.store(pid, Ordering::Relaxed);
    let sig = PENDING.swap(0, Ordering::Relaxed);
    if sig > 0 {
        // SAFETY: plain kill(2) of a process we started.
        unsafe { libc::kill(pid, sig) };
    }
}

pub(crate) fn set_forwarding(on: bool) {
    let handler = if on {
        SigHandler::Handler(forward)
    } else {
        SigHandler::SigDfl
    };
    let action = SigAction::new(handler, SaFlags::SA_RESTART, SigSet::empty());
    for s in FORWARDED {
        // SAFETY: the handler only reads an atomic and calls kill(2).
        let _ = unsafe { nix::sys::signal::sigaction(s, &action) };
    }
}

/// Stop passing signals on: default actions again, no target.
pub(crate) fn stop_forwarding() {
    set_forwarding(false);
    FORWARD_TO.store(0, Ordering::Relaxed);
}
