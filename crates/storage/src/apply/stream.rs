//! Reading a layer blob once: a producer thread hashes the compressed
//! bytes, detects the compression by its magic, decompresses, hashes the
//! uncompressed tar, and hands chunks to the unpacker on the calling
//! thread. Decompression and file creation so run on two cores at once,
//! as `gzip -d | tar -x` does, and both digests come for free.

use crate::digest::Digest;
use crate::error::{Error, Result};
use sha2::{Digest as _, Sha256};
use std::io::{self, BufRead, BufReader, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

const CHUNK: usize = 512 * 1024;
const IN_FLIGHT: usize = 16;

/// The compression of a layer blob, detected from its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (`1f 8b`).
    Gzip,
    /// zstd (`28 b5 2f fd`).
    Zstd,
}

/// What reading a layer blob measured.
#[derive(Debug, Clone)]
pub(crate) struct StreamSummary {
    pub compressed_digest: Digest,
    pub compressed_size: u64,
    pub diff_digest: Digest,
    pub size: u64,
    pub compression: Compression,
}

struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

type Raw<R> = BufReader<Hashing<R>>;

enum Decoder<R: Read> {
    Plain(Raw<R>),
    // Boxed: the inflate state is large, and there is one per stream.
    Gzip(Box<flate2::bufread::MultiGzDecoder<Raw<R>>>),
    Zstd(Box<zstd::stream::read::Decoder<'static, Raw<R>>>),
}

impl<R: Read> Decoder<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoder::Plain(r) => r.read(buf),
            Decoder::Gzip(r) => r.read(buf),
            Decoder::Zstd(r) => r.read(buf),
        }
    }

    fn into_raw(self) -> Raw<R> {
        match self {
            Decoder::Plain(r) => r,
            Decoder::Gzip(r) => r.into_inner(),
            Decoder::Zstd(r) => r.finish(),
        }
    }
}

/// Detect the compression of `raw` without consuming anything.
fn detect<R: Read>(raw: &mut Raw<R>) -> io::Result<Compression> {
    let head = raw.fill_buf()?;
    Ok(if head.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    })
}

/// Why the producer stopped.
enum Stop {
    /// The consumer went away (it failed); its error is the one to report.
    ConsumerGone,
    Failed(io::Error),
}

fn produce<R: Read>(
    input: R,
    tx: &SyncSender<io::Result<Vec<u8>>>,
    recycled: &Receiver<Vec<u8>>,
) -> std::result::Result<StreamSummary, Stop> {
    let mut raw = BufReader::with_capacity(
        256 * 1024,
        Hashing {
            inner: input,
            hasher: Sha256::new(),
            count: 0,
        },
    );
    let compression = detect(&mut raw).map_err(Stop::Failed)?;
    let mut decoder = match compression {
        Compression::None => Decoder::Plain(raw),
        Compression::Gzip => Decoder::Gzip(Box::new(flate2::bufread::MultiGzDecoder::new(raw))),
        Compression::Zstd => Decoder::Zstd(Box::new(
            zstd::stream::read::Decoder::with_buffer(raw).map_err(Stop::Failed)?,
        )),
    };
    let mut diff = Sha256::new();
    let mut size = 0u64;
    loop {
        let mut chunk = recycled.try_recv().unwrap_or_else(|_| vec![0u8; CHUNK]);
        chunk.resize(CHUNK, 0);
        let mut filled = 0;
        while filled < chunk.len() {
            match decoder.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(io::Error::new(e.kind(), e.to_string())));
                    return Err(Stop::Failed(e));
                }
            }
        }
        if filled == 0 {
            break;
        }
        chunk.truncate(filled);
        diff.update(&chunk);
        size += filled as u64;
        if tx.send(Ok(chunk)).is_err() {
            return Err(Stop::ConsumerGone);
        }
    }
    // Whatever follows the compressed stream still belongs to the blob
    // whose digest the caller checks, so hash it too.
    let mut raw = decoder.into_raw();
    io::copy(&mut raw, &mut io::sink()).map_err(Stop::Failed)?;
    let hashing = raw.into_inner();
    Ok(StreamSummary {
        compressed_digest: Digest::from_hasher(hashing.hasher),
        compressed_size: hashing.count,
        diff_digest: Digest::from_hasher(diff),
        size,
        compression,
    })
}

/// The consumer's side: a `Read` over the chunks the producer sends.
pub(crate) struct ChunkReader {
    rx: Receiver<io::Result<Vec<u8>>>,
    recycle: SyncSender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.cur.len() {
            match self.rx.recv() {
                Ok(Ok(next)) => {
                    let old = std::mem::replace(&mut self.cur, next);
                    let _ = self.recycle.try_send(old);
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = buf.len().min(self.cur.len() - self.pos);
        buf[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Run `consume` over the decompressed stream of `input` while a second
/// thread decompresses and hashes it. After `consume` returns, the rest of
/// the stream (tar padding past the end-of-archive blocks) is read too, so
/// the digests cover every byte.
pub(crate) fn with_decompressed<R, T, F>(input: R, consume: F) -> Result<(T, StreamSummary)>
where
    R: Read + Send,
    F: FnOnce(&mut ChunkReader) -> Result<T>,
{
    let (tx, rx) = sync_channel(IN_FLIGHT);
    let (recycle, recycled) = sync_channel(IN_FLIGHT + 2);
    std::thread::scope(|s| {
        let producer = s.spawn(move || produce(input, &tx, &recycled));
        let mut reader = ChunkReader {
            rx,
            recycle,
            cur: Vec::new(),
            pos: 0,
        };
        let consumed = consume(&mut reader).and_then(|t| {
            io::copy(&mut reader, &mut io::sink()).map_err(|source| Error::Stream {
                entry: None,
                source,
            })?;
            Ok(t)
        });
        // Dropping the reader tells a producer still running to stop.
        drop(reader);
        let produced = producer.join().unwrap_or_else(|_| {
            Err(Stop::Failed(io::Error::other(
                "decompression thread panicked",
            )))
        });
        match (consumed, produced) {
            (Ok(t), Ok(summary)) => Ok((t, summary)),
            (_, Err(Stop::Failed(source))) => Err(Error::Stream {
                entry: None,
                source,
            }),
            (Err(e), _) => Err(e),
            (Ok(_), Err(Stop::ConsumerGone)) => Err(Error::Stream {
                entry: None,
                source: io::Error::other("layer stream ended early"),
            }),
        }
    })
}
