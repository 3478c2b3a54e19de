//! The container's first exec goes through a stub (`stub/exec_stub.c`)
//! run from a sealed memfd, never straight from the init: the init is a
//! fork of the runtime, so an interpreter named `/proc/self/exe` in the
//! user's program would start the host's runtime binary inside the
//! container, writable through `/proc/PID/exe` (CVE-2019-5736). With the
//! stub in between, `/proc/self/exe` at the user's exec is the stub's sealed
//! copy.
//!
//! Why a stub rather than runc's other answers: it keeps the start cheap. A
//! sealed memfd copy of the whole runtime (runc 1.1) costs a copy of the
//! binary on every start, charged to the container's memory cgroup; runc
//! 1.2's read-only overlayfs over its binary costs a mount namespace, a
//! mount and a re-exec of the runtime on every start. The stub costs a
//! 1 KiB memfd and one exec of a program with no loader and no libc.

use crate::error::{Error, Result};
use std::ffi::{c_char, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// The stub, built by build.rs.
static STUB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/exec-stub"));

/// What the stub's argv[0] starts with; the stub refuses to run without it.
const MAGIC: &str = "berth-exec-stub:";

/// `MFD_EXEC` (Linux 6.3): with `vm.memfd_noexec=1` a memfd is created
/// non-executable unless this is asked for; older kernels reject the flag.
const MFD_EXEC: libc::c_uint = 0x10;

/// A sealed, executable in-memory copy of the stub. Made in the runtime
/// before the clone; the init inherits it (close-on-exec: the user's
/// process never sees it).
pub struct ExecStub {
    fd: OwnedFd,
}

impl ExecStub {
    /// Copy the stub into a new memfd and seal it against every change.
    pub fn load() -> Result<Self> {
        let name = c"berth-exec-stub";
        let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
        // SAFETY: `name` is a NUL-terminated string; no other memory is passed.
        let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
        if fd < 0 && nix::errno::Errno::last() == nix::errno::Errno::EINVAL {
            // SAFETY: as above.
            fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
        }
        if fd < 0 {
            return Err(Error::sys(
                "memfd_create for the exec stub",
                nix::errno::Errno::last(),
            ));
        }
        // SAFETY: memfd_create returned a new descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        let mut written = 0;
        while written < STUB.len() {
            let n = nix::unistd::write(&fd, &STUB[written..])
                .map_err(|e| Error::sys("write the exec stub", e))?;
            written += n;
        }
        let seals =
            libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
        // SAFETY: fcntl on a descriptor we own; no memory is passed.
        if unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(Error::sys("seal the exec stub", nix::errno::Errno::last()));
        }
        Ok(ExecStub { fd })
    }
}

/// The final exec, built whole before the seccomp filter is loaded: after
/// the filter only the syscalls of [`ArmedExec::exec`] and the stub's remain.
pub struct ArmedExec {
    stub_fd: RawFd,
    channel: Option<RawFd>,
    // The strings the pointer arrays below point into.
    _strings: Vec<CString>,
    with_channel: Vec<*const c_char>,
    without_channel: Vec<*const c_char>,
    env: Vec<*const c_char>,
    _env_strings: Vec<CString>,
    proc_path: CString,
    path_text: String,
}

impl ArmedExec {
    /// Prepare `path` with `args` and `env` to be exec'd through `stub`.
    /// `channel` is the descriptor the parent reads an exec failure from
    /// (close-on-exec until the last moment).
    pub fn new(
        stub: &ExecStub,
        channel: Option<RawFd>,
        path: CString,
        args: Vec<CString>,
        env: Vec<CString>,
    ) -> Result<Self> {
        let nul = |s: String| {
            CString::new(s).map_err(|_| Error::InvalidConfig {
                field: "process.args",
                reason: "NUL byte".into(),
            })
        };
        let path_text = path.to_string_lossy().into_owned();
        let mut strings = vec![
            nul(format!(
                "{MAGIC}{}",
                channel.map_or("-".to_string(), |fd| fd.to_string())
            ))?,
            nul(format!("{MAGIC}-"))?,
            path,
        ];
        strings.extend(args);
        let tail: Vec<*const c_char> = strings[2..].iter().map(|s| s.as_ptr()).collect();
        let argv = |first: &CString| {
            let mut v = Vec::with_capacity(tail.len() + 2);
            v.push(first.as_ptr());
            v.extend_from_slice(&tail);
            v.push(std::ptr::null());
            v
        };
        let with_channel = argv(&strings[0]);
        let without_channel = argv(&strings[1]);
        let mut envp: Vec<*const c_char> = env.iter().map(|s| s.as_ptr()).collect();
        envp.push(std::ptr::null());
        let stub_fd = stub.fd.as_raw_fd();
        Ok(ArmedExec {
            stub_fd,
            channel,
            with_channel,
            without_channel,
            env: envp,
            _env_strings: env,
            _strings: strings,
            proc_path: nul(format!("/proc/self/fd/{stub_fd}"))?,
            path_text,
        })
    }

    /// Exec the stub, which execs the user's program. Returns only if the
    /// stub itself could not be exec'd.
    pub fn exec(&self) -> Error {
        // The channel stays open across the stub's exec only; the stub
        // marks it close-on-exec again. If fcntl is refused (a seccomp
        // profile may), go without it: a failure then goes to stderr.
        // SAFETY: fcntl on a descriptor number; no memory is passed.
        let argv = match self.channel {
            Some(fd) if unsafe { libc::fcntl(fd, libc::F_SETFD, 0) } == 0 => &self.with_channel,
            _ => &self.without_channel,
        };
        // execveat needs no /proc in the container; a profile written for
        // execve alone may refuse it, so execve of the memfd's /proc path
        // is the fallback.
        // SAFETY: argv and envp are NULL-terminated arrays of pointers into
        // CStrings this struct owns; the path is an empty C string.
        unsafe {
            libc::syscall(
                libc::SYS_execveat,
                self.stub_fd,
                c"".as_ptr(),
                argv.as_ptr(),
                self.env.as_ptr(),
                libc::AT_EMPTY_PATH,
            )
        };
        let first = nix::errno::Errno::last();
        // SAFETY: as above, with a NUL-terminated path.
        unsafe { libc::execve(self.proc_path.as_ptr(), argv.as_ptr(), self.env.as_ptr()) };
        let second = nix::errno::Errno::last();
        Error::sys(
            format!(
                "exec {} through the exec stub (execveat: {first}; execve {})",
                self.path_text,
                self.proc_path.to_string_lossy()
            ),
            second,
        )
    }
}
