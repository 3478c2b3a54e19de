//! The crate's error type: every variant names what failed (which layer,
//! image, container, path or tar entry) so a user can act on it.

use std::io;
use std::path::PathBuf;

/// Errors returned by the storage library.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A filesystem operation on a path of the store failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`"create"`, `"rename"`, …).
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// Reading the layer stream (decompressing or parsing tar) failed.
    #[error("reading layer stream{}: {source}", entry_suffix(.entry))]
    Stream {
        /// The tar entry being read, when known.
        entry: Option<String>,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Writing one tar entry into a layer failed.
    #[error("tar entry {entry:?}: {op}: {source}")]
    Entry {
        /// The entry's path as written in the archive.
        entry: String,
        /// The step that failed (`"create file"`, `"chown"`, …).
        op: &'static str,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A tar entry tried to leave the layer or write through a link; the
    /// layer was not created.
    #[error("refusing tar entry {entry:?}: {reason}")]
    HostileEntry {
        /// The entry's path as written in the archive.
        entry: String,
        /// Why it was refused.
        reason: String,
    },
    /// A tar entry of a kind this library cannot store.
    #[error("tar entry {entry:?}: unsupported entry type {kind}")]
    UnsupportedEntry {
        /// The entry's path as written in the archive.
        entry: String,
        /// The tar type byte.
        kind: u8,
    },
    /// A digest string is not `sha256:` followed by 64 lowercase hex digits.
    #[error("invalid digest {0:?}: expected sha256:<64 hex digits>")]
    InvalidDigest(String),
    /// A layer's content does not hash to what the caller expected; the layer
    /// was not created.
    #[error("{what} digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// `"compressed"` or `"uncompressed"`.
        what: &'static str,
        /// The digest the caller announced.
        expected: String,
        /// The digest of what was read.
        actual: String,
    },
    /// No layer with this id.
    #[error("layer {0} not found")]
    LayerNotFound(String),
    /// No image with this id or name.
    #[error("image {0} not found")]
    ImageNotFound(String),
    /// No container with this id or name.
    #[error("container {0} not found")]
    ContainerNotFound(String),
    /// An object is mounted or referenced by others and cannot be removed.
    #[error("{what} is in use by {}", .users.join(", "))]
    InUse {
        /// The object that was to be removed (`"image sha256:…"`).
        what: String,
        /// Who uses it (`"container web"`, `"2 mounts"`, `"layer 3f…"`).
        users: Vec<String>,
    },
    /// A container name is already taken.
    #[error("container name {name:?} is already used by container {by}")]
    NameInUse {
        /// The name asked for.
        name: String,
        /// The id of the container that has it.
        by: String,
    },
    /// An id or name contains characters that cannot be stored.
    #[error("invalid {what} {value:?}: {reason}")]
    InvalidName {
        /// `"container id"`, `"image name"`, …
        what: &'static str,
        /// The rejected value.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An object with this id already exists.
    #[error("{what} {id} already exists")]
    Exists {
        /// `"image"` or `"container"`.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// A metadata file of the store cannot be parsed.
    #[error("corrupt metadata {path}: {source}")]
    Corrupt {
        /// The metadata file.
        path: PathBuf,
        /// The parser's error.
        #[source]
        source: serde_json::Error,
    },
    /// A mount count that is not a number: counting from 0 would mount
    /// again on top, or unmount under someone.
    #[error("corrupt mount count in {}: {text:?}", path.display())]
    CorruptCount {
        /// The count file.
        path: PathBuf,
        /// What it holds.
        text: String,
    },
    /// The driver asked for cannot work on this host.
    #[error("storage driver {driver} is not available: {reason}")]
    DriverUnavailable {
        /// `"overlay"` or `"vfs"`.
        driver: &'static str,
        /// Why.
        reason: String,
    },
    /// The store was created with another driver than the one asked for.
    #[error("store at {root} uses driver {existing}, not {requested}")]
    DriverMismatch {
        /// The store root.
        root: PathBuf,
        /// The driver recorded in the store.
        existing: String,
        /// The driver asked for.
        requested: &'static str,
    },
    /// Mounting or unmounting failed.
    #[error("{op} {target}: {source}")]
    Mount {
        /// `"mount overlay on"`, `"unmount"`, …
        op: &'static str,
        /// The mount point.
        target: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A layer asked for as parent was removed while its child was applied.
    #[error("parent layer {0} was removed while the new layer was applied")]
    ParentGone(String),
    /// A layer's original tar could not be rebuilt from its tar-split
    /// record and its files (a file changed or went missing, or the record
    /// is damaged).
    #[error("cannot rebuild the tar of layer {layer}: {reason}")]
    TarSplit {
        /// The layer id.
        layer: String,
        /// What did not match.
        reason: String,
    },
    /// An image has no layers, so there is nothing to mount.
    #[error("image {0} has no layers to mount")]
    EmptyImage(String),
}

fn entry_suffix(entry: &Option<String>) -> String {
    match entry {
        Some(e) => format!(" at entry {e:?}"),
        None => String::new(),
    }
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Attach a path and an operation to an I/O error.
pub(crate) trait IoContext<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| Error::Io {
            op,
            path: path.into(),
            source,
        })
    }
}

impl<T> IoContext<T> for rustix::io::Result<T> {
    fn ctx(self, op: &'static str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::Io {
            op,
            path: path.into(),
            source: e.into(),
        })
    }
}
