//! Turning the init (or an exec'd helper) into the user's process: limits,
//! user, working directory, capabilities, then exec.

mod caps;
mod exec;
mod lsm;
mod rlimits;
mod sched;
mod user;

pub use sched::set_personality;

pub use exec::ExecTarget;

use crate::error::{Error, Result};
use crate::seccomp;
use oci_spec::runtime::Process;

/// Apply everything in `process` that changes this process's credentials
/// and limits, in the order the kernel requires, and find the executable.
/// Runs inside the container's root; after it, only exec is left.
///
/// The seccomp filter is loaded where the kernel and runc put it: without
/// `noNewPrivileges` loading needs CAP_SYS_ADMIN, so before the user and
/// capabilities change; with it, last, so that the runtime's own syscalls
/// after it are few (the profile must allow only those before exec).
pub fn prepare(process: &Process, filter: Option<seccomp::Filter<'_>>) -> Result<ExecTarget> {
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
    let target = ExecTarget::resolve(args, env)?;
    if let Some(f) = filter.filter(|_| no_new_privs) {
        f.install()?;
    }
    Ok(target)
}

/// Mark every descriptor from `first` up close-on-exec, so nothing of the
/// runtime reaches the container (CVE-2024-21626 leaked a host directory fd
/// this way). Descriptors below `first` are stdio and preserved fds.
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
    if ret < 0 {
        return Err(Error::sys("close_range", nix::errno::Errno::last()));
    }
    Ok(())
}

/// `prctl(PR_SET_DUMPABLE)`.
pub fn set_dumpable(on: bool) -> Result<()> {
    nix::sys::prctl::set_dumpable(on).map_err(|e| Error::sys("prctl(PR_SET_DUMPABLE)", e))
}
