//! What can go wrong when berth sets itself up for an unprivileged user.

use std::path::PathBuf;

/// A rootless set-up error: each says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A subordinate id file could not be read.
    #[error("reading {path}: {source}")]
    ReadIds {
        /// /etc/subuid or /etc/subgid.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A line of a subordinate id file is not `owner:start:count`.
    #[error("{path}:{line}: {text:?} is not OWNER:START:COUNT")]
    BadIdLine {
        /// The file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// The line.
        text: String,
    },
    /// Two ranges share ids: containers of the user would share files
    /// with whoever owns the other range.
    #[error(
        "{path}: the range {first} of {owner} overlaps {second}: subordinate ranges must not \
         overlap (fix the file, e.g. with usermod --del-subuids/--add-subuids)"
    )]
    Overlap {
        /// The file.
        path: PathBuf,
        /// The user whose namespace was asked for.
        owner: String,
        /// One of its ranges, `start-end`.
        first: String,
        /// The range it overlaps, `owner:start-end`.
        second: String,
    },
    /// A syscall failed.
    #[error("{what}: {source}")]
    Sys {
        /// What was tried.
        what: String,
        /// The errno.
        #[source]
        source: nix::Error,
    },
    /// A file operation failed.
    #[error("{what} {path}: {source}")]
    Io {
        /// What was tried.
        what: &'static str,
        /// On what.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// newuidmap or newgidmap refused the mapping.
    #[error("{helper} refused the mapping {args}: {message}")]
    Helper {
        /// newuidmap or newgidmap.
        helper: &'static str,
        /// The mapping asked for.
        args: String,
        /// Its stderr.
        message: String,
    },
    /// The store's directory belongs to someone else.
    #[error(
        "{path} belongs to uid {owner}, not to you (uid {uid}): berth will not use another \
         user's store; choose your own with --root/--runroot"
    )]
    NotYours {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        owner: u32,
        /// This user.
        uid: u32,
    },
    /// `XDG_RUNTIME_DIR` names a directory that cannot hold run state.
    #[error(
        "XDG_RUNTIME_DIR={path}: {reason}; unset it (berth then uses /tmp/berth-$UID) or fix it"
    )]
    RuntimeDir {
        /// The variable's value.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// pasta could not connect the container.
    #[error(transparent)]
    Pasta(#[from] super::pasta::PastaError),
    /// Limits were asked for where no cgroup can hold them.
    #[error(
        "{option}: a rootless container cannot have resource limits here: {why}; \
         drop the limit, or give --cgroups=disabled to run without it"
    )]
    NoCgroupLimits {
        /// The first limit option asked for.
        option: &'static str,
        /// Why there is no cgroup.
        why: &'static str,
    },
}

/// A rootless result.
pub type Result<T> = std::result::Result<T, Error>;
