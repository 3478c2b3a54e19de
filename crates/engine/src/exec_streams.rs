//! An exec whose stdio a server relays (the CRI's streaming Exec): the
//! process is made as `berth exec` makes it ([`Engine::exec_process_file`]),
//! and its ends are handed to the caller — the pty master with a terminal,
//! else pipes — instead of being joined to our own stdio.

use crate::console_socket::ConsoleSocket;
use crate::engine::Engine;
use crate::error::{IoContext, Result};
use crate::exec_process::ExecOptions;
use std::os::fd::{AsFd, OwnedFd};
use std::process::{Child, Stdio};
use std::time::Duration;

/// A running exec whose ends the caller owns. Waiting for `runtime` gives
/// the process's exit status (the runtime's exec waits for it).
#[derive(Debug)]
pub struct ExecStreams {
    /// The runtime's `exec`; with pipes, its stdin/stdout/stderr are the
    /// process's.
    pub runtime: Child,
    /// The pty master, when a terminal was asked for.
    pub terminal: Option<OwnedFd>,
    /// The process object the runtime reads, removed when this is
    /// dropped (or the fields left after the caller took the others).
    _process_file: ProcessFile,
}

/// An exec's process file, removed on drop. Without a terminal nothing
/// tells us when the runtime has read it (the spawn returns at once), so
/// it stays for the session: removed at once, a quick caller raced the
/// runtime's read ("read process file …: No such file").
#[derive(Debug)]
struct ProcessFile(std::path::PathBuf);

impl Drop for ProcessFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Engine {
    /// Start a process in running container `key` and hand back its ends:
    /// with `opts.tty` the pty master (stdin goes to it only if
    /// `opts.interactive`, by the caller), else pipes for stdout and
    /// stderr and, with `opts.interactive`, stdin.
    pub fn exec_streams(&self, key: &str, opts: &ExecOptions) -> Result<ExecStreams> {
        let (c, file) = self.exec_process_file(key, opts)?;
        let guard = ProcessFile(file);
        let (runtime, terminal) = self.start_streams(&c.id, &guard.0, opts)?;
        Ok(ExecStreams {
            runtime,
            terminal,
            _process_file: guard,
        })
    }

    fn start_streams(
        &self,
        id: &str,
        file: &std::path::Path,
        opts: &ExecOptions,
    ) -> Result<(Child, Option<OwnedFd>)> {
        let record = self.record(id);
        let console = match opts.tty {
            true => Some(ConsoleSocket::bind(
                record.path(),
                &crate::exec::socket_name(file),
            )?),
            false => None,
        };
        let piped = |yes: bool| if yes { Stdio::piped() } else { Stdio::null() };
        let mut runtime = self
            .runtime
            .exec_command(id, file, console.as_ref().map(|c| c.path()))
            .stdin(piped(opts.interactive && !opts.tty))
            .stdout(piped(!opts.tty))
            .stderr(piped(!opts.tty))
            .spawn()
            .ctx("run", &self.runtime.path)?;
        let Some(console) = console else {
            return Ok((runtime, None));
        };
        let done = crate::pty_relay::pidfd(runtime.id() as i32)?;
        match console.receive(Some(done.as_fd()), Duration::from_secs(30)) {
            Ok(master) => Ok((runtime, Some(master))),
            Err(e) => {
                let _ = runtime.kill();
                let _ = runtime.wait();
                Err(e)
            }
        }
    }
}
