//! The runtime's error type: each variant says what failed and on what.

use std::path::PathBuf;

/// Result alias used across the runtime.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong while managing a container.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The container id is empty or holds characters that would escape the state dir.
    #[error("invalid container id {id:?}: {reason}")]
    InvalidId {
        /// The id as given.
        id: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// `create`/`run` of an id that is already taken.
    #[error("container with id {0:?} already exists")]
    AlreadyExists(String),
    /// A command named a container that is not in the state dir.
    #[error("container {0:?} does not exist")]
    NotFound(String),
    /// The container is in the wrong state for the operation.
    #[error("cannot {action} container {id:?}: it is {status}")]
    WrongState {
        /// The container id.
        id: String,
        /// What was asked (`start`, `delete`, `exec`…).
        action: &'static str,
        /// Its current status.
        status: &'static str,
    },
    /// `config.json` could not be read.
    #[error("cannot read runtime config {path}: {source}")]
    ReadConfig {
        /// The config file.
        path: PathBuf,
        /// The read error.
        #[source]
        source: std::io::Error,
    },
    /// `config.json` (or a `--process` file) is not valid JSON of the spec's shape.
    #[error("{path} is not a valid OCI runtime config: {source}")]
    ParseConfig {
        /// The config file.
        path: PathBuf,
        /// What serde found wrong, with line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The config parsed but asks for something invalid or unsupported.
    #[error("invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The offending field, in the spec's JSON spelling.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("{call}: {source}")]
    Sys {
        /// The call and its subject, e.g. `mount proc on /proc`.
        call: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// The container's init reported a failure while setting up or exec'ing.
    #[error("container init: {0}")]
    Init(String),
    /// A control-group operation failed.
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::Error),
    /// A hook failed or timed out.
    #[error("{kind} hook {path}: {reason}")]
    Hook {
        /// Which hook list (`prestart`, `poststart`…).
        kind: &'static str,
        /// The hook's executable.
        path: PathBuf,
        /// Why it failed.
        reason: String,
    },
    /// A capability set could not be read or changed.
    #[error("{what}: {source}")]
    Capabilities {
        /// Which set and operation.
        what: &'static str,
        /// The error from the capability syscalls.
        #[source]
        source: caps::errors::CapsError,
    },
    /// Checkpoint or restore through CRIU failed or cannot work here.
    #[error("{action}: {reason}")]
    Criu {
        /// `checkpoint`, `restore` or both.
        action: &'static str,
        /// What went wrong (quoting CRIU's log where it has one).
        reason: String,
    },
    /// State on disk could not be parsed.
    #[error("corrupt state file {path}: {source}")]
    State {
        /// The state file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
}

impl Error {
    /// Wrap a syscall error with a description of the call.
    pub fn sys(call: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            call: call.into(),
            source,
        }
    }

    /// Wrap an I/O error with the operation and path.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
