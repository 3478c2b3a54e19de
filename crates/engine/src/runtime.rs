//! The OCI runtime, driven through its binary (runc's command line), so the
//! multi-threaded CLI never forks itself into a container.

use crate::error::{Error, IoContext, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A runtime binary and its state root.
#[derive(Debug, Clone)]
pub struct Runtime {
    /// The binary (`berth-runtime`, or runc/crun).
    pub path: PathBuf,
    /// Its `--root`.
    pub root: PathBuf,
}

impl Runtime {
    fn command(&self) -> Command {
        let mut c = Command::new(&self.path);
        // The runtime would relay it itself; berth's waiter does (sd_notify).
        c.arg("--root").arg(&self.root).env_remove("NOTIFY_SOCKET");
        c
    }

    fn fail(&self, verb: &'static str, id: &str, message: String) -> Error {
        Error::Runtime {
            runtime: self.path.clone(),
            verb,
            id: id.into(),
            message,
        }
    }

    fn quiet(&self, verb: &'static str, id: &str, args: &[&str]) -> Result<()> {
        let out = self
            .command()
            .arg(verb)
            .args(args)
            .arg(id)
            .stdin(Stdio::null())
            .output()
            .ctx("run", &self.path)?;
        if out.status.success() {
            return Ok(());
        }
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(self.fail(verb, id, msg))
    }

    /// `create`: the container's stdio is `stdio` (stdin, stdout, stderr);
    /// the runtime's own errors go to `<bundle>/runtime.log`. Returns the
    /// init's pid.
    pub fn create(
        &self,
        id: &str,
        bundle: &Path,
        stdio: [Stdio; 3],
        console: Option<&Path>,
    ) -> Result<i32> {
        let pid_file = bundle.join("pid");
        let log = bundle.join("runtime.log");
        let _ = std::fs::remove_file(&pid_file);
        let _ = std::fs::remove_file(&log);
        let [i, o, e] = stdio;
        let mut cmd = self.command();
        let pass = crate::listen_fds::to_runtime(&mut cmd, true);
        let status = cmd
            .arg("--log")
            .arg(&log)
            .arg("--log-format")
            .arg("json")
            .arg("create")
            .arg("--bundle")
            .arg(bundle)
            .arg("--pid-file")
            .arg(&pid_file)
            .args(console_args(console))
            .args(pass)
            .arg(id)
            .stdin(i)
            .stdout(o)
            .stderr(e)
            .status()
            .ctx("run", &self.path)?;
        if !status.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            return Err(self.fail("create", id, last_error(&text)));
        }
        let text = std::fs::read_to_string(&pid_file).ctx("read", &pid_file)?;
        text.trim()
            .parse()
            .map_err(|_| self.fail("create", id, format!("bad pid file {text:?}")))
    }

    /// `start`: the created process execs the user's command.
    pub fn start(&self, id: &str) -> Result<()> {
        self.quiet("start", id, &[])
    }

    /// `pause` (`true`) or `resume`: the cgroup freezer.
    pub fn freeze(&self, id: &str, frozen: bool) -> Result<()> {
        let verb = if frozen { "pause" } else { "resume" };
        self.quiet(verb, id, &[])
    }

    /// `update FLAGS ID`: change a container's cgroup limits.
    pub(crate) fn update(&self, id: &str, flags: &[String]) -> Result<()> {
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        self.quiet("update", id, &flags)
    }

    /// `kill [--all] ID SIGNAL`.
    pub fn kill(&self, id: &str, signal: &str, all: bool) -> Result<()> {
        let out = self
            .command()
            .arg("kill")
            .args(all.then_some("--all"))
            .arg(id)
            .arg(signal)
            .stdin(Stdio::null())
            .output()
            .ctx("run", &self.path)?;
        if out.status.success() {
            return Ok(());
        }
        let msg = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(self.fail("kill", id, msg))
    }

    /// The `exec --process FILE ID` command (stdout and stderr inherited),
    /// with the pty master sent to `console` when the process has a
    /// terminal.
    pub fn exec_command(&self, id: &str, process: &Path, console: Option<&Path>) -> Command {
        let mut c = self.command();
        let pass = crate::listen_fds::to_runtime(&mut c, false);
        c.arg("exec")
            .arg("--process")
            .arg(process)
            .args(console_args(console))
            .args(pass)
            .arg(id);
        c
    }

    /// The `exec --detach --process FILE --pid-file PID ID` command:
    /// returns once the process runs, its pid in `pid_file`.
    pub fn exec_detached_command(&self, id: &str, process: &Path, pid_file: &Path) -> Command {
        let mut c = self.command();
        c.arg("exec")
            .arg("--detach")
            .arg("--process")
            .arg(process)
            .arg("--pid-file")
            .arg(pid_file)
            .arg(id);
        c
    }

    /// `delete --force`: frees what the runtime holds (cgroup, state). A
    /// container the runtime does not know is not an error.
    pub fn delete(&self, id: &str) -> Result<()> {
        if !self.root.join(id).exists() {
            return Ok(());
        }
        self.quiet("delete", id, &["--force"])
    }
}

/// `--console-socket PATH` when there is one.
fn console_args(console: Option<&Path>) -> Vec<&std::ffi::OsStr> {
    match console {
        Some(p) => vec!["--console-socket".as_ref(), p.as_os_str()],
        None => Vec::new(),
    }
}

/// The message of the last error in a runtime's JSON log (runc's
/// `{"level":"error","msg":…}` lines, which berth-runtime and crun write
/// too); the last line as it is when none parses.
fn last_error(log: &str) -> String {
    #[derive(serde::Deserialize)]
    struct Line {
        level: String,
        msg: String,
    }
    let mut lines = log.lines().filter(|l| !l.trim().is_empty());
    let mut errors = lines
        .clone()
        .filter_map(|l| serde_json::from_str::<Line>(l).ok())
        .filter(|l| matches!(l.level.as_str(), "error" | "fatal"));
    match errors.next_back() {
        Some(l) => l.msg,
        None => lines
            .next_back()
            .unwrap_or("failed with no message")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::last_error;

    #[test]
    fn the_error_line_s_message_without_the_log_s_decoration() {
        let log = concat!(
            r#"{"level":"warning","msg":"hook failed","time":"t"}"#,
            "\n",
            r#"{"level":"error","msg":"container init: mount tmpfs on /x: EINVAL","time":"t"}"#,
            "\n",
        );
        assert_eq!(last_error(log), "container init: mount tmpfs on /x: EINVAL");
        assert_eq!(last_error("plain text\n"), "plain text");
        assert_eq!(last_error(""), "failed with no message");
    }
}
