//! Progress reporting: the library calls a [`Progress`] as blobs move; the
//! CLI draws bars on a terminal and nothing otherwise.

use crate::manifest::Descriptor;
use std::io::{self, Read};

/// Receives progress of blob transfers. Methods may be called from several
/// threads at once.
pub trait Progress: Sync {
    /// A blob transfer started.
    fn start(&self, _desc: &Descriptor) {}
    /// `bytes` more of `desc` moved.
    fn advance(&self, _desc: &Descriptor, _bytes: u64) {}
    /// A blob is done; `skipped` when it was already there.
    fn finish(&self, _desc: &Descriptor, _skipped: bool) {}
    /// A line of status (`Writing manifest`, …).
    fn message(&self, _msg: &str) {}
}

/// Reports nothing.
pub struct NoProgress;

impl Progress for NoProgress {}

/// A reader that reports what passes through it.
pub(crate) struct Counting<'a, R> {
    pub inner: R,
    pub desc: &'a Descriptor,
    pub progress: &'a dyn Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.progress.advance(self.desc, n as u64);
        }
        Ok(n)
    }
}
