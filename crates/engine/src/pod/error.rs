//! A pod's own errors; they reach callers as [`crate::Error::Pod`], so a
//! CRI server maps each to its status code (NotFound, AlreadyExists,
//! FailedPrecondition).

use std::path::PathBuf;

/// What went wrong with a pod.
#[derive(Debug, thiserror::Error)]
pub enum PodError {
    /// No pod has this id or id prefix.
    #[error("no pod {0:?}")]
    NotFound(String),
    /// More than one pod's id starts with this prefix.
    #[error("pod id prefix {0:?} names more than one pod")]
    Ambiguous(String),
    /// A pod of this name, namespace, uid and attempt exists already.
    #[error("pod {name} (namespace {namespace:?}, uid {uid:?}, attempt {attempt}) exists already as {id}")]
    Exists {
        /// Its name.
        name: String,
        /// Its Kubernetes namespace.
        namespace: String,
        /// Its uid.
        uid: String,
        /// The attempt.
        attempt: u32,
        /// The id of the pod that has them.
        id: String,
    },
    /// The pod is stopped: no container can be made in it.
    #[error("pod {id} is not ready: {what}")]
    NotReady {
        /// The pod's id.
        id: String,
        /// What was refused.
        what: String,
    },
    /// A pod record under the runroot is unreadable.
    #[error("pod record {}: {source}", path.display())]
    Record {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}
