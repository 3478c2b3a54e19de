//! The container's init: the child of `clone`, running a copy of the
//! runtime's memory (no re-exec), until it execs the user's process.
//!
//! Stages, each answering to a message of [`crate::sync`]:
//! wait for `Go` → join/make the remaining namespaces → rootfs, pivot_root
//! → finishing mounts → credentials → `Ready` → wait for start → exec.

use super::create::Launch;
use crate::error::{Error, Result};
use crate::namespaces::NamespacePlan;
use crate::process;
use crate::rootfs::{self, RootfsOptions};
use crate::sync::{Message, SyncSocket};
use nix::sys::signal::SigSet;
use oci_spec::runtime::Spec;
use std::fs::File;
use std::io::Read;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Everything the init needs, borrowed from the parent's memory (the init
/// is a fork: no serialisation is needed).
pub struct InitContext<'a> {
    /// The container config.
    pub spec: &'a Spec,
    /// The bundle directory.
    pub bundle: &'a Path,
    /// The rootfs directory.
    pub rootfs: &'a Path,
    /// How to get the namespaces.
    pub plan: &'a NamespacePlan,
    /// The init's end of the sync channel.
    pub sock: SyncSocket,
    /// `Create`: block on the exec fifo (opened read-write by the parent, so
    /// opening it never blocks); `Run`: wait for `Start` on the socket.
    pub launch: Launch,
    /// The exec fifo, for `Launch::Create`.
    pub fifo: Option<File>,
    /// The container's cgroup relative to the hierarchy roots.
    pub cgroup_path: Option<&'a Path>,
    /// The signal mask to restore before exec (the parent blocked signals
    /// it forwards).
    pub sigmask: SigSet,
    /// Descriptors 3.. that stay open for the process (`--preserve-fds`,
    /// socket activation).
    pub preserve_fds: u32,
    /// `--no-pivot`.
    pub no_pivot: bool,
    /// The host's cgroup hierarchies, detected once by the runtime.
    pub cgroup_layout: Option<&'a crate::cgroups::Layout>,
    /// Per mount: the user namespace of an idmapped bind mount.
    pub idmaps: Vec<Option<std::os::fd::OwnedFd>>,
    /// Connected console socket, when `process.terminal` is set.
    pub console: Option<UnixStream>,
    /// The compiled `linux.seccomp` filter, if the config has one.
    pub seccomp: Option<&'a crate::seccomp::Program>,
    /// Where the filter's notify descriptor goes (`SCMP_ACT_NOTIFY`).
    pub seccomp_notify: Option<&'a crate::seccomp::notify::NotifySender>,
    /// The sealed exec stub the init execs instead of the user's program.
    pub stub: &'a process::ExecStub,
}

/// The init's whole life. Never returns: it execs or exits.
pub fn run(mut ctx: InitContext<'_>) -> ! {
    let err = match setup_and_exec(&mut ctx) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let text = crate::error_chain(&err);
    // The parent may be gone (signal actions are the defaults by now): a
    // write to its socket must fail, not kill us.
    // SAFETY: SIG_IGN installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    // Once `create` has returned the parent is gone: `start` reads the
    // failure from the exec fifo, and stderr has it for the engine.
    if ctx.sock.send(&Message::Failed(text.clone())).is_err() {
        if let Some(fifo) = &mut ctx.fifo {
            let _ = std::io::Write::write_all(
                fifo,
                &crate::sync::encode(&Message::Failed(text.clone())),
            );
        }
        eprintln!("berth-runtime: container init: {text}");
    }
    // SAFETY: _exit ends this process without running the parent's
    // destructors or atexit handlers, which belong to the parent.
    unsafe { libc::_exit(127) }
}

enum Never {}

fn setup_and_exec(ctx: &mut InitContext<'_>) -> Result<Never> {
    // Device nodes and mount points get exactly the modes asked for.
    nix::sys::stat::umask(nix::sys::stat::Mode::empty());
    // Until exec this process is a copy of the runtime: a process of the
    // container (an `exec` into a created container) must not open the
    // runtime binary through /proc/1/exe and overwrite it (CVE-2019-5736).
    // Non-dumpable processes' /proc entries need CAP_SYS_PTRACE; exec makes
    // the user's process dumpable again. In a new user namespace the parent
    // writes our id maps before `Go`, and an unprivileged parent could not
    // open a non-dumpable process's maps (a race it lost now and then);
    // there we go non-dumpable right after, before entering anything.
    if !ctx.plan.new_user {
        crate::process::set_dumpable(false)?;
    }
    ctx.sock.expect(Message::Go)?;
    if ctx.plan.new_user {
        crate::process::set_dumpable(false)?;
    }
    let plan = ctx.plan;
    plan.enter()?;
    if plan.new_user {
        // The parent wrote our maps; become root of the new namespace.
        nix::unistd::setresgid(0.into(), 0.into(), 0.into())
            .map_err(|e| Error::sys("setresgid 0 in userns", e))?;
        nix::unistd::setresuid(0.into(), 0.into(), 0.into())
            .map_err(|e| Error::sys("setresuid 0 in userns", e))?;
        // Root of the new namespace must own its /proc/self files to write
        // them; the runtime binary belongs to an unmapped host uid, so the
        // container cannot write it anyway.
        crate::process::set_dumpable(true)?;
    }
    if plan.new_cgroup {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWCGROUP)
            .map_err(|e| Error::sys("unshare cgroup namespace", e))?;
    }
    if plan.new_time {
        enter_time_namespace(ctx.spec)?;
    }
    set_names(ctx.spec, plan)?;
    if plan.new_net {
        crate::loopback::bring_up()?;
    }
    let ropts = RootfsOptions {
        rootfs: ctx.rootfs,
        bundle: ctx.bundle,
        in_userns: plan.new_user || crate::namespaces::running_in_userns(),
        cgroupns: plan.new_cgroup,
        cgroup_path: ctx.cgroup_path,
        no_pivot: ctx.no_pivot,
        idmaps: &ctx.idmaps,
        cgroup_layout: ctx.cgroup_layout,
    };
    if plan.new_mount {
        rootfs::setup(ctx.spec, &ropts)?;
    }
    let hooks = ctx.spec.hooks().as_ref();
    let state_json = if hooks.is_some() {
        ctx.sock.send(&Message::Hooks)?;
        let json = match ctx.sock.recv()? {
            Some(Message::HooksDone(json)) => json,
            Some(Message::Failed(text)) => return Err(Error::Init(text)),
            other => return Err(Error::Init(format!("expected HooksDone, got {other:?}"))),
        };
        let create_container = hooks.and_then(|h| h.create_container().as_ref());
        crate::hooks::run_list("createContainer", create_container, json.as_bytes())?;
        Some(json)
    } else {
        None
    };
    rootfs::enter(&ropts, plan.new_mount)?;
    rootfs::finish(ctx.spec)?;
    nix::unistd::setsid().map_err(|e| Error::sys("setsid", e))?;
    let proc_spec = ctx
        .spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::InvalidConfig {
            field: "process",
            reason: "missing".into(),
        })?;
    if let Some(console) = ctx.console.take() {
        let user = proc_spec.user();
        crate::console::setup_pty(
            console.as_raw_fd(),
            proc_spec.console_size(),
            user.uid(),
            user.gid(),
            plan.new_mount,
        )?;
    }
    // Before the filter: a profile may not allow personality(2).
    if let Some(p) = ctx
        .spec
        .linux()
        .as_ref()
        .and_then(|l| l.personality().as_ref())
    {
        process::set_personality(p)?;
    }
    // Everything that needs a syscall a seccomp profile may refuse happens
    // before the filter: the runtime's signal mask goes, descriptors are
    // marked close-on-exec, and the exec is built whole.
    ctx.sigmask
        .thread_set_mask()
        .map_err(|e| Error::sys("restore signal mask", e))?;
    let start_hooks =
        hooks.is_some_and(|h| h.start_container().as_ref().is_some_and(|l| !l.is_empty()));
    process::reset_signal_dispositions(start_hooks)?;
    process::close_fds_on_exec(3 + ctx.preserve_fds)?;
    let channel = match ctx.launch {
        Launch::Run => ctx.sock.raw_fd(),
        Launch::Create => ctx
            .fifo
            .as_ref()
            .map(AsRawFd::as_raw_fd)
            .ok_or_else(|| Error::Init("no exec fifo".into()))?,
    };
    let mut env = Vec::new();
    if ctx.preserve_fds > 0 && std::env::var_os("LISTEN_FDS").is_some() {
        env.push(("LISTEN_FDS", ctx.preserve_fds.to_string()));
        env.push(("LISTEN_PID", nix::unistd::getpid().to_string()));
    }
    let launcher = process::Launcher {
        stub: ctx.stub,
        channel: Some(channel),
        env,
    };
    let filter = ctx.seccomp.map(|program| crate::seccomp::Filter {
        program,
        notify: ctx.seccomp_notify,
    });
    let armed = process::prepare(proc_spec, filter, launcher)?;
    ctx.sock.send(&Message::Ready)?;
    match ctx.launch {
        Launch::Run => ctx.sock.expect(Message::Start)?,
        Launch::Create => wait_for_start(ctx.fifo.as_mut())?,
    }
    if let Some(json) = &state_json {
        let start_container = hooks.and_then(|h| h.start_container().as_ref());
        crate::hooks::run_list("startContainer", start_container, json.as_bytes())?;
    }
    if start_hooks {
        process::reset_sigpipe();
    }
    Err(armed.exec())
}

/// Block until `start` writes to the exec fifo.
fn wait_for_start(fifo: Option<&mut File>) -> Result<()> {
    let fifo = fifo.ok_or_else(|| Error::Init("no exec fifo".into()))?;
    let mut byte = [0u8; 1];
    loop {
        match fifo.read(&mut byte) {
            Ok(1) => return Ok(()),
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io("read", crate::state::EXEC_FIFO, e)),
        }
    }
}

fn set_names(spec: &Spec, plan: &NamespacePlan) -> Result<()> {
    if let Some(h) = spec.hostname().as_deref().filter(|h| !h.is_empty()) {
        if !plan.new_uts {
            return Err(Error::InvalidConfig {
                field: "hostname",
                reason: "needs a new uts namespace".into(),
            });
        }
        nix::unistd::sethostname(h).map_err(|e| Error::sys(format!("sethostname {h}"), e))?;
    }
    if let Some(d) = spec.domainname().as_deref().filter(|d| !d.is_empty()) {
        if !plan.new_uts {
            return Err(Error::InvalidConfig {
                field: "domainname",
                reason: "needs a new uts namespace".into(),
            });
        }
        // SAFETY: the pointer and length describe `d`'s bytes.
        let ret = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
        if ret != 0 {
            return Err(Error::sys(
                format!("setdomainname {d}"),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

/// A new time namespace with `linux.timeOffsets`. Offsets can only be
/// written before any process lives in it; the init enters it at exec.
fn enter_time_namespace(spec: &Spec) -> Result<()> {
    nix::sched::unshare(nix::sched::CloneFlags::from_bits_retain(
        libc::CLONE_NEWTIME,
    ))
    .map_err(|e| Error::sys("unshare time namespace", e))?;
    let offsets = spec
        .linux()
        .as_ref()
        .and_then(|l| l.time_offsets().clone())
        .unwrap_or_default();
    let mut text = String::new();
    for (clock, off) in offsets {
        let name = match clock.as_str() {
            "monotonic" | "boottime" => clock,
            other => {
                return Err(Error::InvalidConfig {
                    field: "linux.timeOffsets",
                    reason: format!("unknown clock {other:?}"),
                })
            }
        };
        text.push_str(&format!(
            "{name} {} {}\n",
            off.secs().unwrap_or(0),
            off.nanosecs().unwrap_or(0)
        ));
    }
    if !text.is_empty() {
        std::fs::write("/proc/self/timens_offsets", text)
            .map_err(|e| Error::io("write", "/proc/self/timens_offsets", e))?;
    }
    Ok(())
}
