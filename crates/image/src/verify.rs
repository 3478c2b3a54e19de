//! Readers that check what they read: size and sha256 digest against a
//! descriptor, failing at the end of the stream, and blob writers that
//! only rename a file into place once it matched.

use crate::error::{Error, IoContext, Result};
use crate::manifest::Descriptor;
use crate::registry::BlobErrorWrap;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read, Write};
use std::path::Path;

/// Wraps a reader of blob `desc`, failing at EOF unless it matched.
pub struct VerifyingReader<R> {
    inner: R,
    desc: Descriptor,
    hasher: Sha256,
    read: u64,
    done: bool,
}

impl<R: Read> VerifyingReader<R> {
    /// Verify `inner` against `desc`.
    pub fn new(inner: R, desc: &Descriptor) -> Self {
        VerifyingReader {
            inner,
            desc: desc.clone(),
            hasher: Sha256::new(),
            read: 0,
            done: false,
        }
    }
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done {
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.done = true;
            if self.read != self.desc.size {
                return Err(BlobErrorWrap::io(Error::BlobStream {
                    digest: self.desc.digest.to_string(),
                    reason: format!("truncated: got {} of {} bytes", self.read, self.desc.size),
                }));
            }
            let actual = format!("sha256:{:x}", std::mem::take(&mut self.hasher).finalize());
            if actual != self.desc.digest.as_str() {
                return Err(BlobErrorWrap::io(Error::DigestMismatch {
                    what: "blob",
                    expected: self.desc.digest.to_string(),
                    actual,
                }));
            }
            return Ok(0);
        }
        self.read += n as u64;
        if self.read > self.desc.size {
            self.done = true;
            return Err(BlobErrorWrap::io(Error::BlobStream {
                digest: self.desc.digest.to_string(),
                reason: format!("longer than the announced {} bytes", self.desc.size),
            }));
        }
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Open file `path` as verified blob `desc`.
pub fn open_blob_file(path: &Path, desc: &Descriptor) -> Result<VerifyingReader<std::fs::File>> {
    let f = std::fs::File::open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            Error::NotFound(format!("blob {} ({})", desc.digest, path.display()))
        } else {
            Error::Io {
                op: "open",
                path: path.to_path_buf(),
                source: e,
            }
        }
    })?;
    Ok(VerifyingReader::new(f, desc))
}

/// Copy `content` into `dest` through a temporary file beside it, renamed
/// into place only when it hashed to `desc`.
pub fn write_blob_file(dest: &Path, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).ctx("create", dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-blob-")
        .tempfile_in(dir)
        .ctx("create temporary file in", dir)?;
    let mut verified = VerifyingReader::new(content, desc);
    let mut buf = vec![0u8; 256 << 10];
    loop {
        let n = match verified.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(crate::registry::blob_error(e, &desc.digest)),
        };
        tmp.write_all(&buf[..n])
            .ctx("write", tmp.path().to_path_buf())?;
    }
    tmp.persist(dest)
        .map_err(|e| e.error)
        .ctx("rename blob to", dest)?;
    Ok(())
}
