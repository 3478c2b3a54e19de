//! Turning the init (or an exec'd helper) into the user's process: limits,
//! user, working directory, capabilities, then exec.

mod caps;
mod exec;
mod exec_stub;
mod lsm;
mod rlimits;
mod sched;
mod user;

pub use sched::set_personality;

pub use exec::ExecTarget;
pub use exec_stub::{ArmedExec, ExecStub};

use crate::error::{Error, Result};
use crate::seccomp;
use oci_spec::runtime::Process;
use std::os::fd::RawFd;

/// How the final exec is made: through the sealed stub, with the channel
/// an exec failure is reported on and variables the runtime adds.
pub struct Launcher<'a> {
    /// The stub the init execs instead of the user's program.
    pub stub: &'a ExecStub,
    /// The parent's end reads a failure of the user's exec from here.
    pub channel: Option<RawFd>,
    /// Extra `KEY=VALUE` pairs (socket activation's LISTEN_FDS/LISTEN_PID).
    pub env: Vec<(&'static str, String)>,
}

/// Apply everything in `process` that changes this process's credentials
/// and limits, in the order the kernel requires, and find the executable.
/// Runs inside the container's root; after it, only exec is left.
///
/// The seccomp filter is loaded where the kernel and runc put it: without
/// `noNewPrivileges` loading needs CAP_SYS_ADMIN, so before the user and
/// capabilities change; with it, last, so that the runtime's own syscalls
/// after it are few (the profile must allow only those before exec): the
/// exec is built whole before it, and descriptors must already be marked
/// close-on-exec ([`close_fds_on_exec`]).
pub fn prepare(
    process: &Process,
    filter: Option<seccomp::Filter<'_>>,
    launcher: Launcher<'_>,
) -> Result<ArmedExec> {
    let no_new_privs = process.no_new_privileges().unwrap_or(false);
    if let Some(rl) = process.rlimits() {
        rlimits::apply(rl)?;
    }
    if let Some(adj) = process.oom_score_adj() {
        std::fs::write("/proc/self/oom_score_adj", adj.to_string())
            .map_err(|e| Error::io("write", "/proc/self/oom_score_adj", e))?;
    }
    // Both may need capabilities (CAP_SYS_ADMIN, CAP_SYS_NICE) that are
    // about to be dropped.
    if let Some(p) = process.io_priority() {
        sched::set_io_priority(p)?;
    }
    if let Some(s) = process.scheduler() {
        sched::set_scheduler(s)?;
    }
    if let Some(f) = filter.filter(|_| !no_new_privs) {
        f.install()?;
    }
    let capabilities = process.capabilities().as_ref();
    if let Some(c) = capabilities {
        caps::limit_bounding(c)?;
    }
    user::switch(
        process.user(),
        user::setgroups_allowed(),
        capabilities.is_some(),
    )?;
    let umask = process.user().umask().unwrap_or(0o022);
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(umask));
    nix::unistd::chdir(process.cwd())
        .map_err(|e| Error::sys(format!("chdir to cwd {}", process.cwd().display()), e))?;
    if let Some(c) = capabilities {
        caps::apply_sets(c)?;
    }
    if no_new_privs {
        nix::sys::prctl::set_no_new_privs()
            .map_err(|e| Error::sys("prctl(PR_SET_NO_NEW_PRIVS)", e))?;
    }
    lsm::prepare_exec(
        process.apparmor_profile().as_deref(),
        process.selinux_label().as_deref(),
    )?;
    let args = process.args().as_deref().unwrap_or_default();
    let env = process.env().as_deref().unwrap_or_default();
    let mut target = ExecTarget::resolve(args, env)?;
    for (key, value) in &launcher.env {
        target.set_env(key, value);
    }
    let armed = target.arm(launcher.stub, launcher.channel)?;
    if let Some(f) = filter.filter(|_| no_new_privs) {
        f.install()?;
    }
    Ok(armed)
}

/// Mark every descriptor from `first` up close-on-exec, so nothing of the
/// runtime reaches the container (CVE-2024-21626 leaked a host directory fd
/// this way). Descriptors below `first` are stdio and preserved fds. Done
/// before the seccomp filter is loaded: old profiles lack close_range.
/// Kernels before 5.11 lack its CLOEXEC flag; there each descriptor
/// listed in /proc/self/fd is marked instead.
pub fn close_fds_on_exec(first: u32) -> Result<()> {
    // SAFETY: close_range only changes flags of descriptors; no memory is
    // passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    };
    if ret == 0 {
        return Ok(());
    }
    let fds: Vec<RawFd> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| Error::io("list", "/proc/self/fd", e))?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse().ok())
        .filter(|&fd: &RawFd| fd >= first as RawFd)
        .collect();
    for fd in fds {
        // SAFETY: fcntl on a descriptor number; no memory is passed. The
        // directory's own descriptor is gone by now (EBADF is fine).
        if unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) } < 0
            && nix::errno::Errno::last() != nix::errno::Errno::EBADF
        {
            return Err(Error::sys(
                format!("mark fd {fd} close-on-exec"),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

/// Every signal back to its default action. Ignored signals stay ignored
/// across exec, and the runtime ignores SIGPIPE (Rust's start-up does), as
/// may whoever started the runtime (`nohup`): the container's process must
/// start with the defaults, as under runc. With `keep_sigpipe` SIGPIPE
/// is left for [`reset_sigpipe`]: the init still writes to hooks' stdin.
pub fn reset_signal_dispositions(keep_sigpipe: bool) -> Result<()> {
    // The raw syscall: the C library refuses the two signals it reserves
    // for itself, which a caller may still have ignored. An all-zero
    // kernel sigaction is SIG_DFL with no flags and an empty mask in every
    // architecture's layout.
    let default_action = [0u64; 4];
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || (keep_sigpipe && sig == libc::SIGPIPE) {
            continue;
        }
        // SAFETY: the new action is a zeroed kernel sigaction (SIG_DFL) that
        // outlives the call; no old action is asked for; 8 is the kernel's
        // sigset size.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                default_action.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            )
        };
        if ret < 0 {
            return Err(Error::sys(
                format!("reset the action of signal {sig}"),
                nix::errno::Errno::last(),
            ));
        }
    }
    Ok(())
}

/// SIGPIPE back to its default action, after the last hook. Past the
/// seccomp filter, so a refusal only leaves it ignored.
pub fn reset_sigpipe() {
    // SAFETY: SIG_DFL installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
}

/// `prctl(PR_SET_DUMPABLE)`.
pub fn set_dumpable(on: bool) -> Result<()> {
    nix::sys::prctl::set_dumpable(on).map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE)", e))
}
