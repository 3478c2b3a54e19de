//! What stops a scan as a whole; faults inside the image are warnings
//! ([`ScanWarning`](crate::ScanWarning)) and the scan goes on.

use std::path::PathBuf;

/// A scan that could not run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tree's root could not be opened.
    #[error("open the tree at {}", path.display())]
    Open {
        /// Host path of the tree.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<berth_engine::Error>,
    },
    /// The engine could not find, mount or describe the image or container.
    #[error(transparent)]
    Engine(#[from] berth_engine::Error),
    /// Neither a container nor an image has this name.
    #[error("{0} not found: no such container or image")]
    NotFound(String),
}
