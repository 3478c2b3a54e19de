//! `exec`: start another process inside a running container by joining its
//! namespaces and cgroup.

use super::create::{clone_process, forwarded_signals};
use crate::error::{Error, Result};
use crate::process;
use crate::state::{StateRoot, Status};
use crate::sync::{self, Message, SyncSocket};
use nix::sched::CloneFlags;
use nix::sys::signal::{kill, SigSet, SigmaskHow, Signal};
use nix::sys::wait::waitpid;
use oci_spec::runtime::Process;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

/// What to run and how.
pub struct ExecOptions {
    /// The container id.
    pub id: String,
    /// The process to run (args, env, cwd, user, capabilities…).
    pub process: Process,
    /// Return once it started instead of waiting for it.
    pub detach: bool,
    /// Write its host pid here.
    pub pid_file: Option<PathBuf>,
    /// Extra descriptors (3..3+N) passed on.
    pub preserve_fds: u32,
    /// Connected console socket, required when `process.terminal` is set.
    pub console: Option<UnixStream>,
}

/// Namespace kinds in the order they are joined: user first (it grants the
/// rights for the rest), mount last (paths are the container's after it).
const NAMESPACES: [(&str, CloneFlags); 7] = [
    ("user", CloneFlags::CLONE_NEWUSER),
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("time", CloneFlags::from_bits_retain(libc::CLONE_NEWTIME)),
    ("mnt", CloneFlags::CLONE_NEWNS),
];

/// The container's namespaces that differ from ours, opened.
fn open_namespaces(pid: i32) -> Result<Vec<(File, CloneFlags)>> {
    let mut out = Vec::new();
    for (name, flag) in NAMESPACES {
        let theirs = format!("/proc/{pid}/ns/{name}");
        let (Ok(a), Ok(b)) = (
            std::fs::metadata(&theirs),
            std::fs::metadata(format!("/proc/self/ns/{name}")),
        ) else {
            continue;
        };
        if a.ino() == b.ino() && a.dev() == b.dev() {
            continue;
        }
        out.push((
            File::open(&theirs).map_err(|e| Error::io("open", theirs, e))?,
            flag,
        ));
    }
    Ok(out)
}

/// Run `opts.process` in the container; returns its exit code (0 when detached).
pub fn exec(root: &StateRoot, opts: &ExecOptions) -> Result<i32> {
    let state = root.load(&opts.id)?;
    let status = state.status(&root.dir(&opts.id));
    if !matches!(status, Status::Running | Status::Created) {
        return Err(Error::WrongState {
            id: opts.id.clone(),
            action: "exec in",
            status: status.as_str(),
        });
    }
    if opts.process.terminal().unwrap_or(false) && opts.console.is_none() {
        return Err(Error::InvalidConfig {
            field: "process.terminal",
            reason: "a terminal needs --console-socket".into(),
        });
    }
    // The container's filter applies to what is exec'd in it too (from
    // the cache: the container's start compiled it).
    let spec = crate::spec::load_config(&state.bundle)?;
    let seccomp_profile = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref());
    let (seccomp, notify_rx, notify_tx) = crate::seccomp::prepare_for_container(seccomp_profile)?;
    let filter = seccomp.as_ref().map(|program| crate::seccomp::Filter {
        program,
        notify: notify_tx.as_ref(),
    });
    let namespaces = open_namespaces(state.pid)?;
    // Joining a pid namespace only moves our future children into it.
    let own_pidns = std::fs::metadata("/proc/self/ns/pid").map(|m| m.ino()).ok();
    let their_pidns = std::fs::metadata(format!("/proc/{}/ns/pid", state.pid))
        .map(|m| m.ino())
        .ok();
    if own_pidns != their_pidns {
        let path = PathBuf::from(format!("/proc/{}/ns/pid", state.pid));
        crate::namespaces::join(oci_spec::runtime::LinuxNamespaceType::Pid, &path)?;
    }
    let (parent_sock, child_sock) = sync::pair()?;
    let stub = process::ExecStub::load()?;
    let mut old_mask = SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        SigmaskHow::SIG_BLOCK,
        Some(&forwarded_signals()),
        Some(&mut old_mask),
    )
    .map_err(|e| Error::sys("block signals", e))?;
    let pid = match clone_process(0)? {
        None => child(ChildContext {
            sock: child_sock,
            namespaces: &namespaces,
            process: &opts.process,
            mask: old_mask,
            preserve: opts.preserve_fds,
            console: opts.console.as_ref(),
            filter,
            stub: &stub,
        }),
        Some(pid) => pid,
    };
    drop(child_sock);
    drop(notify_tx);
    drop(namespaces);
    drop(stub);
    let started = (|| {
        if let Some(cg) = &state.cgroup {
            cg.add_pid(pid.as_raw())?;
        }
        parent_sock.send(&Message::Go)?;
        if let (Some(rx), Some(profile)) = (&notify_rx, seccomp_profile) {
            let running = oci_spec::runtime::ContainerState::Running;
            let st = crate::seccomp::notify::oci_state(
                &spec,
                &opts.id,
                running,
                pid.as_raw(),
                &state.bundle,
            );
            crate::seccomp::notify::forward(rx, profile, st)?;
        }
        parent_sock.expect(Message::Ready)?;
        parent_sock.send(&Message::Start)?;
        match parent_sock.recv()? {
            None => Ok(()),
            Some(Message::Failed(text)) => Err(Error::Init(text)),
            Some(other) => Err(Error::Init(format!("unexpected message {other:?}"))),
        }
    })();
    if let Err(e) = started {
        let _ = kill(pid, Signal::SIGKILL);
        let _ = waitpid(pid, None);
        return Err(e);
    }
    if let Some(path) = &opts.pid_file {
        std::fs::write(path, pid.as_raw().to_string())
            .map_err(|e| Error::io("write pid file", path, e))?;
    }
    if opts.detach {
        return Ok(0);
    }
    super::run::wait_forwarding(pid, |_| false)
}

/// What the exec'd child needs, borrowed from the parent's memory.
struct ChildContext<'a> {
    sock: SyncSocket,
    namespaces: &'a [(File, CloneFlags)],
    process: &'a Process,
    mask: SigSet,
    preserve: u32,
    console: Option<&'a UnixStream>,
    filter: Option<crate::seccomp::Filter<'a>>,
    stub: &'a process::ExecStub,
}

fn child(ctx: ChildContext<'_>) -> ! {
    let ChildContext {
        sock,
        namespaces,
        process,
        mask,
        preserve,
        console,
        filter,
        stub,
    } = ctx;
    let result = (|| -> Result<std::convert::Infallible> {
        // See the init: no /proc/PID/exe access to the runtime's image.
        process::set_dumpable(false)?;
        sock.expect(Message::Go)?;
        for (file, flag) in namespaces {
            nix::sched::setns(file, *flag).map_err(|e| Error::sys(format!("setns {flag:?}"), e))?;
        }
        nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
        if let Some(console) = console {
            let user = process.user();
            crate::console::setup_pty(
                console.as_raw_fd(),
                process.console_size(),
                user.uid(),
                user.gid(),
                false,
            )?;
        }
        // As in the init: what a seccomp profile may refuse comes before
        // the filter.
        mask.thread_set_mask()
            .map_err(|e| Error::sys("restore signal mask", e))?;
        process::reset_signal_dispositions(false)?;
        process::close_fds_on_exec(3 + preserve)?;
        let launcher = process::Launcher {
            stub,
            channel: Some(sock.raw_fd()),
            env: Vec::new(),
        };
        let armed = process::prepare(process, filter, launcher)?;
        sock.send(&Message::Ready)?;
        sock.expect(Message::Start)?;
        Err(armed.exec())
    })();
    let Err(e) = result;
    let _ = sock.send(&Message::Failed(crate::error_chain(&e)));
    // SAFETY: _exit skips the parent's atexit handlers and destructors.
    unsafe { libc::_exit(127) }
}
