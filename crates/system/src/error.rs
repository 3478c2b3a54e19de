//! What can go wrong with a system container.

use std::path::PathBuf;

/// The system crate's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The engine refused (the image's command, users, the spec).
    #[error(transparent)]
    Engine(#[from] berth_engine::Error),
    /// Storage refused (mounting the image).
    #[error(transparent)]
    Storage(#[from] berth_storage::Error),
    /// The image could not be found.
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    /// A file or directory operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A template names a variable nobody defines.
    #[error("template {template} of image {image}: unknown variable ${variable} (define it with --set {variable}=VALUE)")]
    UnknownVariable {
        /// The image.
        image: String,
        /// The template's path in the image.
        template: String,
        /// The variable.
        variable: String,
    },
    /// A rendered config.json template is not a runtime spec.
    #[error("template /exports/config.json.template of image {image} is not a valid config.json: {source}")]
    BadConfigTemplate {
        /// The image.
        image: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A `--set` that is not `KEY=VALUE`, or a bad name.
    #[error("invalid {what} {value:?}: {reason}")]
    Invalid {
        /// What was given (`--set`, `--name`, …).
        what: &'static str,
        /// The value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
    /// The name is installed already.
    #[error("system container {0:?} is already installed (berth update --system {0} deploys a new image)")]
    AlreadyInstalled(String),
    /// No system container has this name.
    #[error("no system container named {0:?} is installed")]
    NotInstalled(String),
    /// Rollback with one deployment only.
    #[error("system container {0:?} has no earlier deployment to roll back to")]
    NoPreviousDeployment(String),
    /// A deployment's info.json is unreadable.
    #[error("deployment {path}: {source}")]
    Info {
        /// The info file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A command (cp, systemctl) failed.
    #[error("{command} failed: {detail}")]
    Command {
        /// The command line.
        command: String,
        /// Its exit status and stderr.
        detail: String,
    },
}

/// The crate's result.
pub type Result<T> = std::result::Result<T, Error>;

/// Attach the operation and path to an io error.
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
