//! Installing a compiled program with `seccomp(2)` directly: a cached
//! program needs no libseccomp at all, and the flags are ours to choose.

use super::compile::INSN_SIZE;
use super::error::{Error, Result};
use oci_spec::runtime::LinuxSeccompFilterFlag;
use std::os::fd::{FromRawFd, OwnedFd};

/// The spec's name and the kernel's bit for each filter flag.
pub(crate) const FLAGS: [(LinuxSeccompFilterFlag, &str, libc::c_ulong); 4] = [
    (
        LinuxSeccompFilterFlag::SeccompFilterFlagTsync,
        "SECCOMP_FILTER_FLAG_TSYNC",
        libc::SECCOMP_FILTER_FLAG_TSYNC,
    ),
    (
        LinuxSeccompFilterFlag::SeccompFilterFlagLog,
        "SECCOMP_FILTER_FLAG_LOG",
        libc::SECCOMP_FILTER_FLAG_LOG,
    ),
    (
        LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow,
        "SECCOMP_FILTER_FLAG_SPEC_ALLOW",
        libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW,
    ),
    (
        LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv,
        "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
        libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
    ),
];

/// The kernel flags for the spec's `flags`, plus a listener if asked.
pub(crate) fn kernel_flags(flags: &[LinuxSeccompFilterFlag], listener: bool) -> libc::c_ulong {
    let mut bits = flags
        .iter()
        .filter_map(|f| FLAGS.iter().find(|(spec, ..)| spec == f))
        .fold(0, |acc, (_, _, bit)| acc | bit);
    if listener {
        bits |= libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
        // The kernel refuses TSYNC with a listener unless a failed sync is
        // reported as ESRCH instead of a thread id (libseccomp does this).
        if bits & libc::SECCOMP_FILTER_FLAG_TSYNC != 0 {
            bits |= libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    } else {
        // Only meaningful for a listener; the kernel refuses it alone.
        bits &= !libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    bits
}

/// Install `program` (a `struct sock_filter` array) on this thread with
/// `flags`. With `SECCOMP_FILTER_FLAG_NEW_LISTENER` the kernel returns the
/// notify descriptor (close-on-exec), which is returned here.
///
/// The kernel allows this to a process with `no_new_privs` set or with
/// CAP_SYS_ADMIN in its user namespace: without `noNewPrivileges` it must
/// run before capabilities are dropped.
pub(crate) fn install(program: &[u8], flags: libc::c_ulong) -> Result<Option<OwnedFd>> {
    // The kernel reads the instructions through the pointer; they need the
    // alignment of struct sock_filter (4), which a Vec<u8> does not promise.
    let insns: Vec<libc::sock_filter> = program
        .chunks_exact(INSN_SIZE)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect();
    let prog = libc::sock_fprog {
        len: insns.len() as libc::c_ushort,
        filter: insns.as_ptr().cast_mut(),
    };
    // SAFETY: `prog` points at `insns`, alive for the call; the kernel
    // copies the program and keeps no pointer to it.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &prog as *const libc::sock_fprog,
        )
    };
    if ret < 0 {
        return Err(Error::sys(
            format!("seccomp(SECCOMP_SET_MODE_FILTER, flags {flags:#x})"),
            nix::errno::Errno::last(),
        ));
    }
    if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        // SAFETY: with NEW_LISTENER a successful call returns a new
        // descriptor that nothing else owns.
        return Ok(Some(unsafe { OwnedFd::from_raw_fd(ret as i32) }));
    }
    Ok(None)
}

/// Whether the running kernel knows filter flag `bit`: with a null program
/// a known flag fails with EFAULT, an unknown one with EINVAL (libseccomp
/// probes the same way). Loads nothing.
pub(crate) fn kernel_knows_flag(bit: libc::c_ulong) -> bool {
    // SAFETY: a null program pointer is never dereferenced successfully;
    // the kernel reports EFAULT (or EINVAL) and changes nothing.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            bit,
            std::ptr::null::<libc::sock_fprog>(),
        )
    };
    ret < 0 && nix::errno::Errno::last() == nix::errno::Errno::EFAULT
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_to_kernel_bits() {
        use LinuxSeccompFilterFlag::*;
        assert_eq!(kernel_flags(&[], false), 0);
        assert_eq!(
            kernel_flags(&[SeccompFilterFlagLog, SeccompFilterFlagSpecAllow], false),
            libc::SECCOMP_FILTER_FLAG_LOG | libc::SECCOMP_FILTER_FLAG_SPEC_ALLOW
        );
        assert_eq!(
            kernel_flags(&[SeccompFilterFlagTsync], true),
            libc::SECCOMP_FILTER_FLAG_TSYNC
                | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
                | libc::SECCOMP_FILTER_FLAG_TSYNC_ESRCH
        );
        assert_eq!(kernel_flags(&[SeccompFilterFlagWaitKillableRecv], false), 0);
        assert_eq!(
            kernel_flags(&[SeccompFilterFlagWaitKillableRecv], true),
            libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV | libc::SECCOMP_FILTER_FLAG_NEW_LISTENER
        );
    }

    #[test]
    fn probing_flags_loads_nothing() {
        assert!(kernel_knows_flag(libc::SECCOMP_FILTER_FLAG_TSYNC));
        assert!(!kernel_knows_flag(1 << 30));
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(status.contains("Seccomp:\t0"), "{status}");
    }
}
