//! `exec -d` and `exec --privileged`: a process left running in the
//! container (the runtime's `exec --detach`, stdio on /dev/null, run by a
//! waiter of its own that the process is reparented to, which records its
//! exit), and the full capability set for a privileged exec.

use crate::engine::Engine;
use crate::error::{sys, Error, IoContext, Result};
use crate::exec_process::ExecOptions;
use nix::unistd::ForkResult;
use oci_spec::runtime::{Capabilities, Capability, LinuxCapabilities, LinuxCapabilitiesBuilder};
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;

impl Engine {
    /// Start `opts.command` in running container `key` and return once it
    /// runs; an exec session id (64 hex digits), as podman prints. A waiter
    /// of its own (podman's exec conmon) reaps the process and writes an
    /// `exec_died` event with its exit code.
    pub fn exec_detached(&self, key: &str, opts: &ExecOptions) -> Result<String> {
        let (c, file) = self.exec_process_file(key, opts)?;
        let session = session_id()?;
        let (said_r, said_w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(sys("pipe"))?;
        // SAFETY: the CLI is single-threaded here; the first child only
        // forks again and exits.
        match unsafe { nix::unistd::fork() }.map_err(sys("fork"))? {
            ForkResult::Parent { child } => {
                drop(said_w);
                let mut said = String::new();
                let _ = std::fs::File::from(said_r).read_to_string(&mut said);
                let _ = nix::sys::wait::waitpid(child, None);
                let _ = std::fs::remove_file(&file);
                match said.strip_prefix("ok") {
                    Some(_) => {
                        self.event(&c, "exec", None);
                        Ok(session)
                    }
                    None => Err(Error::Runtime {
                        runtime: self.runtime.path.clone(),
                        verb: "exec",
                        id: c.id,
                        message: said.trim().to_string(),
                    }),
                }
            }
            ForkResult::Child => {
                drop(said_r);
                let _ = nix::unistd::setsid();
                // SAFETY: as above; the middle process leaves at once so
                // the waiter is nobody's child to reap.
                if let Ok(ForkResult::Child) = unsafe { nix::unistd::fork() } {
                    let code = self.exec_waiter(&c, &file, said_w);
                    // SAFETY: leave without the CLI's destructors.
                    unsafe { libc::_exit(code) }
                }
                // SAFETY: as above.
                unsafe { libc::_exit(0) }
            }
        }
    }

    /// The waiter of a detached exec: a subreaper, so the process is its
    /// child once the runtime returned. Says "ok" or the runtime's error
    /// on `said`, then waits and records the exit.
    fn exec_waiter(&self, c: &berth_storage::Container, file: &Path, said: OwnedFd) -> i32 {
        let mut said = std::fs::File::from(said);
        // Our caller's stdio is not ours to hold: whoever reads the CLI's
        // output waits for its end.
        if let Ok(null) = std::fs::File::options()
            .read(true)
            .write(true)
            .open("/dev/null")
        {
            for fd in 0..3 {
                let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
            }
        }
        if nix::sys::prctl::set_child_subreaper(true).is_err() {
            let _ = said.write_all(b"PR_SET_CHILD_SUBREAPER failed");
            return 1;
        }
        // The runtime's errors go to a file, not a pipe: the process left
        // running inherits the runtime's stderr and would hold a pipe open.
        let errors = file.with_extension("err");
        let pid_file = file.with_extension("pid");
        let status = std::fs::File::create(&errors).and_then(|err| {
            self.runtime
                .exec_detached_command(&c.id, file, &pid_file)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(err)
                .status()
        });
        let message = std::fs::read_to_string(&errors).unwrap_or_default();
        let _ = std::fs::remove_file(&errors);
        let pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|p| p.trim().parse::<i32>().ok());
        let _ = std::fs::remove_file(&pid_file);
        let (true, Some(pid)) = (status.is_ok_and(|s| s.success()), pid) else {
            let _ = said.write_all(message.as_bytes());
            return 1;
        };
        let _ = said.write_all(b"ok");
        drop(said);
        let code = crate::lifecycle::wait_for(pid);
        self.event(c, "exec_died", code);
        0
    }
}

/// 32 random bytes in hex.
fn session_id() -> Result<String> {
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .ctx("read", "/dev/urandom")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Every capability Linux knows, in each set a privileged process has.
pub(crate) fn all_capabilities() -> Result<LinuxCapabilities> {
    let names = crate::confinement::capabilities(true, &[], &[])?;
    let caps = names
        .iter()
        .filter_map(|n| Capability::from_str(n.trim_start_matches("CAP_")).ok())
        .collect::<Capabilities>();
    LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        .inheritable(Capabilities::new())
        .ambient(Capabilities::new())
        .build()
        .map_err(|source| Error::Spec {
            what: "exec process.capabilities",
            source,
        })
}
