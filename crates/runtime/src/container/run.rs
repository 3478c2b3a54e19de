//! `run`: create and start in one go, then (unless detached) wait for the
//! container, forwarding signals, and remove it.

use super::create::{create, forwarded_signals, CreateOptions, Created, Launch};
use crate::error::{Error, Result};
use crate::state::StateRoot;
use crate::sync::Message;
use nix::sys::signal::{kill, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// Run the container; returns the exit code the runtime should exit with:
/// the container's own, or 128+signal if a signal ended it.
pub fn run(root: &StateRoot, opts: &CreateOptions, detach: bool) -> Result<i32> {
    let Created {
        state,
        sock,
        old_mask,
    } = create(root, opts, Launch::Run)?;
    let pid = Pid::from_raw(state.pid);
    let started = sock
        .send(&Message::Start)
        .and_then(|()| match sock.recv()? {
            // EOF: the socket closed on exec, the user process runs.
            None => Ok(()),
            Some(Message::Failed(text)) => Err(Error::Init(text)),
            Some(other) => Err(Error::Init(format!("unexpected message {other:?}"))),
        });
    if let Err(e) = started {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        let _ = super::lifecycle::destroy(root, &state);
        return Err(e);
    }
    crate::hooks::run_poststart(&state)?;
    if detach {
        let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None);
        return Ok(0);
    }
    let code = wait_forwarding(pid)?;
    super::lifecycle::destroy(root, &state)?;
    Ok(code)
}

/// Wait for `pid` to exit while passing every other signal on to it.
pub(crate) fn wait_forwarding(pid: Pid) -> Result<i32> {
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
        if sig != Signal::SIGCHLD {
            let _ = kill(pid, sig);
        }
    }
}
