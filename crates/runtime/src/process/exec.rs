//! Finding the executable and arming the exec that replaces the init with it.

use super::exec_stub::{ArmedExec, ExecStub};
use crate::error::{Error, Result};
use std::ffi::CString;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The default search path when the environment has no PATH, as runc's.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Everything execve needs, built before the point of no return so that a
/// missing binary is reported by `create`, not lost after it.
pub struct ExecTarget {
    path: CString,
    args: Vec<CString>,
    env: Vec<CString>,
}

fn cstring(field: &'static str, s: &str) -> Result<CString> {
    CString::new(s).map_err(|_| Error::InvalidConfig {
        field,
        reason: format!("{s:?} contains a NUL byte"),
    })
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

impl ExecTarget {
    /// Resolve `args[0]` against the PATH of `env` (in the current root and
    /// working directory, i.e. the container's).
    pub fn resolve(args: &[String], env: &[String]) -> Result<Self> {
        let name = args.first().ok_or_else(|| Error::InvalidConfig {
            field: "process.args",
            reason: "empty".into(),
        })?;
        let path = if name.contains('/') {
            if !is_executable(Path::new(name)) {
                return Err(Error::InvalidConfig {
                    field: "process.args",
                    reason: format!("exec: {name:?}: no such executable file"),
                });
            }
            PathBuf::from(name)
        } else {
            let search = env
                .iter()
                .find_map(|e| e.strip_prefix("PATH="))
                .unwrap_or(DEFAULT_PATH);
            search
                .split(':')
                .map(|dir| Path::new(if dir.is_empty() { "." } else { dir }).join(name))
                .find(|p| is_executable(p))
                .ok_or_else(|| Error::InvalidConfig {
                    field: "process.args",
                    reason: format!("exec: {name:?}: executable file not found in $PATH"),
                })?
        };
        Ok(ExecTarget {
            path: CString::new(path.as_os_str().as_bytes()).map_err(|_| Error::InvalidConfig {
                field: "process.args",
                reason: "NUL in path".into(),
            })?,
            args: args
                .iter()
                .map(|a| cstring("process.args", a))
                .collect::<Result<_>>()?,
            env: env
                .iter()
                .map(|e| cstring("process.env", e))
                .collect::<Result<_>>()?,
        })
    }

    /// Add `KEY=VALUE` to the environment, replacing an existing `KEY`.
    pub fn set_env(&mut self, key: &str, value: &str) {
        let prefix = format!("{key}=");
        self.env
            .retain(|e| !e.as_bytes().starts_with(prefix.as_bytes()));
        if let Ok(c) = CString::new(format!("{key}={value}")) {
            self.env.push(c);
        }
    }

    /// Build the final exec through `stub`, reporting a failure on `channel`.
    pub fn arm(self, stub: &ExecStub, channel: Option<RawFd>) -> Result<ArmedExec> {
        ArmedExec::new(stub, channel, self.path, self.args, self.env)
    }
}
