//! Reading a blob from a registry as a stream that survives dropped
//! connections: it asks again with `Range: bytes=<offset>-` (or skips the
//! bytes already delivered when the registry ignores ranges), and fails at
//! the end unless the size and the digest matched, so nothing downstream
//! ever commits content that was not the announced blob.

use super::{backoff, pull_scope, Client, ATTEMPTS};
use crate::error::Error;
use crate::manifest::Descriptor;
use berth_storage::Digest;
use sha2::{Digest as _, Sha256};
use std::io::{self, Read};
use ureq::http::Method;

/// A verified, resuming blob stream; see the module docs.
pub struct BlobReader<'a> {
    client: &'a Client,
    repository: String,
    desc: Descriptor,
    offset: u64,
    inner: Option<Box<dyn Read + Send + 'a>>,
    hasher: Sha256,
    failures: u32,
    done: bool,
}

/// The error a [`BlobReader`] puts inside `io::Error` so callers can get
/// the typed [`Error`] back out.
#[derive(Debug)]
pub(crate) struct BlobError(pub Error);

impl std::fmt::Display for BlobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for BlobError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Recover the typed error from an `io::Error` a blob stream returned,
/// or name the blob in a new one.
pub(crate) fn io_to_error(e: io::Error, digest: &Digest) -> Error {
    if e.get_ref().is_some_and(|i| i.is::<BlobError>()) {
        if let Some(inner) = e.into_inner() {
            if let Ok(b) = inner.downcast::<BlobError>() {
                return b.0;
            }
        }
        return Error::BlobStream {
            digest: digest.to_string(),
            reason: "stream failed".into(),
        };
    }
    Error::BlobStream {
        digest: digest.to_string(),
        reason: e.to_string(),
    }
}

fn wrap(e: Error) -> io::Error {
    io::Error::other(BlobError(e))
}

/// Carry a typed [`Error`] through `io::Read`.
pub(crate) struct BlobErrorWrap;

impl BlobErrorWrap {
    pub(crate) fn io(e: Error) -> io::Error {
        wrap(e)
    }
}

impl<'a> BlobReader<'a> {
    pub(crate) fn new(client: &'a Client, repository: &str, desc: Descriptor) -> BlobReader<'a> {
        BlobReader {
            client,
            repository: repository.to_string(),
            desc,
            offset: 0,
            inner: None,
            hasher: Sha256::new(),
            failures: 0,
            done: false,
        }
    }

    fn open(&mut self) -> Result<(), Error> {
        let what = format!("GET blob {}", self.desc.digest);
        let range = format!("bytes={}-", self.offset);
        let mut headers = vec![];
        if self.offset > 0 {
            headers.push(("Range", range.as_str()));
        }
        let resp = self.client.request(
            Method::GET,
            &format!("{}/blobs/{}", self.repository, self.desc.digest),
            &pull_scope(&self.repository),
            &headers,
            None,
            &|| what.clone(),
        )?;
        let resp = self.client.expect_ok(resp, &what)?;
        let partial = resp.status().as_u16() == 206;
        let mut reader = resp.into_body().into_reader();
        if self.offset > 0 && !partial {
            // The registry ignored the range: skip what was delivered.
            let skipped =
                io::copy(&mut (&mut reader).take(self.offset), &mut io::sink()).map_err(|e| {
                    self.stream_error(format!("skipping to offset {}: {e}", self.offset))
                })?;
            if skipped != self.offset {
                return Err(self.stream_error(format!(
                    "truncated: ended at {skipped} of {} bytes on retry",
                    self.desc.size
                )));
            }
        }
        self.inner = Some(Box::new(reader));
        Ok(())
    }

    fn stream_error(&self, reason: String) -> Error {
        Error::BlobStream {
            digest: self.desc.digest.to_string(),
            reason,
        }
    }

    fn finish(&mut self) -> io::Result<()> {
        self.done = true;
        if self.offset != self.desc.size {
            return Err(wrap(self.stream_error(format!(
                "truncated: got {} of {} bytes",
                self.offset, self.desc.size
            ))));
        }
        let actual = format!("sha256:{:x}", std::mem::take(&mut self.hasher).finalize());
        if actual != self.desc.digest.as_str() {
            return Err(wrap(Error::DigestMismatch {
                what: "blob",
                expected: self.desc.digest.to_string(),
                actual,
            }));
        }
        Ok(())
    }
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        loop {
            if self.inner.is_none() {
                self.open().map_err(wrap)?;
            }
            let Some(inner) = self.inner.as_mut() else {
                continue;
            };
            let err = match inner.read(buf) {
                Ok(0) if self.offset >= self.desc.size => {
                    self.finish()?;
                    return Ok(0);
                }
                Ok(0) => format!(
                    "connection closed at {} of {} bytes",
                    self.offset, self.desc.size
                ),
                Ok(n) => {
                    if self.offset + n as u64 > self.desc.size {
                        self.done = true;
                        return Err(wrap(self.stream_error(format!(
                            "registry sent more than the announced {} bytes",
                            self.desc.size
                        ))));
                    }
                    self.hasher.update(&buf[..n]);
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) => e.to_string(),
            };
            self.inner = None;
            self.failures += 1;
            if self.failures >= ATTEMPTS {
                self.done = true;
                return Err(wrap(self.stream_error(format!(
                    "truncated: {err} (after {} attempts)",
                    self.failures
                ))));
            }
            tracing::debug!(blob = %self.desc.digest, offset = self.offset, "resuming blob: {err}");
            std::thread::sleep(backoff(self.failures));
        }
    }
}
