//! Tar-split: what it takes to give back, byte for byte, the tar stream a
//! layer was applied from, without keeping a second copy of its files.
//!
//! A layer's diff id is the sha256 of its uncompressed tar, and the image
//! config lists the diff ids, so the config digest (the image id) changes
//! as soon as a layer is exported as a different tar, even one with the same
//! files: other header fields, order, padding or trailer. Re-tarring a layer
//! directory never reproduces all of those, so while a layer is applied the
//! store records every byte of its stream except file contents, which are
//! already in the layer directory. Reading the record back with the files
//! gives the original stream; containers/storage keeps the same thing
//! (its `tar-split` files) for `podman save` and `podman push`.
//!
//! The record is `tar-split.gz` in the driver's directory of the layer, so
//! it is committed, trashed and repaired with the layer. Inside the gzip
//! stream, after the line [`MAGIC`]:
//!
//! - `R` len:u32le bytes: bytes of the tar stream as they were;
//! - `F` size:u64le len:u32le path: `size` bytes, the whole content of the
//!   regular file at `path` (relative to the layer's root, `/`-separated);
//! - `E` total:u64le: the end; the stream was `total` bytes long.
//!
//! A stream whose later entries replace a file an earlier entry wrote
//! cannot be rebuilt from the directory; no record is kept for it, and the
//! layer is exported by re-tarring it (with a new diff id) as before.

mod assemble;
mod record;

pub use assemble::LayerTar;
pub(crate) use record::Recording;

/// The record's file name in the driver's directory of a layer.
pub(crate) const FILE: &str = "tar-split.gz";
/// The first line of a record, naming its version.
const MAGIC: &[u8] = b"berth-tar-split/1\n";
const RAW: u8 = b'R';
const CONTENT: u8 = b'F';
const END: u8 = b'E';
