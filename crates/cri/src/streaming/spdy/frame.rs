//! SPDY/3.1 framing (the draft-3.1 protocol that moby/spdystream, and so
//! kubelet and client-go, speak): every frame, control and data, to and
//! from bytes, and the header blocks, compressed with zlib primed with
//! SPDY/3's dictionary, one zlib stream per direction per connection
//! ([`HeaderEncoder`] on our writes, [`HeaderDecoder`] on our reads).
//!
//! ```text
//! control: |1| version(15) = 3 | type(16) | flags(8) | length(24) | data
//! data:    |0| stream id(31)              | flags(8) | length(24) | data
//! ```

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use tokio::io::{AsyncRead, AsyncReadExt};

/// The protocol version in every control frame.
pub const VERSION: u16 = 3;
/// FIN on a data frame, SYN_STREAM, SYN_REPLY or HEADERS: the sender's
/// half of the stream is done.
pub const FLAG_FIN: u8 = 0x01;
/// The window of every stream and of the session until SETTINGS says
/// otherwise (SPDY/3.1: 64 KiB).
pub const DEFAULT_WINDOW: u32 = 65_536;
/// SETTINGS id of the initial stream window.
pub const SETTINGS_INITIAL_WINDOW_SIZE: u32 = 7;
/// The largest header block we inflate: kubelet's streams carry a few
/// short headers; a bigger block is an attack, not a request.
const MAX_HEADER_BLOCK: usize = 64 * 1024;

const SYN_STREAM: u16 = 1;
const SYN_REPLY: u16 = 2;
const RST_STREAM: u16 = 3;
const SETTINGS: u16 = 4;
const PING: u16 = 6;
const GOAWAY: u16 = 7;
const HEADERS: u16 = 8;
const WINDOW_UPDATE: u16 = 9;

/// RST_STREAM status codes we send.
pub mod rst {
    /// The frame broke the protocol.
    pub const PROTOCOL_ERROR: u32 = 1;
    /// A frame for a stream that is not open.
    pub const INVALID_STREAM: u32 = 2;
    /// The stream is not wanted.
    pub const REFUSED_STREAM: u32 = 3;
    /// The stream is cancelled.
    pub const CANCEL: u32 = 5;
}

/// A stream's headers: lowercase names, each value on its own (a NUL in a
/// value on the wire separates several values of one name).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// The first value of `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// One SETTINGS entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// Persist flags (ignored: we persist nothing).
    pub flags: u8,
    /// Which setting (24 bits).
    pub id: u32,
    /// Its value.
    pub value: u32,
}

/// One frame, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Opens a stream.
    SynStream {
        /// The new stream (odd from a client).
        stream_id: u32,
        /// The stream it belongs to (server push; 0 for none).
        associated_id: u32,
        /// 0 (highest) to 7.
        priority: u8,
        /// [`FLAG_FIN`]; 0x02 UNIDIRECTIONAL (the receiver may not send).
        flags: u8,
        /// The stream's headers.
        headers: Headers,
    },
    /// Accepts a stream.
    SynReply {
        /// The stream accepted.
        stream_id: u32,
        /// [`FLAG_FIN`].
        flags: u8,
        /// Headers of the answer.
        headers: Headers,
    },
    /// Ends a stream abnormally.
    RstStream {
        /// The stream.
        stream_id: u32,
        /// Why ([`rst`]).
        status: u32,
    },
    /// Connection settings.
    Settings {
        /// CLEAR_SETTINGS (0x1).
        flags: u8,
        /// The entries.
        entries: Vec<Setting>,
    },
    /// A ping, echoed by the side that did not send it.
    Ping {
        /// Odd from a client, even from a server.
        id: u32,
    },
    /// The sender takes no new streams.
    GoAway {
        /// The last stream it acted on.
        last_good: u32,
        /// 0 OK, 1 protocol error, 2 internal error.
        status: u32,
    },
    /// More headers on an open stream.
    Headers {
        /// The stream.
        stream_id: u32,
        /// [`FLAG_FIN`].
        flags: u8,
        /// The headers.
        headers: Headers,
    },
    /// The sender may send `delta` more bytes on the stream (0: the
    /// whole session, SPDY/3.1).
    WindowUpdate {
        /// The stream, or 0.
        stream_id: u32,
        /// The bytes granted (31 bits).
        delta: u32,
    },
    /// Bytes of a stream.
    Data {
        /// The stream.
        stream_id: u32,
        /// [`FLAG_FIN`].
        flags: u8,
        /// The bytes.
        data: Vec<u8>,
    },
    /// A control frame of a type we do not know: skipped, as the
    /// protocol asks.
    Unknown {
        /// Its type.
        kind: u16,
    },
}

/// Why a frame could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The connection failed or ended inside a frame.
    #[error("spdy connection: {0}")]
    Io(#[from] std::io::Error),
    /// A control frame of another SPDY version.
    #[error("spdy version {0} is not spoken here (3 is)")]
    Version(u16),
    /// A frame whose content does not fit its type.
    #[error("malformed spdy {what} frame: {why}")]
    Malformed {
        /// The frame type.
        what: &'static str,
        /// What is wrong.
        why: &'static str,
    },
    /// The header block's zlib stream is broken.
    #[error("spdy header block: {0}")]
    Zlib(String),
}

fn malformed(what: &'static str, why: &'static str) -> FrameError {
    FrameError::Malformed { what, why }
}

/// SPDY/3's zlib dictionary (draft 3, "Compression"): common header names,
/// each with its length as 4 big-endian bytes, then a run of common
/// values. 1423 bytes; both ends must prime zlib with exactly these.
pub fn dictionary() -> Vec<u8> {
    const NAMES: [&str; 65] = [
        "options",
        "head",
        "post",
        "put",
        "delete",
        "trace",
        "accept",
        "accept-charset",
        "accept-encoding",
        "accept-language",
        "accept-ranges",
        "age",
        "allow",
        "authorization",
        "cache-control",
        "connection",
        "content-base",
        "content-encoding",
        "content-language",
        "content-length",
        "content-location",
        "content-md5",
        "content-range",
        "content-type",
        "date",
        "etag",
        "expect",
        "expires",
        "from",
        "host",
        "if-match",
        "if-modified-since",
        "if-none-match",
        "if-range",
        "if-unmodified-since",
        "last-modified",
        "location",
        "max-forwards",
        "pragma",
        "proxy-authenticate",
        "proxy-authorization",
        "range",
        "referer",
        "retry-after",
        "server",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "vary",
        "via",
        "warning",
        "www-authenticate",
        "method",
        "get",
        "status",
        "200 OK",
        "version",
        "HTTP/1.1",
        "url",
        "public",
        "set-cookie",
        "keep-alive",
        "origin",
    ];
    const VALUES: &str = concat!(
        "100101201202205206300302303304305306307402405406407408409410411412413414415416417",
        "502504505203 Non-Authoritative Information204 No Content301 Moved Permanently",
        "400 Bad Request401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error",
        "501 Not Implemented503 Service Unavailable",
        "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 ",
        "Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT",
        "chunked,text/html,image/png,image/jpg,image/gif,application/xml,",
        "application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=",
        "gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.",
    );
    let mut d = Vec::with_capacity(1423);
    for name in NAMES {
        d.extend_from_slice(&(name.len() as u32).to_be_bytes());
        d.extend_from_slice(name.as_bytes());
    }
    d.extend_from_slice(VALUES.as_bytes());
    d
}

/// Our outgoing header blocks: one deflate stream for the connection.
pub struct HeaderEncoder {
    z: Compress,
}

impl HeaderEncoder {
    /// A fresh stream primed with the dictionary.
    pub fn new() -> Result<HeaderEncoder, FrameError> {
        let mut z = Compress::new(Compression::default(), true);
        z.set_dictionary(&dictionary())
            .map_err(|e| FrameError::Zlib(e.to_string()))?;
        Ok(HeaderEncoder { z })
    }

    /// `headers` as a compressed block, flushed to a byte boundary (the
    /// peer inflates each block on its own).
    fn encode(&mut self, headers: &Headers) -> Result<Vec<u8>, FrameError> {
        let block = plain_block(headers);
        let mut out = Vec::with_capacity(block.len() + 64);
        let start = self.z.total_in();
        loop {
            let done_in = (self.z.total_in() - start) as usize;
            if out.len() == out.capacity() {
                out.reserve(256);
            }
            self.z
                .compress_vec(&block[done_in..], &mut out, FlushCompress::Sync)
                .map_err(|e| FrameError::Zlib(e.to_string()))?;
            // Flushed once all input went in and zlib left room unused.
            if (self.z.total_in() - start) as usize == block.len() && out.len() < out.capacity() {
                return Ok(out);
            }
        }
    }
}

/// Incoming header blocks: one inflate stream for the connection.
pub struct HeaderDecoder {
    z: Decompress,
}

impl Default for HeaderDecoder {
    fn default() -> Self {
        HeaderDecoder {
            z: Decompress::new(true),
        }
    }
}

impl HeaderDecoder {
    fn decode(&mut self, compressed: &[u8]) -> Result<Headers, FrameError> {
        let mut out = Vec::with_capacity(512);
        let start_in = self.z.total_in();
        loop {
            let done_in = (self.z.total_in() - start_in) as usize;
            if out.len() == out.capacity() {
                if out.len() >= MAX_HEADER_BLOCK {
                    return Err(malformed("header block", "larger than 64 KiB"));
                }
                out.reserve(out.capacity());
            }
            let (before_in, before_out) = (self.z.total_in(), self.z.total_out());
            match self
                .z
                .decompress_vec(&compressed[done_in..], &mut out, FlushDecompress::Sync)
            {
                Ok(Status::StreamEnd) => {
                    return Err(malformed("header block", "the zlib stream ended"))
                }
                Ok(_) => {}
                Err(e) if e.needs_dictionary().is_some() => {
                    self.z
                        .set_dictionary(&dictionary())
                        .map_err(|e| FrameError::Zlib(e.to_string()))?;
                    continue;
                }
                Err(e) => return Err(FrameError::Zlib(e.to_string())),
            }
            let all_in = (self.z.total_in() - start_in) as usize == compressed.len();
            if all_in && out.len() < out.capacity() {
                return parse_block(&out);
            }
            if self.z.total_in() == before_in && self.z.total_out() == before_out {
                return Err(FrameError::Zlib("no progress inflating".into()));
            }
        }
    }
}

fn plain_block(headers: &Headers) -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&(headers.0.len() as u32).to_be_bytes());
    for (name, value) in &headers.0 {
        let name = name.to_ascii_lowercase();
        b.extend_from_slice(&(name.len() as u32).to_be_bytes());
        b.extend_from_slice(name.as_bytes());
        b.extend_from_slice(&(value.len() as u32).to_be_bytes());
        b.extend_from_slice(value.as_bytes());
    }
    b
}

fn parse_block(mut b: &[u8]) -> Result<Headers, FrameError> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], FrameError> {
        if b.len() < n {
            return Err(malformed("header block", "shorter than its lengths"));
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Ok(head)
    }
    fn word(b: &mut &[u8]) -> Result<usize, FrameError> {
        let w = take(b, 4)?;
        Ok(u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize)
    }
    let count = word(&mut b)?;
    let mut headers = Vec::new();
    for _ in 0..count {
        let n = word(&mut b)?;
        let name = String::from_utf8_lossy(take(&mut b, n)?).to_ascii_lowercase();
        let n = word(&mut b)?;
        let value = String::from_utf8_lossy(take(&mut b, n)?).to_string();
        for v in value.split('\0') {
            headers.push((name.clone(), v.to_string()));
        }
    }
    Ok(Headers(headers))
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn control(kind: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(8 + body.len());
    f.extend_from_slice(&(0x8000 | VERSION).to_be_bytes());
    f.extend_from_slice(&kind.to_be_bytes());
    f.extend_from_slice(&((flags as u32) << 24 | body.len() as u32).to_be_bytes());
    f.extend_from_slice(body);
    f
}

/// Writes frames; owns the connection's outgoing header stream.
pub struct Encoder {
    headers: HeaderEncoder,
}

impl Encoder {
    /// A new connection's encoder.
    pub fn new() -> Result<Encoder, FrameError> {
        Ok(Encoder {
            headers: HeaderEncoder::new()?,
        })
    }

    /// `frame` as bytes on the wire. Data longer than 16 MiB - 1 is the
    /// caller's to split (the session never makes one).
    pub fn encode(&mut self, frame: &Frame) -> Result<Vec<u8>, FrameError> {
        let id31 = |id: u32| (id & 0x7fff_ffff).to_be_bytes();
        Ok(match frame {
            Frame::SynStream {
                stream_id,
                associated_id,
                priority,
                flags,
                headers,
            } => {
                let mut body = Vec::new();
                body.extend_from_slice(&id31(*stream_id));
                body.extend_from_slice(&id31(*associated_id));
                body.push((priority & 0x7) << 5);
                body.push(0); // credential slot
                body.extend(self.headers.encode(headers)?);
                control(SYN_STREAM, *flags, &body)
            }
            Frame::SynReply {
                stream_id,
                flags,
                headers,
            } => {
                let mut body = id31(*stream_id).to_vec();
                body.extend(self.headers.encode(headers)?);
                control(SYN_REPLY, *flags, &body)
            }
            Frame::Headers {
                stream_id,
                flags,
                headers,
            } => {
                let mut body = id31(*stream_id).to_vec();
                body.extend(self.headers.encode(headers)?);
                control(HEADERS, *flags, &body)
            }
            Frame::RstStream { stream_id, status } => {
                let mut body = id31(*stream_id).to_vec();
                body.extend_from_slice(&status.to_be_bytes());
                control(RST_STREAM, 0, &body)
            }
            Frame::Settings { flags, entries } => {
                let mut body = (entries.len() as u32).to_be_bytes().to_vec();
                for s in entries {
                    body.extend_from_slice(
                        &((s.flags as u32) << 24 | (s.id & 0xff_ffff)).to_be_bytes(),
                    );
                    body.extend_from_slice(&s.value.to_be_bytes());
                }
                control(SETTINGS, *flags, &body)
            }
            Frame::Ping { id } => control(PING, 0, &id.to_be_bytes()),
            Frame::GoAway { last_good, status } => {
                let mut body = id31(*last_good).to_vec();
                body.extend_from_slice(&status.to_be_bytes());
                control(GOAWAY, 0, &body)
            }
            Frame::WindowUpdate { stream_id, delta } => {
                let mut body = id31(*stream_id).to_vec();
                body.extend_from_slice(&(delta & 0x7fff_ffff).to_be_bytes());
                control(WINDOW_UPDATE, 0, &body)
            }
            Frame::Data {
                stream_id,
                flags,
                data,
            } => {
                let mut f = Vec::with_capacity(8 + data.len());
                f.extend_from_slice(&id31(*stream_id));
                f.extend_from_slice(&((*flags as u32) << 24 | data.len() as u32).to_be_bytes());
                f.extend_from_slice(data);
                f
            }
            Frame::Unknown { kind } => control(*kind, 0, &[]),
        })
    }
}

/// Reads frames; owns the connection's incoming header stream.
#[derive(Default)]
pub struct Decoder {
    headers: HeaderDecoder,
}

impl Decoder {
    /// The next frame from `r`; None at a clean end between frames.
    pub async fn read<R: AsyncRead + Unpin>(
        &mut self,
        r: &mut R,
    ) -> Result<Option<Frame>, FrameError> {
        let mut head = [0u8; 8];
        match r.read(&mut head[..1]).await? {
            0 => return Ok(None),
            _ => r.read_exact(&mut head[1..]).await?,
        };
        let len = (be32(&head[4..]) & 0xff_ffff) as usize;
        let mut body = vec![0u8; len];
        r.read_exact(&mut body).await?;
        self.decode(head, body).map(Some)
    }

    /// A frame from its 8-byte head and its body.
    pub fn decode(&mut self, head: [u8; 8], body: Vec<u8>) -> Result<Frame, FrameError> {
        let flags = head[4];
        if head[0] & 0x80 == 0 {
            return Ok(Frame::Data {
                stream_id: be32(&head) & 0x7fff_ffff,
                flags,
                data: body,
            });
        }
        let version = u16::from_be_bytes([head[0], head[1]]) & 0x7fff;
        if version != VERSION {
            return Err(FrameError::Version(version));
        }
        let kind = u16::from_be_bytes([head[2], head[3]]);
        let need = |what: &'static str, n: usize| {
            if body.len() < n {
                Err(malformed(what, "shorter than its fields"))
            } else {
                Ok(())
            }
        };
        Ok(match kind {
            SYN_STREAM => {
                need("SYN_STREAM", 10)?;
                Frame::SynStream {
                    stream_id: be32(&body) & 0x7fff_ffff,
                    associated_id: be32(&body[4..]) & 0x7fff_ffff,
                    priority: body[8] >> 5,
                    flags,
                    headers: self.headers.decode(&body[10..])?,
                }
            }
            SYN_REPLY | HEADERS => {
                need("SYN_REPLY", 4)?;
                let stream_id = be32(&body) & 0x7fff_ffff;
                let headers = self.headers.decode(&body[4..])?;
                if kind == SYN_REPLY {
                    Frame::SynReply {
                        stream_id,
                        flags,
                        headers,
                    }
                } else {
                    Frame::Headers {
                        stream_id,
                        flags,
                        headers,
                    }
                }
            }
            RST_STREAM => {
                need("RST_STREAM", 8)?;
                Frame::RstStream {
                    stream_id: be32(&body) & 0x7fff_ffff,
                    status: be32(&body[4..]),
                }
            }
            SETTINGS => {
                need("SETTINGS", 4)?;
                let n = be32(&body) as usize;
                let entries = body[4..].chunks_exact(8);
                if entries.len() != n || !entries.remainder().is_empty() {
                    return Err(malformed("SETTINGS", "entries do not match the count"));
                }
                Frame::Settings {
                    flags,
                    entries: entries
                        .map(|e| Setting {
                            flags: e[0],
                            id: be32(e) & 0xff_ffff,
                            value: be32(&e[4..]),
                        })
                        .collect(),
                }
            }
            PING => {
                need("PING", 4)?;
                Frame::Ping { id: be32(&body) }
            }
            GOAWAY => {
                need("GOAWAY", 8)?;
                Frame::GoAway {
                    last_good: be32(&body) & 0x7fff_ffff,
                    status: be32(&body[4..]),
                }
            }
            WINDOW_UPDATE => {
                need("WINDOW_UPDATE", 8)?;
                Frame::WindowUpdate {
                    stream_id: be32(&body) & 0x7fff_ffff,
                    delta: be32(&body[4..]) & 0x7fff_ffff,
                }
            }
            kind => Frame::Unknown { kind },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(frames: &[Frame]) -> Vec<Frame> {
        let mut enc = Encoder::new().unwrap();
        let mut wire = Vec::new();
        for f in frames {
            wire.extend(enc.encode(f).unwrap());
        }
        let mut dec = Decoder::default();
        let mut r = &wire[..];
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut out = Vec::new();
        while let Some(f) = rt.block_on(dec.read(&mut r)).unwrap() {
            out.push(f);
        }
        out
    }

    fn h(pairs: &[(&str, &str)]) -> Headers {
        Headers(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn the_dictionary_is_spdy3s() {
        let d = dictionary();
        assert_eq!(d.len(), 1423);
        assert!(d.starts_with(b"\0\0\0\x07options\0\0\0\x04head"));
        assert!(d.ends_with(b"enq=0."));
        // Adler-32 of the draft's dictionary: what a zlib stream primed
        // with it names in its header (FDICT), so both ends agree.
        let mut z = Compress::new(Compression::default(), true);
        assert_eq!(z.set_dictionary(&d).unwrap(), 0xe3c6_a7c2);
    }

    #[test]
    fn every_frame_round_trips_through_one_zlib_stream_each_way() {
        let frames = vec![
            Frame::SynStream {
                stream_id: 1,
                associated_id: 0,
                priority: 3,
                flags: FLAG_FIN,
                headers: h(&[("streamtype", "error"), ("port", "8080")]),
            },
            // The second block leans on the first's history.
            Frame::SynStream {
                stream_id: 3,
                associated_id: 0,
                priority: 0,
                flags: 0,
                headers: h(&[("streamtype", "data"), ("port", "8080"), ("requestid", "0")]),
            },
            Frame::SynReply {
                stream_id: 3,
                flags: 0,
                headers: Headers::default(),
            },
            Frame::Headers {
                stream_id: 3,
                flags: FLAG_FIN,
                headers: h(&[("x", "a"), ("x", "b")]),
            },
            Frame::RstStream {
                stream_id: 5,
                status: rst::CANCEL,
            },
            Frame::Settings {
                flags: 0,
                entries: vec![Setting {
                    flags: 0,
                    id: SETTINGS_INITIAL_WINDOW_SIZE,
                    value: 16384,
                }],
            },
            Frame::Ping { id: 7 },
            Frame::GoAway {
                last_good: 3,
                status: 0,
            },
            Frame::WindowUpdate {
                stream_id: 0,
                delta: 1 << 20,
            },
            Frame::Data {
                stream_id: 3,
                flags: FLAG_FIN,
                data: b"hello".to_vec(),
            },
            Frame::Data {
                stream_id: 1,
                flags: 0,
                data: Vec::new(),
            },
        ];
        assert_eq!(roundtrip(&frames), frames);
    }

    #[test]
    fn wire_layout_matches_the_draft() {
        let mut enc = Encoder::new().unwrap();
        let f = enc
            .encode(&Frame::WindowUpdate {
                stream_id: 5,
                delta: 300,
            })
            .unwrap();
        assert_eq!(f, [0x80, 3, 0, 9, 0, 0, 0, 8, 0, 0, 0, 5, 0, 0, 1, 44]);
        let f = enc
            .encode(&Frame::Data {
                stream_id: 3,
                flags: FLAG_FIN,
                data: b"ab".to_vec(),
            })
            .unwrap();
        assert_eq!(f, [0, 0, 0, 3, 1, 0, 0, 2, b'a', b'b']);
        // A header block starts a zlib stream with FDICT naming the dictionary.
        let f = enc
            .encode(&Frame::SynReply {
                stream_id: 1,
                flags: 0,
                headers: Headers::default(),
            })
            .unwrap();
        assert_eq!(&f[..4], [0x80, 3, 0, 2]);
        assert_eq!(f[12] & 0x0f, 8, "deflate");
        assert!(f[13] & 0x20 != 0, "FDICT");
        assert_eq!(&f[14..18], 0xe3c6_a7c2u32.to_be_bytes());
    }

    #[test]
    fn bad_input_is_a_clear_error() {
        let mut dec = Decoder::default();
        // Version 2.
        let e = dec.decode([0x80, 2, 0, 1, 0, 0, 0, 0], vec![]).unwrap_err();
        assert!(matches!(e, FrameError::Version(2)), "{e}");
        // A RST_STREAM cut short.
        let e = dec
            .decode([0x80, 3, 0, 3, 0, 0, 0, 4], vec![0; 4])
            .unwrap_err();
        assert!(e.to_string().contains("RST_STREAM"), "{e}");
        // A header block that is not zlib.
        let e = dec
            .decode([0x80, 3, 0, 2, 0, 0, 0, 8], vec![0, 0, 0, 1, 9, 9, 9, 9])
            .unwrap_err();
        assert!(matches!(e, FrameError::Zlib(_)), "{e}");
        // Settings whose count lies.
        let e = dec
            .decode([0x80, 3, 0, 4, 0, 0, 0, 4], vec![0, 0, 0, 2])
            .unwrap_err();
        assert!(e.to_string().contains("SETTINGS"), "{e}");
        // An unknown control type is skipped, not fatal.
        assert_eq!(
            dec.decode([0x80, 3, 0, 42, 0, 0, 0, 0], vec![]).unwrap(),
            Frame::Unknown { kind: 42 }
        );
        // A frame cut off mid-body is an I/O error.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let mut r: &[u8] = &[0, 0, 0, 1, 0, 0, 0, 9, 1];
        assert!(matches!(
            rt.block_on(dec.read(&mut r)),
            Err(FrameError::Io(_))
        ));
    }
}
