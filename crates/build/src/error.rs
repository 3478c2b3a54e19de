//! The build crate's errors.

use std::path::PathBuf;

/// What can go wrong with a working container.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// From the engine (running, committing, the container's storage).
    #[error(transparent)]
    Engine(#[from] berth_engine::Error),
    /// From the image crate (finding or pulling the base image).
    #[error(transparent)]
    Image(#[from] berth_image::Error),
    /// From storage.
    #[error(transparent)]
    Storage(#[from] berth_storage::Error),
    /// No working container has this name or id.
    #[error("no working container named {0:?}")]
    NotFound(String),
    /// A RUN's command exited non-zero (or could not be found: 127).
    #[error("running {command:?} in working container {container}: exit code {code}{}", detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default())]
    RunFailed {
        /// The working container.
        container: String,
        /// The argv.
        command: Vec<String>,
        /// Its exit code (128+N for signal N).
        code: i32,
        /// Why, when the engine knew before running it.
        detail: Option<String>,
    },
    /// A bad option value.
    #[error("invalid {option} {value:?}: {reason}")]
    InvalidOption {
        /// The option.
        option: &'static str,
        /// Its value.
        value: String,
        /// What is wrong.
        reason: String,
    },
    /// A copy source that may not be used.
    #[error("copy source {path:?}: {reason}")]
    BadSource {
        /// The source as given.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A file operation on the host.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was done.
        op: &'static str,
        /// On what.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// A file operation inside a working container's root.
    #[error("{op} {path} in working container {container}: {source}")]
    InRoot {
        /// What was done.
        op: &'static str,
        /// The path in the container.
        path: String,
        /// The working container.
        container: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// What a working container keeps in storage could not be read.
    #[error("working container {id}: corrupt record: {source}")]
    Record {
        /// Its id.
        id: String,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
    /// The base image's config could not be read.
    #[error("image {image}: malformed config: {source}")]
    ImageConfig {
        /// The image id.
        image: String,
        /// The error.
        #[source]
        source: serde_json::Error,
    },
    /// ADD of a URL failed.
    #[error("fetching {url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
}

/// The build crate's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
