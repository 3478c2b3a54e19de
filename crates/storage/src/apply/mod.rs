//! Applying a layer blob (plain, gzip or zstd tar) to a layer directory in
//! one pass, computing its digests on the way.

mod lower;
mod resolve;
mod stream;
mod unpack;

pub(crate) use lower::{finish_deferred, Deferred};
pub use stream::Compression;
pub(crate) use stream::StreamSummary;
pub(crate) use unpack::WhiteoutStyle;

use crate::error::Result;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Decompress `input` and unpack it into `root`. `lowers` are the content
/// directories of the layers below (overlay), top first; None when they
/// are not known yet, and hard links into them are returned for
/// [`finish_deferred`] instead, with parent directories the archive did not
/// list (which take their metadata from the layers below).
pub(crate) fn apply_stream<R: Read + Send>(
    input: R,
    root: &Path,
    style: WhiteoutStyle,
    lowers: Option<&[PathBuf]>,
) -> Result<(StreamSummary, Vec<Deferred>)> {
    let unpacker = unpack::Unpacker::new(root, style, lowers)?;
    let (deferred, summary) = stream::with_decompressed(input, |reader| unpacker.unpack(reader))?;
    Ok((summary, deferred))
}

pub(crate) use resolve::walk_existing as walk_existing_dir;
