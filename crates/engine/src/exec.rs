//! `exec`: a new process in a running container, through `runtime exec`
//! with a process object derived from the container's own (its
//! capabilities, confinement, environment), changed as asked. With `-t`
//! the process gets a pty whose master the runtime sends over a console
//! socket and berth relays to its own terminal (see [`crate::terminal`]).

use crate::attach::AttachEnd;
use crate::command_lookup::check_command;
use crate::console_socket::ConsoleSocket;
use crate::detach_keys::DetachMatcher;
use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::exec_process::{
    container_process, exec_process, merged_env, read_config, window, ExecOptions,
};
use crate::image_users::resolve_user;
use crate::rootfs_reader::RootfsReader;
use crate::signal_forwarding::{forward_to, set_forwarding, stop_forwarding};
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};

impl Engine {
    /// Run a process in running container `key` with our stdout and
    /// stderr; its exit code.
    pub fn exec(&self, key: &str, opts: &ExecOptions) -> Result<i32> {
        self.exec_with_output(key, opts, Stdio::inherit(), Stdio::inherit())
    }

    /// As [`Engine::exec`]; with a terminal, typing `detach_keys` (see
    /// [`crate::detach_keys::parse`]) leaves the process running and
    /// returns [`AttachEnd::Detached`].
    pub fn exec_attached(
        &self,
        key: &str,
        opts: &ExecOptions,
        detach_keys: Option<Vec<u8>>,
    ) -> Result<AttachEnd> {
        let mut keys = DetachMatcher::new(detach_keys);
        let keys = opts.tty.then_some(&mut keys);
        self.exec_session(key, opts, Stdio::inherit(), Stdio::inherit(), keys)
    }

    /// As [`Engine::exec`], with the process's stdout and stderr given
    /// (a health check keeps them in a file).
    pub(crate) fn exec_with_output(
        &self,
        key: &str,
        opts: &ExecOptions,
        stdout: Stdio,
        stderr: Stdio,
    ) -> Result<i32> {
        match self.exec_session(key, opts, stdout, stderr, None)? {
            AttachEnd::Exited(code) => Ok(code),
            AttachEnd::Detached => Ok(0),
        }
    }

    fn exec_session(
        &self,
        key: &str,
        opts: &ExecOptions,
        stdout: Stdio,
        stderr: Stdio,
        keys: Option<&mut DetachMatcher>,
    ) -> Result<AttachEnd> {
        let (c, file) = self.exec_process_file(key, opts)?;
        let record = self.record(&c.id);
        let stdin = if opts.interactive && !opts.tty {
            Stdio::inherit()
        } else {
            Stdio::null()
        };
        let console = match opts.tty {
            true => Some(ConsoleSocket::bind(record.path(), &socket_name(&file))),
            false => None,
        }
        .transpose()?;
        set_forwarding(true);
        let mut cmd = self
            .runtime
            .exec_command(&c.id, &file, console.as_ref().map(|c| c.path()));
        if opts.tty {
            // Out of our terminal's session: once detached, the runtime
            // must not get the hangup our terminal's end sends (it would
            // pass it on to the process). The keys reach the process
            // through its pty, and the signals we get are passed on by pid.
            // SAFETY: the hook only calls setsid(2), async-signal-safe.
            unsafe {
                std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                    libc::setsid();
                    Ok(())
                });
            }
        }
        let child = cmd.stdin(stdin).stdout(stdout).stderr(stderr).spawn();
        let result = child.ctx("run", &self.runtime.path).and_then(|mut child| {
            forward_to(child.id() as i32);
            let relayed = match &console {
                Some(console) => {
                    crate::terminal::relay_exec(console, &child, opts.interactive, keys)
                }
                None => Ok(None),
            };
            match relayed {
                // The runtime waits for the process on; the pty is held.
                Ok(Some(master)) => {
                    stop_forwarding();
                    crate::pty_relay::keep_in_background(master)?;
                    return Ok(None);
                }
                Ok(None) => {}
                Err(_) => {
                    let _ = child.kill();
                }
            }
            let status = child.wait().ctx("wait for", &self.runtime.path);
            relayed.and(status).map(Some)
        });
        stop_forwarding();
        let _ = std::fs::remove_file(&file);
        let Some(status) = result? else {
            return Ok(AttachEnd::Detached);
        };
        use std::os::unix::process::ExitStatusExt;
        Ok(AttachEnd::Exited(
            status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        ))
    }

    /// Check the exec asked of running container `key` and write its
    /// process object into the record; the container and the file.
    pub(crate) fn exec_process_file(
        &self,
        key: &str,
        opts: &ExecOptions,
    ) -> Result<(berth_storage::Container, std::path::PathBuf)> {
        let (c, state) = self.in_state(key, true, "exec needs a running container")?;
        if state.paused {
            return Err(Error::State {
                name: c.name,
                state: state.shown_status(),
                what: "exec needs a running container".into(),
            });
        }
        let Some(first) = opts.command.first() else {
            return Err(Error::InvalidOption {
                option: "exec",
                value: String::new(),
                reason: "a command is needed".into(),
            });
        };
        let record = self.record(&c.id);
        let config_path = record.path().join("config.json");
        let config = read_config(&config_path)?;
        let (process, rootfs) = container_process(&config, &config_path)?;
        let env = merged_env(process.env().as_deref().unwrap_or_default(), &opts.env);
        // The running container's files, read only inside its root.
        let rootfs = RootfsReader::open(&rootfs)?;
        check_command(&rootfs, first, &env)?;
        let user = match &opts.user {
            Some(u) => Some(resolve_user(&rootfs, u)?),
            None => None,
        };
        let window = if opts.tty { window()? } else { None };
        let process = exec_process(process, opts, env, user.as_ref(), window)?;
        let file = record.path().join(format!("{}.json", exec_name()));
        let bytes = serde_json::to_vec(&process).map_err(|source| Error::Record {
            path: file.clone(),
            source,
        })?;
        std::fs::write(&file, bytes).ctx("write", &file)?;
        Ok((c, file))
    }
}

/// Execs begun in this process so far: with the pid, a name no other exec
/// into the same container shares, however many run at once.
static EXECS: AtomicU64 = AtomicU64::new(0);

/// `exec-<pid>-<n>`: the stem of one exec's files in the record directory
/// (its process `.json`, the runtime's `.pid`, the console `.sock`).
fn exec_name() -> String {
    let n = EXECS.fetch_add(1, Ordering::Relaxed);
    format!("exec-{}-{n}", std::process::id())
}

/// The console socket's name for the exec whose process file is `file`.
pub(crate) fn socket_name(file: &std::path::Path) -> String {
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("exec");
    format!("{stem}.sock")
}

#[cfg(test)]
mod names {
    #[test]
    fn two_execs_never_share_a_name() {
        let (a, b) = (super::exec_name(), super::exec_name());
        assert_ne!(a, b);
        let file = std::path::Path::new("/r").join(format!("{a}.json"));
        assert_eq!(super::socket_name(&file), format!("{a}.sock"));
    }
}
