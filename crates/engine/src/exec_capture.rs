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
        let spawned = self
            .runtime
            .exec_command(&c.id, &file, None)
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
                let _ = child.kill();
                break child.wait().ctx("wait for", &self.runtime.path)?;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let _ = std::fs::remove_file(&file);
        use std::os::unix::process::ExitStatusExt;
        Ok(ExecOutput {
            exit_code: status
                .code()
                .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
            timed_out,
        })
    }
}
