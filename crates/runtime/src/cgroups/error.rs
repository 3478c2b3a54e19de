//! The error type of the cgroups module.

use std::io;
use std::path::PathBuf;

/// What went wrong while managing a container's control group. Every variant
/// names the file or path it concerns and the operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading a cgroup file (or /proc/self/mountinfo, /proc/self/cgroup) failed.
    #[error("read {path}")]
    Read {
        /// The file read.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Writing a value to a cgroup file failed.
    #[error("write {value:?} to {path}")]
    Write {
        /// The file written.
        path: PathBuf,
        /// The value written.
        value: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Creating a cgroup directory failed.
    #[error("create cgroup directory {path}")]
    Mkdir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Removing a cgroup directory failed (after retries for EBUSY).
    #[error("remove cgroup directory {path}")]
    Rmdir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// A cgroup file held something this module cannot parse.
    #[error("parse {path}: unexpected content {content:?}")]
    Parse {
        /// The file read.
        path: PathBuf,
        /// The offending content (or line).
        content: String,
    },
    /// No cgroup filesystem is mounted.
    #[error("no cgroup filesystem is mounted (per /proc/self/mountinfo)")]
    NoCgroupMounts,
    /// A relative `cgroupsPath` needs the caller's own cgroup, which
    /// /proc/self/cgroup does not list for this hierarchy.
    #[error("/proc/self/cgroup has no entry for the {controllers:?} hierarchy")]
    OwnCgroupMissing {
        /// The controllers of the hierarchy ("" for the unified one).
        controllers: String,
    },
    /// `linux.cgroupsPath` cannot be used.
    #[error("invalid cgroupsPath {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A resource was requested whose controller is not available.
    #[error(
        "cannot set {resource}: the {controller} controller is not available (mount: {mount})"
    )]
    ControllerMissing {
        /// The resource field (e.g. "memory.limit").
        resource: &'static str,
        /// The controller it needs.
        controller: &'static str,
        /// The hierarchy looked at.
        mount: PathBuf,
    },
    /// The host's kernel lacks the feature a resource needs (a controller
    /// file that is gone, a limit the kernel no longer enforces).
    #[error("cannot set {resource}: {reason}")]
    Unsupported {
        /// The resource field (e.g. "blockIO.leafWeight").
        resource: &'static str,
        /// What the host lacks.
        reason: String,
    },
    /// A resource value is invalid or cannot be expressed on this host.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidResource {
        /// The resource field (e.g. "memory.swap").
        field: &'static str,
        /// The value as given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The freezer did not reach the requested state in time.
    #[error("cgroup {path} did not become {state} (last state {last:?})")]
    FreezeTimeout {
        /// The freezer file watched.
        path: PathBuf,
        /// The wanted state.
        state: &'static str,
        /// The last state read.
        last: String,
    },
    /// A bpf(2) call for the v2 device filter failed.
    #[error("bpf {op} on cgroup {path}")]
    Bpf {
        /// The bpf command (e.g. "BPF_PROG_LOAD").
        op: &'static str,
        /// The cgroup directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The kernel's verifier rejected the device filter program.
    #[error("bpf verifier rejected the device filter for {path}: {log}")]
    BpfVerifier {
        /// The cgroup directory.
        path: PathBuf,
        /// The verifier log.
        log: String,
    },
}

/// The result type of the cgroups module.
pub type Result<T> = std::result::Result<T, Error>;
