//! Applying a layer blob (plain, gzip or zstd tar) to a layer directory in
//! one pass, computing its digests and writing its tar-split record on the
//! way.

mod lower;
mod resolve;
mod stream;
mod unpack;

pub(crate) use lower::{finish_deferred, Deferred};
pub use stream::Compression;
pub(crate) use stream::StreamSummary;
pub(crate) use unpack::{Unpacker, WhiteoutStyle};

use crate::error::{Error, Result};
use crate::tar_split::Recording;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Decompress `input` and unpack it into `root`, recording the stream's
/// tar-split at `split` (see [`crate::tar_split`]). `lowers` are the content
/// directories of the layers below (overlay), top first; None when they
/// are not known yet, and hard links into them are returned for
/// [`finish_deferred`] instead, with parent directories the archive did not
/// list (which take their metadata from the layers below).
pub(crate) fn apply_stream<R: Read + Send>(
    input: R,
    root: &Path,
    style: WhiteoutStyle,
    lowers: Option<&[PathBuf]>,
    split: &Path,
) -> Result<(StreamSummary, Vec<Deferred>)> {
    let unpacker = unpack::Unpacker::new(root, style, lowers)?;
    let (deferred, summary) = stream::with_decompressed(input, |reader| {
        let recording = Recording::new(reader, split);
        let deferred = unpacker.unpack(&recording)?;
        recording.finish().map_err(|source| Error::Stream {
            entry: None,
            source,
        })?;
        Ok(deferred)
    })?;
    Ok((summary, deferred))
}

pub(crate) use resolve::walk_existing as walk_existing_dir;
