//! `run`: create and start in one go, then (unless detached) wait for the
//! container, forwarding signals, and remove it.

use super::attach::{receive_master, TerminalProxy};
use super::create::{create, forwarded_signals, CreateOptions, Created, Launch};
use super::notify_relay::NotifyRelay;
use crate::error::{Error, Result};
use crate::state::StateRoot;
use crate::sync::Message;
use nix::sys::signal::{kill, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::os::unix::net::UnixStream;

/// Run the container; returns the exit code the runtime should exit with:
/// the container's own, or 128+signal if a signal ended it.
pub fn run(root: &StateRoot, opts: &CreateOptions, detach: bool) -> Result<i32> {
    // Only a foreground run stays to relay: a detached one would need a
    // process of its own for it.
    crate::state::validate_id(&opts.id)?;
    let relay = match detach {
        true => None,
        false => NotifyRelay::from_env(root.path(), &opts.id)?,
    };
    let with_relay;
    let opts = match &relay {
        Some(r) => {
            with_relay = CreateOptions {
                notify_dir: Some(r.dir().to_path_buf()),
                ..opts.clone()
            };
            &with_relay
        }
        None => opts,
    };
    // A foreground run with a terminal and no console socket proxies the
    // terminal itself; the pair is dropped unused when there is no terminal.
    let own_console = if detach || opts.console_socket.is_some() {
        None
    } else {
        Some(UnixStream::pair().map_err(|e| Error::io("socketpair", "console", e))?)
    };
    let (ours, theirs) = match own_console {
        Some((a, b)) => (Some(a), Some(b)),
        None => (None, None),
    };
    let Created {
        state,
        sock,
        old_mask,
        terminal,
    } = create(root, opts, Launch::Run, theirs)?;
    let pid = Pid::from_raw(state.pid);
    if let Some(Err(e)) = relay.as_ref().map(NotifyRelay::start) {
        return Err(abandon(root, &state, e));
    }
    let proxy = match (terminal, &ours) {
        (true, Some(ours)) => receive_master(ours)
            .and_then(TerminalProxy::start)
            .map(Some),
        _ => Ok(None),
    };
    let started = proxy.and_then(|proxy| {
        sock.send(&Message::Start)?;
        match sock.recv()? {
            // EOF: the socket closed on exec, the user process runs.
            None => Ok(proxy),
            Some(Message::Failed(text)) => Err(Error::Init(text)),
            Some(other) => Err(Error::Init(format!("unexpected message {other:?}"))),
        }
    });
    let proxy = match started {
        Ok(p) => p,
        Err(e) => return Err(abandon(root, &state, e)),
    };
    // A failing poststart hook is only a warning (the spec): the container
    // runs on, to be waited for and removed like any other. Should running
    // them ever fail, nothing may stay behind.
    if let Err(e) = crate::hooks::run_poststart(&state) {
        return Err(abandon(root, &state, e));
    }
    if detach {
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None);
        return Ok(0);
    }
    let waited = wait_forwarding(pid, |sig| match (&proxy, sig) {
        (Some(p), Signal::SIGWINCH) => {
            p.resize();
            true
        }
        _ => false,
    });
    if let Some(p) = proxy {
        p.finish();
    }
    let code = match waited {
        Ok(code) => code,
        Err(e) => return Err(abandon(root, &state, e)),
    };
    super::lifecycle::destroy(root, &state)?;
    Ok(code)
}

/// A `run` that cannot go on: kill and reap the init, remove everything
/// `create` made (cgroup, state directory; poststop hooks run), and return
/// `err` — a foreground run leaves nothing behind, whatever failed.
fn abandon(root: &StateRoot, state: &crate::state::ContainerState, err: Error) -> Error {
    let pid = Pid::from_raw(state.pid);
    let _ = kill(pid, Signal::SIGKILL);
    let _ = waitpid(pid, None);
    if let Err(cleanup) = super::lifecycle::destroy(root, state) {
        crate::warning::warn(&format!(
            "cleaning up container {} after a failed run: {}",
            state.id,
            crate::error_chain(&cleanup)
        ));
    }
    err
}

/// Wait for `pid` to exit while passing every other signal on to it, unless
/// `handle` takes care of it (returns true).
pub(crate) fn wait_forwarding(pid: Pid, handle: impl Fn(Signal) -> bool) -> Result<i32> {
    let set = forwarded_signals();
    loop {
        // Reap first: SIGCHLD may have been delivered before we got here.
        match waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) => {}
            Err(nix::errno::Errno::ECHILD) => return Ok(0),
            Err(e) => return Err(Error::sys("waitpid", e)),
        }
        let sig = set.wait().map_err(|e| Error::sys("sigwait", e))?;
        if sig != Signal::SIGCHLD && !handle(sig) {
            let _ = kill(pid, sig);
        }
    }
}
