//! The engine's errors: each says which container, image or path.

use std::path::PathBuf;

/// What went wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The network layer failed (a port in use, a CNI plugin, …).
    #[error(transparent)]
    Network(#[from] crate::network::NetError),
    /// Storage refused or failed (unknown image, name in use, …).
    #[error(transparent)]
    Storage(#[from] berth_storage::Error),
    /// The image library failed (short-name resolution, …).
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    /// No container has this id, id prefix or name.
    #[error("no container named {0:?}")]
    NotFound(String),
    /// Options that cannot go together, in podman's words.
    #[error("invalid config provided: {0}: invalid configuration")]
    InvalidConfig(String),
    /// An option the user gave is malformed.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidOption {
        /// The option (`--memory`, `-v`, …).
        option: &'static str,
        /// What was given.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// A feature that is recognised but not built yet.
    #[error("{0} is not implemented yet")]
    NotImplemented(&'static str),
    /// A part of config.json could not be built (oci-spec's builders
    /// refused a value).
    #[error("building config.json: {what}: {source}")]
    Spec {
        /// The part (`process`, `linux.resources`, …).
        what: &'static str,
        /// oci-spec's error.
        #[source]
        source: oci_spec::OciSpecError,
    },
    /// The command to run is not in the image.
    #[error("{0}: executable file not found in $PATH: no such file or directory")]
    CommandNotFound(String),
    /// The command named by path is there but cannot be executed.
    #[error("{command}: {why}: the command cannot be executed")]
    NotExecutable {
        /// The command as given.
        command: String,
        /// Why: "is a directory", "permission denied".
        why: &'static str,
    },
    /// The working directory asked for is not in the container.
    #[error("workdir {0:?} does not exist in the container")]
    NoWorkdir(String),
    /// The image has no command and none was given.
    #[error("no command given and image {0} has no Entrypoint or Cmd")]
    NoCommand(String),
    /// A user or group name is not in the image's /etc/passwd or /etc/group.
    #[error("unable to find {what} {name:?} in the image's {file}")]
    UnknownUser {
        /// "user" or "group".
        what: &'static str,
        /// The name.
        name: String,
        /// /etc/passwd or /etc/group.
        file: &'static str,
    },
    /// A malformed entry of the image's /etc/passwd or /etc/group; an id
    /// that does not parse is refused, never read as 0 (root).
    #[error("the image's {file}, line {line}: {field} {value:?} is not a valid id")]
    BadUserEntry {
        /// /etc/passwd or /etc/group.
        file: &'static str,
        /// The 1-based line number.
        line: usize,
        /// "uid" or "gid".
        field: &'static str,
        /// What the field holds.
        value: String,
    },
    /// A file inside a container's root could not be resolved or read.
    #[error("{op} {path} in rootfs {}: {source}", rootfs.display())]
    InRoot {
        /// What was being done.
        op: &'static str,
        /// The path in the container's view.
        path: String,
        /// The rootfs's host path.
        rootfs: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: String,
        /// The errno.
        #[source]
        source: nix::errno::Errno,
    },
    /// The runtime binary failed.
    #[error("{runtime} {verb} {id}: {message}")]
    Runtime {
        /// The runtime binary.
        runtime: PathBuf,
        /// The runtime verb (create, start, kill, delete).
        verb: &'static str,
        /// The container id.
        id: String,
        /// What it said.
        message: String,
    },
    /// A container's cgroup could not be read (statistics).
    #[error("reading the cgroup of container {id}: {source}")]
    Cgroup {
        /// The container's id.
        id: String,
        /// What the runtime library's cgroup code met.
        #[source]
        source: berth_runtime::cgroups::Error,
    },
    /// Other containers join this one's namespaces: remove them first.
    #[error("container {id} has dependent containers which must be removed before it: {}", dependents.join(", "))]
    Dependents {
        /// The container's id.
        id: String,
        /// The ids of the containers that join it.
        dependents: Vec<String>,
    },
    /// The container is in the wrong state for the operation.
    #[error("container {name} is {state}: {what}")]
    State {
        /// The container's name.
        name: String,
        /// Its state.
        state: String,
        /// What cannot be done.
        what: String,
    },
    /// A record under the runroot is unreadable.
    #[error("container record {}: {source}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The engine's metadata of a container in storage is unreadable.
    #[error("container {id}: corrupt metadata in storage: {source}")]
    Metadata {
        /// The container id.
        id: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A container's config.json lacks a part the engine needs.
    #[error("{}: {what}", path.display())]
    BundleConfig {
        /// The config.json.
        path: PathBuf,
        /// What is missing or wrong.
        what: &'static str,
    },
    /// The monitor did not report the container as started.
    #[error("monitor of {id}: {message}")]
    Monitor {
        /// The container id.
        id: String,
        /// What it reported.
        message: String,
    },
    /// A bad `--restart`, `--add-host`, `--dns` (podman's words).
    #[error(transparent)]
    LifeOption(#[from] crate::life_options::LifeOptionError),
    /// A volume is missing, exists, is misnamed or in use.
    #[error(transparent)]
    Volume(#[from] crate::volume_error::VolumeError),
    /// A pod is unknown, exists already or is stopped.
    #[error(transparent)]
    Pod(#[from] crate::pod::PodError),
    /// Running for an unprivileged user.
    #[error(transparent)]
    Rootless(#[from] crate::rootless::Error),
}

/// The engine's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.into(),
            source,
        })
    }
}

pub(crate) fn sys(op: impl Into<String>) -> impl FnOnce(nix::errno::Errno) -> Error {
    let op = op.into();
    move |source| Error::Sys { op, source }
}
