//! Writing a layer's tar-split record on the unpacker's thread, as it reads
//! the stream: the unpacker reads through a [`Recording`], and tells it
//! where each regular file's content lies in the stream before reading it,
//! so those bytes are left out of the record.
//!
//! Keeping the record is never worth failing an apply for: when it cannot
//! be written, or the stream cannot be rebuilt from the layer's files, the
//! record is dropped and the layer is kept without one.

use super::{CONTENT, END, MAGIC, RAW};
use flate2::write::GzEncoder;
use std::cell::RefCell;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Raw bytes are written as one record once this many are pending.
const RAW_RECORD: usize = 64 * 1024;

/// A reader that records the stream it passes on; see the module docs.
pub(crate) struct Recording<'r> {
    inner: RefCell<&'r mut dyn Read>,
    state: RefCell<State>,
}

/// A regular file's content, announced before it is read.
struct Content {
    start: u64,
    size: u64,
    path: Vec<u8>,
}

struct State {
    /// None once the record was given up.
    out: Option<GzEncoder<BufWriter<File>>>,
    path: PathBuf,
    raw: Vec<u8>,
    /// Bytes of the stream seen so far.
    offset: u64,
    pending: Option<Content>,
    /// Content bytes still to pass before raw bytes resume.
    skipping: u64,
    /// Paths whose content is referenced, and every directory above them:
    /// a later entry replacing either would lose that content.
    files: HashSet<Vec<u8>>,
    file_dirs: HashSet<Vec<u8>>,
}

impl<'r> Recording<'r> {
    /// Record what is read from `inner` into a new file at `path`.
    pub(crate) fn new(inner: &'r mut dyn Read, path: &Path) -> Recording<'r> {
        let out = File::create(path).and_then(|f| {
            let mut gz = GzEncoder::new(BufWriter::new(f), flate2::Compression::fast());
            gz.write_all(MAGIC)?;
            Ok(gz)
        });
        let mut state = State {
            out: None,
            path: path.to_path_buf(),
            raw: Vec::new(),
            offset: 0,
            pending: None,
            skipping: 0,
            files: HashSet::new(),
            file_dirs: HashSet::new(),
        };
        match out {
            Ok(gz) => state.out = Some(gz),
            Err(e) => state.give_up(&format!("cannot create it: {e}")),
        }
        Recording {
            inner: RefCell::new(inner),
            state: RefCell::new(state),
        }
    }

    /// Pass `inner` on and record nothing (a tree that is no layer).
    pub(crate) fn unrecorded(inner: &'r mut dyn Read) -> Recording<'r> {
        Recording {
            inner: RefCell::new(inner),
            state: RefCell::new(State {
                out: None,
                path: PathBuf::new(),
                raw: Vec::new(),
                offset: 0,
                pending: None,
                skipping: 0,
                files: HashSet::new(),
                file_dirs: HashSet::new(),
            }),
        }
    }

    /// An entry for `path` (normalized, relative to the layer root) is
    /// about to be applied.
    pub(crate) fn entry(&self, path: &[u8], is_dir: bool) {
        let mut st = self.state.borrow_mut();
        if st.out.is_none() {
            return;
        }
        if st.files.contains(path) || (!is_dir && st.file_dirs.contains(path)) {
            st.give_up(&format!(
                "entry {:?} replaces a file an earlier entry wrote",
                String::from_utf8_lossy(path)
            ));
        }
    }

    /// The `size` bytes at stream offset `start` are the whole content of
    /// the regular file the unpacker writes at `path`; called before they
    /// are read.
    pub(crate) fn file_content(&self, path: &[u8], start: u64, size: u64) {
        let mut st = self.state.borrow_mut();
        if st.out.is_none() {
            return;
        }
        if start < st.offset || st.pending.is_some() || st.skipping > 0 {
            st.give_up("the tar reader read past a file's start");
            return;
        }
        st.files.insert(path.to_vec());
        let mut dir = path;
        while let Some(i) = dir.iter().rposition(|b| *b == b'/') {
            dir = &dir[..i];
            if !st.file_dirs.insert(dir.to_vec()) {
                break;
            }
        }
        st.pending = Some(Content {
            start,
            size,
            path: path.to_vec(),
        });
        st.start_content_if_due();
    }

    /// Read the rest of the stream (what follows the end of the archive
    /// counts too) and close the record. The store's `syncfs` before the
    /// layer's commit flushes it with the layer's files.
    pub(crate) fn finish(self) -> io::Result<()> {
        io::copy(&mut &self, &mut io::sink())?;
        self.state.into_inner().end();
        Ok(())
    }
}

impl Read for &Recording<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.borrow_mut().read(buf)?;
        self.state.borrow_mut().consume(&buf[..n]);
        Ok(n)
    }
}

impl State {
    fn consume(&mut self, mut bytes: &[u8]) {
        while self.out.is_some() && !bytes.is_empty() {
            if self.skipping > 0 {
                let k = self.skipping.min(bytes.len() as u64) as usize;
                self.skipping -= k as u64;
                self.offset += k as u64;
                bytes = &bytes[k..];
                continue;
            }
            let k = match &self.pending {
                Some(c) => (c.start - self.offset).min(bytes.len() as u64) as usize,
                None => bytes.len(),
            };
            self.raw.extend_from_slice(&bytes[..k]);
            self.offset += k as u64;
            bytes = &bytes[k..];
            if self.raw.len() >= RAW_RECORD {
                self.flush_raw();
            }
            self.start_content_if_due();
        }
    }

    /// Write the content record once the stream reached its start.
    fn start_content_if_due(&mut self) {
        let due = self
            .pending
            .as_ref()
            .is_some_and(|c| c.start == self.offset);
        if !due {
            return;
        }
        let Some(c) = self.pending.take() else {
            return;
        };
        self.flush_raw();
        let Ok(len) = u32::try_from(c.path.len()) else {
            self.give_up("a path longer than 4 GiB");
            return;
        };
        let mut rec = Vec::with_capacity(13 + c.path.len());
        rec.push(CONTENT);
        rec.extend_from_slice(&c.size.to_le_bytes());
        rec.extend_from_slice(&len.to_le_bytes());
        rec.extend_from_slice(&c.path);
        self.put(&rec);
        self.skipping = c.size;
    }

    fn flush_raw(&mut self) {
        if self.raw.is_empty() {
            return;
        }
        let raw = std::mem::take(&mut self.raw);
        // RAW_RECORD keeps each well under 4 GiB.
        let mut head = vec![RAW];
        head.extend_from_slice(&(raw.len() as u32).to_le_bytes());
        self.put(&head);
        self.put(&raw);
        self.raw = raw;
        self.raw.clear();
    }

    fn put(&mut self, bytes: &[u8]) {
        if let Some(out) = &mut self.out {
            if let Err(e) = out.write_all(bytes) {
                self.give_up(&format!("write: {e}"));
            }
        }
    }

    fn end(mut self) {
        if self.out.is_none() {
            return;
        }
        if self.skipping > 0 || self.pending.is_some() {
            self.give_up("the stream ended inside a file");
            return;
        }
        self.flush_raw();
        let mut rec = vec![END];
        rec.extend_from_slice(&self.offset.to_le_bytes());
        self.put(&rec);
        let Some(out) = self.out.take() else {
            return;
        };
        let closed = out
            .finish()
            .and_then(|w| w.into_inner().map_err(|e| e.into_error()));
        if let Err(e) = closed {
            self.give_up(&format!("write: {e}"));
        }
    }

    fn give_up(&mut self, why: &str) {
        self.out = None;
        self.raw = Vec::new();
        self.files = HashSet::new();
        self.file_dirs = HashSet::new();
        let _ = std::fs::remove_file(&self.path);
        tracing::debug!(record = %self.path.display(), why,
            "no tar-split record for this layer; exporting it will re-tar it");
    }
}
