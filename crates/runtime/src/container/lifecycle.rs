//! `start`, `kill`, `delete` and `state`: the commands that act on a
//! container that already exists.

use crate::error::{Error, Result};
use crate::state::{ContainerState, StateRoot, Status, EXEC_FIFO};
use nix::sys::signal::{kill as send_signal, Signal};
use nix::unistd::Pid;
use serde::Serialize;
use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// Let the init of a created container exec the user's process.
pub fn start(root: &StateRoot, id: &str) -> Result<()> {
    let (state, _lock) = root.load_locked_in(id, Status::Created, "start")?;
    crate::warning::debug(|| format!("{id}: starting init pid {}", state.pid));
    let dir = root.dir(id);
    let fifo_path = dir.join(EXEC_FIFO);
    // Non-blocking: if the init died there is no reader and this fails
    // with ENXIO instead of hanging.
    let mut fifo = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|e| Error::io("open", &fifo_path, e))?;
    // A reader of our own, to see the init's descriptor go away: it is
    // close-on-exec, so the last writer leaving (POLLHUP) means the user's
    // process has been exec'd (or the init died) — and only then may
    // poststart hooks run (after startContainer, as the spec orders them).
    let watcher = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(&fifo_path)
        .map_err(|e| Error::io("open", &fifo_path, e))?;
    fifo.write_all(&[0])
        .map_err(|e| Error::io("write", &fifo_path, e))?;
    drop(fifo);
    std::fs::remove_file(&fifo_path).map_err(|e| Error::io("remove", &fifo_path, e))?;
    wait_for_hangup(&watcher);
    exec_outcome(&watcher)?;
    crate::hooks::run_poststart(&state)
}

/// What the init left in the fifo when it let go of it: nothing once the
/// user's process runs; a failure record if the init or the exec stub
/// failed (crate::sync); our own start byte, unread, if the init died
/// before it could read it.
fn exec_outcome(mut watcher: &std::fs::File) -> Result<()> {
    let mut left = Vec::new();
    // Non-blocking, and no writer is left: this reads what is there.
    let _ = std::io::Read::read_to_end(&mut watcher, &mut left);
    match (left.first(), crate::sync::decode(&left)) {
        (None, _) => Ok(()),
        (Some(&0), _) | (_, None) => Err(Error::Init(
            "the container's init exited before it started the process".into(),
        )),
        (_, Some(crate::sync::Message::Failed(text))) => Err(Error::Init(text)),
        (_, Some(other)) => Err(Error::Init(format!("unexpected message {other:?}"))),
    }
}

/// Block until no writer holds the fifo `reader` is open on.
fn wait_for_hangup(reader: &std::fs::File) {
    use std::os::fd::AsFd;
    let mut fds = [nix::poll::PollFd::new(
        reader.as_fd(),
        nix::poll::PollFlags::empty(),
    )];
    loop {
        match nix::poll::poll(&mut fds, nix::poll::PollTimeout::NONE) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(_) | Err(_) => return,
        }
    }
}

/// Send signal number `signal` to the container's init, or with `all` to
/// every process in its cgroup. A raw number, not a `nix` `Signal`: the
/// real-time signals (`SIGRTMIN+3`, systemd's stop signal, which engines
/// pass as `37`) have no `Signal` value but must be deliverable.
pub fn kill(root: &StateRoot, id: &str, signal: i32, all: bool) -> Result<()> {
    let state = root.load(id)?;
    let status = state.status(&root.dir(id));
    if status == Status::Stopped && !all {
        return Err(Error::WrongState {
            id: id.into(),
            action: "kill",
            status: status.as_str(),
        });
    }
    if all {
        if let Some(cg) = &state.cgroup {
            for pid in cg.pids()? {
                // SAFETY: kill(2) takes plain integers; a process that is
                // already gone only yields ESRCH, which is fine here.
                unsafe { libc::kill(pid, signal) };
            }
            return Ok(());
        }
    }
    signal_init(&state, signal)
}

/// Signal the init through a pidfd opened while it is known to be the
/// recorded process (same start time), so a pid recycled after the init
/// died can never receive the signal.
fn signal_init(state: &ContainerState, signal: i32) -> Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let call = || format!("kill {} {signal}", state.pid);
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor.
    let ret = unsafe { libc::syscall(libc::SYS_pidfd_open, state.pid, 0) };
    if ret < 0 {
        let errno = nix::errno::Errno::last();
        if errno != nix::errno::Errno::ENOSYS {
            return Err(Error::sys(call(), errno));
        }
        // Kernels before 5.3: check, then signal by pid (a narrow race).
        if !state.init_alive() {
            return Err(Error::sys(call(), nix::errno::Errno::ESRCH));
        }
        // SAFETY: kill(2) takes plain integers.
        if unsafe { libc::kill(state.pid, signal) } < 0 {
            return Err(Error::sys(call(), nix::errno::Errno::last()));
        }
        return Ok(());
    }
    // SAFETY: the kernel returned a new descriptor that we now own.
    let pidfd = unsafe { OwnedFd::from_raw_fd(ret as i32) };
    if !state.init_alive() {
        return Err(Error::sys(call(), nix::errno::Errno::ESRCH));
    }
    // SAFETY: a valid pidfd, a signal number, no siginfo, no flags.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            signal,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if ret < 0 {
        return Err(Error::sys(call(), nix::errno::Errno::last()));
    }
    Ok(())
}

/// Remove a container. One that is not stopped (created, running or
/// paused) needs `force` and is killed first: the spec says deleting a
/// container that is not `stopped` MUST fail and change nothing. Engines
/// that remove live containers (podman, containerd's shim cleanup) pass
/// `--force`.
pub fn delete(root: &StateRoot, id: &str, force: bool) -> Result<()> {
    let (state, lock) = match root.load_locked(id) {
        Ok(x) => x,
        Err(Error::NotFound(_)) if force => return Ok(()),
        Err(Error::State { .. }) if force => {
            // A state file that cannot be read: with --force, remove what is there.
            return root.remove(id);
        }
        Err(e) => return Err(e),
    };
    let dir = root.dir(id);
    match state.status(&dir) {
        Status::Stopped => {}
        s if !force => {
            return Err(Error::WrongState {
                id: id.into(),
                action: "delete",
                status: s.as_str(),
            })
        }
        _ => {}
    }
    if state.init_alive() {
        kill_everything(&state)?;
    }
    destroy(root, &state)?;
    drop(lock);
    Ok(())
}

/// SIGKILL the init and everything in the cgroup, and wait until they are gone.
fn kill_everything(state: &ContainerState) -> Result<()> {
    if let Some(cg) = &state.cgroup {
        // A frozen process cannot die; thaw first.
        let _ = cg.thaw();
        for pid in cg.pids().unwrap_or_default() {
            let _ = send_signal(Pid::from_raw(pid), Signal::SIGKILL);
        }
    }
    let _ = send_signal(Pid::from_raw(state.pid), Signal::SIGKILL);
    let deadline = Instant::now() + Duration::from_secs(10);
    while state.init_alive() {
        if Instant::now() > deadline {
            return Err(Error::sys(
                format!("wait for pid {} to die", state.pid),
                nix::errno::Errno::ETIMEDOUT,
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Tear down what `create` made: cgroup, poststop hooks, state dir.
pub fn destroy(root: &StateRoot, state: &ContainerState) -> Result<()> {
    if let Some(cg) = &state.cgroup {
        if !cg.is_empty().unwrap_or(true) {
            for pid in cg.pids().unwrap_or_default() {
                let _ = send_signal(Pid::from_raw(pid), Signal::SIGKILL);
            }
        }
        cg.destroy()?;
    }
    let hooks = crate::hooks::run_poststop(state);
    root.remove(&state.id)?;
    hooks
}

/// The runtime spec's state object, as `state` prints it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StateReport {
    /// The spec version the container was created with.
    pub oci_version: String,
    /// The container id.
    pub id: String,
    /// `created`, `running`, `paused` or `stopped`.
    pub status: &'static str,
    /// Host pid of the init (0 once stopped).
    pub pid: i32,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// The rootfs directory.
    pub rootfs: PathBuf,
    /// Creation time.
    pub created: String,
    /// Owner of the container (runc prints the user; we print "").
    pub owner: String,
    /// Annotations from the config.
    #[serde(skip_serializing_if = "HashMap::is_empty")]
    pub annotations: HashMap<String, String>,
}

/// The state of container `id`.
pub fn state(root: &StateRoot, id: &str) -> Result<StateReport> {
    let state = root.load(id)?;
    Ok(report(root, state))
}

/// The report of an already loaded state.
pub fn report(root: &StateRoot, state: ContainerState) -> StateReport {
    let status = state.status(&root.dir(&state.id));
    StateReport {
        oci_version: state.oci_version,
        status: status.as_str(),
        pid: if status == Status::Stopped {
            0
        } else {
            state.pid
        },
        id: state.id,
        bundle: state.bundle,
        rootfs: state.rootfs,
        created: state.created,
        owner: String::new(),
        annotations: state.annotations,
    }
}
