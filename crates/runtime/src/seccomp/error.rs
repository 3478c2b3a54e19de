//! What can go wrong between a `linux.seccomp` profile and a loaded filter.

use std::path::PathBuf;

/// Result alias of the seccomp module.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A seccomp profile that cannot be honoured, or a filter that cannot be
/// built, loaded or handed to its listener.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The profile asks for something invalid or unsupported here.
    #[error("invalid config: {field}: {reason}")]
    InvalidConfig {
        /// The offending field, in the spec's JSON spelling.
        field: &'static str,
        /// What is wrong with it, and where (syscall entry, argument).
        reason: String,
    },
    /// libseccomp refused a step of building the filter.
    #[error("seccomp: {what}: {source}")]
    Compile {
        /// The step, e.g. `add rule for mkdir`.
        what: String,
        /// libseccomp's error.
        #[source]
        source: libseccomp::error::SeccompError,
    },
    /// A system call failed (loading the filter, passing the notify fd).
    #[error("{call}: {source}")]
    Sys {
        /// The call and its subject.
        call: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// A file operation failed (exporting the program, the listener socket).
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
}

impl Error {
    pub(crate) fn sys(call: impl Into<String>, source: nix::Error) -> Self {
        Error::Sys {
            call: call.into(),
            source,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidConfig {
            field,
            reason: reason.into(),
        }
    }
}

/// The runtime's error enum has no seccomp variant: config problems stay
/// `InvalidConfig`, the rest keep their call and cause.
impl From<Error> for crate::error::Error {
    fn from(e: Error) -> Self {
        match e {
            Error::InvalidConfig { field, reason } => {
                crate::error::Error::InvalidConfig { field, reason }
            }
            Error::Sys { call, source } => crate::error::Error::Sys { call, source },
            Error::Io { op, path, source } => crate::error::Error::Io { op, path, source },
            Error::Compile { what, source } => crate::error::Error::Sys {
                call: format!("seccomp: {what}: {source}"),
                source: source
                    .sysrawrc()
                    .map(|rc| nix::errno::Errno::from_raw(rc.abs()))
                    .unwrap_or(nix::errno::Errno::EINVAL),
            },
        }
    }
}
