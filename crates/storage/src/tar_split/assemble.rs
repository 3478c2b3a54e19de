//! Reading a layer's original tar stream back from its tar-split record
//! and its files, checked against the layer's diff id as it ends.

use super::{CONTENT, END, MAGIC, RAW};
use crate::digest::Digest;
use crate::error::Error;
use crate::fsat::{file_type, open_dir_at};
use crate::store::Lease;
use flate2::read::GzDecoder;
use rustix::fs::{openat, FileType, Mode, OFlags};
use sha2::{Digest as _, Sha256};
use std::ffi::CString;
use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::fd::{AsFd, OwnedFd};

/// The uncompressed tar stream an image layer was applied from, byte for
/// byte: its sha256 is the layer's diff id. Reading fails (at the latest
/// at the end) if the layer's files no longer give back that stream. The
/// layer is leased while this lives, so no other process collects it.
pub struct LayerTar {
    layer: String,
    records: BufReader<GzDecoder<File>>,
    root: OwnedFd,
    /// The directory of the last file opened: tar streams list a
    /// directory's files together.
    dir: Option<(Vec<u8>, OwnedFd)>,
    part: Part,
    hasher: Sha256,
    count: u64,
    diff_digest: Digest,
    done: bool,
    _lease: Lease,
}

enum Part {
    Nothing,
    Raw {
        bytes: Vec<u8>,
        pos: usize,
    },
    File {
        file: File,
        left: u64,
        path: Vec<u8>,
    },
}

impl std::fmt::Debug for LayerTar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerTar")
            .field("layer", &self.layer)
            .field("count", &self.count)
            .finish()
    }
}

impl LayerTar {
    /// Read layer `layer` (whose files are under `root`) from `record`.
    /// `None` when the record is of a version this library does not read.
    pub(crate) fn open(
        layer: &str,
        record: File,
        root: OwnedFd,
        diff_digest: Digest,
        lease: Lease,
    ) -> io::Result<Option<LayerTar>> {
        let mut records = BufReader::new(GzDecoder::new(record));
        let mut magic = vec![0u8; MAGIC.len()];
        match records.read_exact(&mut magic) {
            Ok(()) if magic == MAGIC => {}
            Ok(()) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        Ok(Some(LayerTar {
            layer: layer.to_string(),
            records,
            root,
            dir: None,
            part: Part::Nothing,
            hasher: Sha256::new(),
            count: 0,
            diff_digest,
            done: false,
            _lease: lease,
        }))
    }

    fn fail(&self, reason: String) -> io::Error {
        io::Error::other(Error::TarSplit {
            layer: self.layer.clone(),
            reason,
        })
    }

    fn read_u32(&mut self) -> io::Result<u32> {
        let mut b = [0u8; 4];
        self.records.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn read_u64(&mut self) -> io::Result<u64> {
        let mut b = [0u8; 8];
        self.records.read_exact(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// Move to the next record; at the end, check what was produced.
    fn next_record(&mut self) -> io::Result<()> {
        let mut tag = [0u8; 1];
        self.records
            .read_exact(&mut tag)
            .map_err(|e| self.fail(format!("record ends early: {e}")))?;
        match tag[0] {
            RAW => {
                let len = self.read_u32()? as usize;
                let mut bytes = match std::mem::replace(&mut self.part, Part::Nothing) {
                    Part::Raw { bytes, .. } => bytes,
                    _ => Vec::new(),
                };
                bytes.resize(len, 0);
                self.records.read_exact(&mut bytes)?;
                self.part = Part::Raw { bytes, pos: 0 };
            }
            CONTENT => {
                let left = self.read_u64()?;
                let len = self.read_u32()? as usize;
                let mut path = vec![0u8; len];
                self.records.read_exact(&mut path)?;
                let file = self.open_file(&path)?;
                self.part = Part::File { file, left, path };
            }
            END => {
                let total = self.read_u64()?;
                let digest = Digest::from_hasher(std::mem::take(&mut self.hasher));
                if total != self.count || digest != self.diff_digest {
                    return Err(self.fail(format!(
                        "rebuilt {} bytes with digest {digest}, expected {total} bytes with {}",
                        self.count, self.diff_digest
                    )));
                }
                self.done = true;
            }
            other => return Err(self.fail(format!("unknown record type {other:#x}"))),
        }
        Ok(())
    }

    /// Open the regular file at `path` inside the layer, never following
    /// a symlink, nor leaving the layer by `..`.
    fn open_file(&mut self, path: &[u8]) -> io::Result<File> {
        let (dir, name) = match path.iter().rposition(|b| *b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&path[..0], path),
        };
        let bad = |c: &[u8]| c.is_empty() || c == b"." || c == b"..";
        if bad(name) || (!dir.is_empty() && dir.split(|b| *b == b'/').any(bad)) {
            return Err(self.fail(format!(
                "bad path {:?} in the record",
                String::from_utf8_lossy(path)
            )));
        }
        let cached = matches!(&self.dir, Some((d, _)) if d == dir);
        if !cached && !dir.is_empty() {
            let mut fd = rustix::io::dup(&self.root)?;
            for c in dir.split(|b| *b == b'/') {
                let c = CString::new(c).map_err(io::Error::other)?;
                fd = open_dir_at(fd.as_fd(), c.as_c_str())?;
            }
            self.dir = Some((dir.to_vec(), fd));
        }
        let parent = match &self.dir {
            Some((d, fd)) if d == dir => fd.as_fd(),
            _ => self.root.as_fd(),
        };
        let c = CString::new(name).map_err(io::Error::other)?;
        // O_NONBLOCK: opening a FIFO put in a file's place must not hang.
        let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK;
        let fd = openat(parent, c.as_c_str(), flags, Mode::empty()).map_err(|e| {
            self.fail(format!(
                "open {:?}: {}",
                String::from_utf8_lossy(path),
                io::Error::from(e)
            ))
        })?;
        let st = rustix::fs::fstat(&fd)?;
        if file_type(&st) != FileType::RegularFile {
            return Err(self.fail(format!(
                "{:?} is no longer a regular file",
                String::from_utf8_lossy(path)
            )));
        }
        Ok(File::from(fd))
    }
}

impl Read for LayerTar {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.done {
                return Ok(0);
            }
            let n = match &mut self.part {
                Part::Raw { bytes, pos } if *pos < bytes.len() => {
                    let n = buf.len().min(bytes.len() - *pos);
                    buf[..n].copy_from_slice(&bytes[*pos..*pos + n]);
                    *pos += n;
                    n
                }
                Part::File { file, left, path } if *left > 0 => {
                    let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                    let n = file.read(&mut buf[..want])?;
                    if n == 0 {
                        let reason = format!(
                            "{:?} is {left} bytes shorter than when it was applied",
                            String::from_utf8_lossy(path)
                        );
                        return Err(self.fail(reason));
                    }
                    *left -= n as u64;
                    n
                }
                _ => {
                    self.next_record()?;
                    continue;
                }
            };
            self.hasher.update(&buf[..n]);
            self.count += n as u64;
            return Ok(n);
        }
    }
}
