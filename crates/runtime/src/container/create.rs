//! `create` (and the first half of `run`): everything up to a container
//! whose init waits to exec the user's process.

use super::init::{self, InitContext};
use crate::cgroups::Cgroup;
use crate::error::{Error, Result};
use crate::namespaces::NamespacePlan;
use crate::state::{process_start_time, ContainerState, StateRoot, EXEC_FIFO};
use crate::sync::{self, Message, SyncSocket};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::stat::Mode;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use oci_spec::runtime::LinuxIdMapping;
use std::fs::{File, OpenOptions};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

/// How the init is told to exec the user process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Launch {
    /// `create`: the init waits on `exec.fifo` until `start`.
    Create,
    /// `run`: the parent sends `Start` over the sync socket right away.
    Run,
}

/// Options of `create` and `run` beyond the config.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// The container id.
    pub id: String,
    /// The bundle directory.
    pub bundle: PathBuf,
    /// Write the init's pid here.
    pub pid_file: Option<PathBuf>,
    /// Send the pty master here (`process.terminal`).
    pub console_socket: Option<PathBuf>,
    /// Extra descriptors (3..3+N) passed to the container.
    pub preserve_fds: u32,
    /// Use MS_MOVE + chroot instead of pivot_root.
    pub no_pivot: bool,
    /// A foreground run's notify relay directory, bound in for the
    /// process's `NOTIFY_SOCKET` ([`super::notify_relay`]).
    pub notify_dir: Option<PathBuf>,
}

/// A container whose init is set up and waiting.
pub struct Created {
    /// What was saved to `state.json`.
    pub state: ContainerState,
    /// The runtime's end of the sync socket (`Launch::Run` sends `Start`).
    pub sock: SyncSocket,
    /// The signal mask the runtime had before blocking forwarded signals.
    pub old_mask: SigSet,
    /// The process has a terminal (its pty master went to the console).
    pub terminal: bool,
}

/// Signals a foreground `run` forwards to the container; blocked from
/// before the clone so none is lost, and waited for with `sigwait`.
pub fn forwarded_signals() -> SigSet {
    let mut set = SigSet::all();
    for s in [
        Signal::SIGKILL,
        Signal::SIGSTOP,
        Signal::SIGSEGV,
        Signal::SIGBUS,
        Signal::SIGILL,
        Signal::SIGFPE,
    ] {
        set.remove(s);
    }
    set
}

/// Create container `opts.id` from its bundle. On any error nothing is
/// left behind: no state dir, no cgroup, no process.
///
/// With `process.terminal` the pty master goes to `console` if given (a
/// foreground `run` proxying the terminal itself), else to
/// `opts.console_socket`.
pub fn create(
    root: &StateRoot,
    opts: &CreateOptions,
    launch: Launch,
    console: Option<UnixStream>,
) -> Result<Created> {
    let bundle =
        std::fs::canonicalize(&opts.bundle).map_err(|e| Error::io("bundle", &opts.bundle, e))?;
    let mut spec = crate::spec::load_config(&bundle)?;
    crate::spec::validate(&spec)?;
    if let Some(dir) = &opts.notify_dir {
        super::notify_relay::apply(&mut spec, dir)?;
    }
    crate::warning::debug(|| {
        format!(
            "{}: config {}/config.json is valid",
            opts.id,
            bundle.display()
        )
    });
    let terminal = spec
        .process()
        .as_ref()
        .and_then(|p| p.terminal())
        .unwrap_or(false);
    let console = match (terminal, console, &opts.console_socket) {
        (false, _, _) => None,
        (true, Some(c), _) => Some(c),
        (true, None, Some(path)) => Some(crate::console::connect(path)?),
        (true, None, None) => {
            return Err(Error::InvalidConfig {
                field: "process.terminal",
                reason: "a terminal needs --console-socket when the runtime does not stay attached"
                    .into(),
            })
        }
    };
    let rootfs = crate::spec::rootfs_path(&spec, &bundle)?;
    let linux = spec.linux().as_ref();
    // Compiled (or read from the cache) before anything exists, so a bad
    // profile leaves nothing behind; the init inherits the program.
    let seccomp_profile = linux.and_then(|l| l.seccomp().as_ref());
    let (seccomp, notify_rx, notify_tx) = crate::seccomp::prepare_for_container(seccomp_profile)?;
    let plan = NamespacePlan::new(
        linux
            .and_then(|l| l.namespaces().as_deref())
            .unwrap_or_default(),
    );

    let claimed = root.claim(&opts.id)?;
    let fifo = match launch {
        Launch::Create => Some(make_exec_fifo(claimed.path())?),
        Launch::Run => None,
    };
    // One mountinfo read serves the cgroup and, in the init, the cgroup mount.
    let (cgroup_layout, cgroup) = CgroupGuard::for_config(linux, &opts.id)?;
    let idmaps = crate::rootfs::idmap::prepare(spec.mounts().as_deref().unwrap_or_default())?;
    let (parent_sock, child_sock) = sync::pair()?;
    let stub = crate::process::ExecStub::load()?;
    if let Some(path) = &plan.join_pid {
        crate::namespaces::join(oci_spec::runtime::LinuxNamespaceType::Pid, path)?;
    }
    let mut old_mask = SigSet::empty();
    nix::sys::signal::pthread_sigmask(
        SigmaskHow::SIG_BLOCK,
        Some(&forwarded_signals()),
        Some(&mut old_mask),
    )
    .map_err(|e| Error::sys("block signals", e))?;
    let cgroup_rel = cgroup_relative_path(linux.and_then(|l| l.cgroups_path().as_deref()));

    let pid = match clone_process(plan.clone_flags.bits())? {
        None => init::run(InitContext {
            spec: &spec,
            bundle: &bundle,
            rootfs: &rootfs,
            plan: &plan,
            sock: child_sock,
            launch,
            fifo,
            cgroup_path: cgroup_rel.as_deref(),
            sigmask: old_mask,
            preserve_fds: opts.preserve_fds,
            no_pivot: opts.no_pivot,
            idmaps,
            cgroup_layout: cgroup_layout.as_ref(),
            console,
            seccomp: seccomp.as_ref(),
            seccomp_notify: notify_tx.as_ref(),
            stub: &stub,
        }),
        Some(pid) => pid,
    };
    drop(child_sock);
    drop(notify_tx);
    drop(fifo);
    drop(stub);
    let child = ChildGuard(Some(pid));

    if plan.new_user {
        if let Some(l) = linux {
            write_id_maps(
                pid,
                l.uid_mappings().as_deref(),
                l.gid_mappings().as_deref(),
            )?;
        }
    }
    if let Some(cg) = &cgroup {
        cg.0.add_pid(pid.as_raw())?;
    }
    parent_sock.send(&Message::Go)?;
    if let Some(hooks) = spec.hooks() {
        parent_sock.expect(Message::Hooks)?;
        let json = crate::hooks::creating_state_json(&spec, &opts.id, pid.as_raw(), &bundle);
        let ran = crate::hooks::run_list("prestart", hooks.prestart().as_ref(), json.as_bytes())
            .and_then(|()| {
                let create_runtime = hooks.create_runtime().as_ref();
                crate::hooks::run_list("createRuntime", create_runtime, json.as_bytes())
            });
        if let Err(e) = ran {
            let _ = parent_sock.send(&Message::Failed(crate::error_chain(&e)));
            return Err(e);
        }
        parent_sock.send(&Message::HooksDone(json))?;
    }
    if let (Some(rx), Some(profile)) = (&notify_rx, seccomp_profile) {
        let creating = oci_spec::runtime::ContainerState::Creating;
        let st =
            crate::seccomp::notify::oci_state(&spec, &opts.id, creating, pid.as_raw(), &bundle);
        // The listener has the fd before the init goes on: a notified
        // syscall of the init's last steps cannot hang the start.
        crate::seccomp::notify::forward(rx, profile, st)?;
    }
    parent_sock.expect(Message::Ready)?;

    let state = ContainerState {
        id: opts.id.clone(),
        pid: pid.as_raw(),
        pid_start: process_start_time(pid.as_raw()).unwrap_or(0),
        bundle: bundle.clone(),
        rootfs,
        created: crate::time::now_rfc3339(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup: cgroup.as_ref().map(|c| c.0.clone()),
        hooks: spec.hooks().clone(),
        resources: linux.and_then(|l| l.resources().clone()),
        oci_version: spec.version().clone(),
    };
    state.save(claimed.path())?;
    if let Some(path) = &opts.pid_file {
        write_pid_file(path, pid.as_raw())?;
    }
    claimed.keep();
    if let Some(cg) = cgroup {
        cg.disarm();
    }
    child.disarm();
    crate::warning::debug(|| format!("{}: created, init pid {}", opts.id, pid.as_raw()));
    Ok(Created {
        state,
        sock: parent_sock,
        old_mask,
        terminal,
    })
}

/// `clone(2)` without a new stack: like `fork`, with namespace flags. The
/// runtime is single-threaded, so the child's copy of memory is consistent.
/// Returns `None` in the child.
pub(crate) fn clone_process(flags: libc::c_int) -> Result<Option<Pid>> {
    // SAFETY: with a null stack the child continues on a copy of our stack,
    // exactly as fork(2) does; no pointers are passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            (flags as libc::c_ulong) | (libc::SIGCHLD as libc::c_ulong),
            0usize,
            0usize,
            0usize,
            0usize,
        )
    };
    match ret {
        -1 => Err(Error::sys("clone", nix::errno::Errno::last())),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

/// Make `exec.fifo` and open it read-write: opening a fifo read-write never
/// blocks, and the init inherits the descriptor, so it can wait on it after
/// pivot_root without a path.
fn make_exec_fifo(dir: &Path) -> Result<File> {
    let path = dir.join(EXEC_FIFO);
    nix::unistd::mkfifo(&path, Mode::from_bits_truncate(0o600))
        .map_err(|e| Error::sys("mkfifo exec.fifo", e))?;
    OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open", path, e))
}

fn write_id_maps(
    pid: Pid,
    uid: Option<&[LinuxIdMapping]>,
    gid: Option<&[LinuxIdMapping]>,
) -> Result<()> {
    let uid = uid.unwrap_or_default();
    let gid = gid.unwrap_or_default();
    if nix::unistd::geteuid().is_root() {
        crate::namespaces::write_id_map(pid, "uid_map", uid)?;
        return crate::namespaces::write_id_map(pid, "gid_map", gid);
    }
    // Rootless: the kernel lets a user map only itself, and only after
    // giving up setgroups; anything else goes through the setuid helpers
    // that check /etc/subuid and /etc/subgid.
    let own = |maps: &[LinuxIdMapping], id: u32| {
        maps.len() == 1 && maps[0].host_id() == id && maps[0].size() == 1
    };
    if own(uid, nix::unistd::geteuid().as_raw()) {
        crate::namespaces::write_id_map(pid, "uid_map", uid)?;
    } else {
        map_with_helper("newuidmap", pid, uid)?;
    }
    if own(gid, nix::unistd::getegid().as_raw()) {
        let path = format!("/proc/{pid}/setgroups");
        std::fs::write(&path, "deny").map_err(|e| Error::io("write", path, e))?;
        crate::namespaces::write_id_map(pid, "gid_map", gid)
    } else {
        map_with_helper("newgidmap", pid, gid)
    }
}

fn map_with_helper(helper: &'static str, pid: Pid, maps: &[LinuxIdMapping]) -> Result<()> {
    let mut cmd = std::process::Command::new(helper);
    cmd.arg(pid.to_string());
    for m in maps {
        cmd.args([
            m.container_id().to_string(),
            m.host_id().to_string(),
            m.size().to_string(),
        ]);
    }
    let out = cmd.output().map_err(|e| Error::io("run", helper, e))?;
    if !out.status.success() {
        return Err(Error::InvalidConfig {
            field: "linux.uidMappings",
            reason: format!(
                "{helper} refused the mapping: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(())
}

/// The pid file engines read: written whole, then renamed into place.
pub(crate) fn write_pid_file(path: &Path, pid: i32) -> Result<()> {
    let tmp = path.with_extension("berth-tmp");
    std::fs::write(&tmp, pid.to_string()).map_err(|e| Error::io("write pid file", &tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::io("write pid file", path, e))
}

/// The container's cgroup relative to the hierarchy roots, for bind
/// mounting it when there is no cgroup namespace.
fn cgroup_relative_path(cgroups_path: Option<&Path>) -> Option<PathBuf> {
    cgroups_path
        .filter(|p| p.is_absolute())
        .map(Path::to_path_buf)
}

/// Whether `resources` sets any limit (a device rule list alone is not one:
/// rootless containers cannot have device cgroups anyway).
fn has_limits(resources: Option<&oci_spec::runtime::LinuxResources>) -> bool {
    let Some(r) = resources else { return false };
    r.memory().is_some()
        || r.cpu().is_some()
        || r.pids().is_some()
        || r.block_io().is_some()
        || r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty())
        || r.unified().as_ref().is_some_and(|u| !u.is_empty())
}

/// Removes the cgroup if creation fails after it was made.
pub(crate) struct CgroupGuard(Cgroup, bool);

impl CgroupGuard {
    /// The guarded cgroup.
    pub(crate) fn cgroup(&self) -> &Cgroup {
        &self.0
    }

    /// The host's cgroup layout and the container's cgroup, made from
    /// `linux.cgroupsPath` and `linux.resources` (neither without `linux`).
    pub(crate) fn for_config(
        linux: Option<&oci_spec::runtime::Linux>,
        id: &str,
    ) -> Result<(Option<crate::cgroups::Layout>, Option<Self>)> {
        let Some(l) = linux else {
            return Ok((None, None));
        };
        let layout = crate::cgroups::Layout::detect()?;
        let guard = Self::create(
            &layout,
            l.cgroups_path().as_deref(),
            id,
            l.resources().as_ref(),
        )?;
        Ok((Some(layout), guard))
    }

    fn create(
        layout: &crate::cgroups::Layout,
        path: Option<&Path>,
        id: &str,
        resources: Option<&oci_spec::runtime::LinuxResources>,
    ) -> Result<Option<Self>> {
        let path = path
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let cg = Cgroup::with_layout(layout, &path, id)?;
        match cg.create() {
            Ok(()) => {}
            // Rootless without a delegated cgroup: like runc, go on
            // without one as long as no limit was asked for.
            Err(crate::cgroups::Error::Mkdir { ref source, .. })
                if !crate::namespaces::host_root()
                    && matches!(
                        source.raw_os_error(),
                        Some(libc::EACCES | libc::EPERM | libc::EROFS)
                    )
                    && !has_limits(resources) =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
        let guard = CgroupGuard(cg, true);
        if let Some(r) = resources {
            guard.0.apply(r)?;
        }
        Ok(Some(guard))
    }

    pub(crate) fn disarm(mut self) {
        self.1 = false;
    }
}

impl Drop for CgroupGuard {
    fn drop(&mut self) {
        if self.1 {
            let _ = self.0.destroy();
        }
    }
}

/// Kills and reaps the init if creation fails after the clone.
struct ChildGuard(Option<Pid>);

impl ChildGuard {
    fn disarm(mut self) {
        self.0 = None;
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = nix::sys::signal::kill(pid, Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
}
