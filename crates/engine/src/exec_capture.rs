//! An exec whose output is captured rather than relayed, with a deadline:
//! what a server answering for a client (the CRI's ExecSync) needs. The
//! process is made as `berth exec` makes it ([`Engine::exec_process_file`]);
//! no signal forwarding, no terminal.

use crate::engine::Engine;
use crate::error::{IoContext, Result};
use crate::exec_process::ExecOptions;
use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// What a captured exec printed and how it ended.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    /// Its exit code (128+N for signal N).
    pub exit_code: i32,
    /// All it wrote to stdout.
    pub stdout: Vec<u8>,
    /// All it wrote to stderr.
    pub stderr: Vec<u8>,
    /// The deadline passed and the process was killed.
    pub timed_out: bool,
}

impl Engine {
    /// Run a process in running container `key`, stdin closed, its output
    /// captured; after `timeout` (if any) the runtime's exec is killed
    /// and the output so far returned with `timed_out`.
    pub fn exec_output(
        &self,
        key: &str,
        opts: &ExecOptions,
        timeout: Option<Duration>,
    ) -> Result<ExecOutput> {
        let (c, file) = self.exec_process_file(key, opts)?;
        // The process's host pid, so a deadline kills it and not only the
        // runtime waiting for it (which would leave it holding the pipes).
        let pid_file = file.with_extension("pid");
        let spawned = self
            .runtime
            .exec_command(&c.id, &file, None)
            .arg("--pid-file")
            .arg(&pid_file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned.ctx("run", &self.runtime.path) {
            Ok(child) => child,
            Err(e) => {
                let _ = std::fs::remove_file(&file);
                return Err(e);
            }
        };
        let reader = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let out = reader(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let err = reader(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut timed_out = false;
        let status = loop {
            if let Some(st) = child.try_wait().ctx("wait for", &self.runtime.path)? {
                break st;
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                timed_out = true;
                kill_from_pid_file(&pid_file);
                let _ = child.kill();
                break child.wait().ctx("wait for", &self.runtime.path)?;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = std::fs::remove_file(&file);
        let _ = std::fs::remove_file(&pid_file);
        // A child the process left behind may still hold the pipes: past the
        // deadline, what was read in a moment more is all there is.
        let grace = Instant::now() + Duration::from_secs(1);
        while timed_out && !(out.is_finished() && err.is_finished()) && Instant::now() < grace {
            std::thread::sleep(Duration::from_millis(10));
        }
        let take = |h: std::thread::JoinHandle<Vec<u8>>| match h.is_finished() || !timed_out {
            true => h.join().unwrap_or_default(),
            false => Vec::new(),
        };
        use std::os::unix::process::ExitStatusExt;
        Ok(ExecOutput {
            exit_code: status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            stdout: take(out),
            stderr: take(err),
            timed_out,
        })
    }
}

/// SIGKILL the process whose host pid the runtime wrote at `path`.
fn kill_from_pid_file(path: &std::path::Path) {
    let pid = std::fs::read_to_string(path)
        .ok()
        .and_then(|t| t.trim().parse::<i32>().ok());
    if let Some(pid) = pid.filter(|p| *p > 0) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}
