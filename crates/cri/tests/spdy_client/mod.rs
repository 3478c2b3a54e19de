//! A SPDY/3.1 client as client-go's remotecommand and portforward are one
//! (apimachinery's httpstream/spdy over moby/spdystream), written from
//! the protocol's description for the tests, apart from berthd's own
//! framing: the HTTP/1.1 upgrade with `X-Stream-Protocol-Version`, then
//! frames (8-byte heads; control frames version 3), header blocks
//! deflated with the draft's dictionary (one zlib stream each way),
//! streams opened with SYN_STREAM and answered with SYN_REPLY.
//!
//! Unlike spdystream it keeps flow control, and checks the server does:
//! it announces a small stream window (SETTINGS), grants back what it
//! reads (WINDOW_UPDATE per stream and for the session), records any
//! data frame beyond what it granted, and waits for the server's grants
//! before it sends more than a window.
#![allow(dead_code)]

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

/// The stream window the client announces.
pub const WINDOW: u32 = 16 * 1024;
const INITIAL: i64 = 65_536;

/// SPDY/3's zlib dictionary, as the draft prints it.
const DICTIONARY: &[u8] = b"\x00\x00\x00\x07options\x00\x00\x00\x04head\x00\x00\x00\x04post\
\x00\x00\x00\x03put\x00\x00\x00\x06delete\x00\x00\x00\x05trace\x00\x00\x00\x06accept\
\x00\x00\x00\x0eaccept-charset\x00\x00\x00\x0faccept-encoding\x00\x00\x00\x0faccept-language\
\x00\x00\x00\x0daccept-ranges\x00\x00\x00\x03age\x00\x00\x00\x05allow\x00\x00\x00\x0dauthorization\
\x00\x00\x00\x0dcache-control\x00\x00\x00\x0aconnection\x00\x00\x00\x0ccontent-base\
\x00\x00\x00\x10content-encoding\x00\x00\x00\x10content-language\x00\x00\x00\x0econtent-length\
\x00\x00\x00\x10content-location\x00\x00\x00\x0bcontent-md5\x00\x00\x00\x0dcontent-range\
\x00\x00\x00\x0ccontent-type\x00\x00\x00\x04date\x00\x00\x00\x04etag\x00\x00\x00\x06expect\
\x00\x00\x00\x07expires\x00\x00\x00\x04from\x00\x00\x00\x04host\x00\x00\x00\x08if-match\
\x00\x00\x00\x11if-modified-since\x00\x00\x00\x0dif-none-match\x00\x00\x00\x08if-range\
\x00\x00\x00\x13if-unmodified-since\x00\x00\x00\x0dlast-modified\x00\x00\x00\x08location\
\x00\x00\x00\x0cmax-forwards\x00\x00\x00\x06pragma\x00\x00\x00\x12proxy-authenticate\
\x00\x00\x00\x13proxy-authorization\x00\x00\x00\x05range\x00\x00\x00\x07referer\
\x00\x00\x00\x0bretry-after\x00\x00\x00\x06server\x00\x00\x00\x02te\x00\x00\x00\x07trailer\
\x00\x00\x00\x11transfer-encoding\x00\x00\x00\x07upgrade\x00\x00\x00\x0auser-agent\
\x00\x00\x00\x04vary\x00\x00\x00\x03via\x00\x00\x00\x07warning\x00\x00\x00\x10www-authenticate\
\x00\x00\x00\x06method\x00\x00\x00\x03get\x00\x00\x00\x06status\x00\x00\x00\x06200 OK\
\x00\x00\x00\x07version\x00\x00\x00\x08HTTP/1.1\x00\x00\x00\x03url\x00\x00\x00\x06public\
\x00\x00\x00\x0aset-cookie\x00\x00\x00\x0akeep-alive\x00\x00\x00\x06origin\
100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505\
203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request\
401 Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented\
503 Service UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 \
Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,\
application/xml,application/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=\
gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.";

/// What the client has seen.
#[derive(Default)]
pub struct Seen {
    pub data: HashMap<u32, Vec<u8>>,
    pub fin: HashSet<u32>,
    pub replied: HashSet<u32>,
    pub reset: HashMap<u32, u32>,
    pub goaway: bool,
    /// The server closed the TCP connection.
    pub eof: bool,
    /// Data frames beyond the windows we granted.
    pub overruns: Vec<String>,
    received: HashMap<u32, i64>,
    granted: HashMap<u32, i64>,
    received_all: i64,
    granted_all: i64,
    /// The server's windows for our sends.
    send_window: HashMap<u32, i64>,
    send_window_all: i64,
    /// While set, what we read is not granted back: it piles up here.
    hold: bool,
    held: HashMap<u32, i64>,
}

struct Writer {
    w: OwnedWriteHalf,
    z: Compress,
}

/// An upgraded connection.
pub struct SpdyClient {
    writer: Arc<tokio::sync::Mutex<Writer>>,
    pub seen: Arc<Mutex<Seen>>,
    next_id: u32,
    /// The protocol the server chose.
    pub protocol: String,
    reader: tokio::task::JoinHandle<()>,
}

impl Drop for SpdyClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The server's answer to an upgrade it refused.
#[derive(Debug)]
pub struct Refused {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// POST `url` asking for SPDY/3.1 with `protocols` offered, as client-go
/// does (one `X-Stream-Protocol-Version` line per protocol).
pub async fn connect(url: &str, protocols: &[&str]) -> Result<SpdyClient, Refused> {
    let rest = url.trim_start_matches("http://");
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut tcp = TcpStream::connect(host).await.unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: berth-test\r\nContent-Length: 0\r\n\
         Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
    );
    for p in protocols {
        req.push_str(&format!("X-Stream-Protocol-Version: {p}\r\n"));
    }
    req.push_str("\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    // The head byte by byte: SPDY frames may follow it at once.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut b = [0u8; 1];
        if tcp.read(&mut b).await.unwrap() == 0 {
            break;
        }
        head.push(b[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_string())
        })
    };
    if status != 101 {
        let mut body = String::new();
        let _ = tcp.read_to_string(&mut body).await;
        return Err(Refused { status, head, body });
    }
    // What client-go's round tripper checks before it speaks SPDY.
    assert!(header("connection")
        .unwrap()
        .to_lowercase()
        .contains("upgrade"));
    assert_eq!(header("upgrade").unwrap().to_lowercase(), "spdy/3.1");
    let protocol = header("x-stream-protocol-version").unwrap_or_default();

    let (mut r, w) = tcp.into_split();
    let mut z = Compress::new(Compression::default(), true);
    z.set_dictionary(DICTIONARY).unwrap();
    let writer = Arc::new(tokio::sync::Mutex::new(Writer { w, z }));
    let seen = Arc::new(Mutex::new(Seen {
        send_window_all: INITIAL,
        ..Default::default()
    }));
    // Our window first: the server keeps it from here on.
    let mut settings = vec![0, 0, 0, 1];
    settings.extend_from_slice(&7u32.to_be_bytes());
    settings.extend_from_slice(&WINDOW.to_be_bytes());
    writer
        .lock()
        .await
        .w
        .write_all(&control(4, 0, &settings))
        .await
        .unwrap();

    let (wr, sn) = (Arc::clone(&writer), Arc::clone(&seen));
    let reader = tokio::spawn(async move {
        let mut inflate = Decompress::new(true);
        loop {
            let mut h = [0u8; 8];
            if r.read_exact(&mut h).await.is_err() {
                break;
            }
            let len = u32::from_be_bytes([0, h[5], h[6], h[7]]) as usize;
            let mut body = vec![0u8; len];
            if r.read_exact(&mut body).await.is_err() {
                break;
            }
            let word = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
            if h[0] & 0x80 == 0 {
                let id = word(&h) & 0x7fff_ffff;
                let n = body.len() as i64;
                {
                    let mut s = sn.lock().unwrap();
                    *s.received.entry(id).or_default() += n;
                    s.received_all += n;
                    let granted = WINDOW as i64 + s.granted.get(&id).copied().unwrap_or(0);
                    let over_stream = s.received[&id] > granted;
                    let over_all = s.received_all > INITIAL + s.granted_all;
                    if over_stream || over_all {
                        let msg = format!(
                            "stream {id}: {} received, {granted} granted; session {} of {}",
                            s.received[&id],
                            s.received_all,
                            INITIAL + s.granted_all
                        );
                        s.overruns.push(msg);
                    }
                    s.data.entry(id).or_default().extend_from_slice(&body);
                    if h[4] & 1 != 0 {
                        s.fin.insert(id);
                    }
                }
                if n > 0 {
                    let held = {
                        let mut s = sn.lock().unwrap();
                        if s.hold {
                            *s.held.entry(id).or_default() += n;
                        }
                        s.hold
                    };
                    if !held {
                        // Read: grant it back, to the stream and the session.
                        grant(&wr, &sn, id, n).await;
                    }
                }
                continue;
            }
            assert_eq!(u16::from_be_bytes([h[0], h[1]]) & 0x7fff, 3, "spdy version");
            let kind = u16::from_be_bytes([h[2], h[3]]);
            let mut s = sn.lock().unwrap();
            match kind {
                2 => {
                    let id = word(&body) & 0x7fff_ffff;
                    let _headers = inflate_block(&mut inflate, &body[4..]);
                    s.replied.insert(id);
                    if h[4] & 1 != 0 {
                        s.fin.insert(id);
                    }
                }
                3 => {
                    s.reset.insert(word(&body) & 0x7fff_ffff, word(&body[4..]));
                }
                7 => s.goaway = true,
                8 => {
                    let _ = inflate_block(&mut inflate, &body[4..]);
                }
                9 => {
                    let id = word(&body) & 0x7fff_ffff;
                    let delta = (word(&body[4..]) & 0x7fff_ffff) as i64;
                    if id == 0 {
                        s.send_window_all += delta;
                    } else {
                        *s.send_window.entry(id).or_insert(INITIAL) += delta;
                    }
                }
                _ => {}
            }
        }
        sn.lock().unwrap().eof = true;
    });
    Ok(SpdyClient {
        writer,
        seen,
        next_id: 1,
        protocol,
        reader,
    })
}

async fn grant(wr: &tokio::sync::Mutex<Writer>, sn: &Mutex<Seen>, id: u32, n: i64) {
    {
        let mut w = wr.lock().await;
        for sid in [id, 0] {
            let mut b = sid.to_be_bytes().to_vec();
            b.extend_from_slice(&(n as u32).to_be_bytes());
            let _ = w.w.write_all(&control(9, 0, &b)).await;
        }
    }
    let mut s = sn.lock().unwrap();
    *s.granted.entry(id).or_default() += n;
    s.granted_all += n;
}

fn control(kind: u16, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = vec![0x80, 3];
    f.extend_from_slice(&kind.to_be_bytes());
    f.push(flags);
    f.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    f.extend_from_slice(body);
    f
}

fn inflate_block(z: &mut Decompress, block: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(4096);
    let start = z.total_in();
    loop {
        let used = (z.total_in() - start) as usize;
        match z.decompress_vec(&block[used..], &mut out, FlushDecompress::Sync) {
            Ok(_) => {}
            Err(e) if e.needs_dictionary().is_some() => {
                z.set_dictionary(DICTIONARY).unwrap();
                continue;
            }
            Err(e) => panic!("inflating a header block: {e}"),
        }
        if (z.total_in() - start) as usize == block.len() && out.len() < out.capacity() {
            break;
        }
        out.reserve(4096);
    }
    let mut b = &out[..];
    let mut next = |n: usize| {
        let (a, rest) = b.split_at(n);
        b = rest;
        a.to_vec()
    };
    let count = u32::from_be_bytes(next(4).try_into().unwrap());
    (0..count)
        .map(|_| {
            let n = u32::from_be_bytes(next(4).try_into().unwrap()) as usize;
            let name = String::from_utf8(next(n)).unwrap();
            let n = u32::from_be_bytes(next(4).try_into().unwrap()) as usize;
            (name, String::from_utf8(next(n)).unwrap())
        })
        .collect()
}

impl SpdyClient {
    /// Open a stream with `headers` (`fin`: we will not write on it) and
    /// wait for the server's SYN_REPLY.
    pub async fn open(&mut self, headers: &[(&str, &str)], fin: bool) -> u32 {
        let id = self.open_nowait(headers, fin).await;
        self.wait(10, |s| s.replied.contains(&id) || s.reset.contains_key(&id))
            .await;
        assert!(
            self.seen.lock().unwrap().replied.contains(&id),
            "stream {id} not accepted"
        );
        id
    }

    /// Open a stream without waiting for its reply.
    pub async fn open_nowait(&mut self, headers: &[(&str, &str)], fin: bool) -> u32 {
        let id = self.next_id;
        self.next_id += 2;
        let mut block = (headers.len() as u32).to_be_bytes().to_vec();
        for (n, v) in headers {
            for s in [n.to_lowercase(), v.to_string()] {
                block.extend_from_slice(&(s.len() as u32).to_be_bytes());
                block.extend_from_slice(s.as_bytes());
            }
        }
        let mut w = self.writer.lock().await;
        let mut deflated = Vec::with_capacity(block.len() + 128);
        let start = w.z.total_in();
        loop {
            let used = (w.z.total_in() - start) as usize;
            w.z.compress_vec(&block[used..], &mut deflated, FlushCompress::Sync)
                .unwrap();
            if (w.z.total_in() - start) as usize == block.len()
                && deflated.len() < deflated.capacity()
            {
                break;
            }
            deflated.reserve(128);
        }
        let mut body = id.to_be_bytes().to_vec();
        body.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        body.extend_from_slice(&deflated);
        w.w.write_all(&control(1, u8::from(fin), &body))
            .await
            .unwrap();
        id
    }

    /// Stop granting back what we read: the server must stop at our windows.
    pub fn hold_grants(&self) {
        self.seen.lock().unwrap().hold = true;
    }

    /// Grant back everything read while held, and go on granting.
    pub async fn release_grants(&self) {
        let held: Vec<(u32, i64)> = {
            let mut s = self.seen.lock().unwrap();
            s.hold = false;
            s.held.drain().collect()
        };
        for (id, n) in held {
            grant(&self.writer, &self.seen, id, n).await;
        }
    }

    /// The bytes read on stream `id`.
    pub fn received(&self, id: u32) -> usize {
        self.seen.lock().unwrap().data.get(&id).map_or(0, Vec::len)
    }

    /// Send `data` on stream `id`, within the server's windows.
    pub async fn send(&self, id: u32, mut data: &[u8]) {
        while !data.is_empty() {
            let room = {
                let s = self.seen.lock().unwrap();
                let stream = s.send_window.get(&id).copied().unwrap_or(INITIAL);
                stream.min(s.send_window_all)
            };
            if room <= 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
                continue;
            }
            let n = data.len().min(room as usize).min(8192);
            {
                let mut s = self.seen.lock().unwrap();
                *s.send_window.entry(id).or_insert(INITIAL) -= n as i64;
                s.send_window_all -= n as i64;
            }
            self.data_frame(id, &data[..n], false).await;
            data = &data[n..];
        }
    }

    /// Finish our half of stream `id` (an empty data frame with FIN).
    pub async fn finish(&self, id: u32) {
        self.data_frame(id, &[], true).await;
    }

    async fn data_frame(&self, id: u32, data: &[u8], fin: bool) {
        let mut f = id.to_be_bytes().to_vec();
        f.push(u8::from(fin));
        f.extend_from_slice(&(data.len() as u32).to_be_bytes()[1..]);
        f.extend_from_slice(data);
        self.writer.lock().await.w.write_all(&f).await.unwrap();
    }

    /// Wait up to `secs` for `cond`; panics on time out.
    pub async fn wait(&self, secs: u64, cond: impl Fn(&Seen) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            if cond(&self.seen.lock().unwrap()) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting on the spdy connection"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// What stream `id` has carried so far, as text.
    pub fn text(&self, id: u32) -> String {
        let s = self.seen.lock().unwrap();
        String::from_utf8_lossy(s.data.get(&id).map(Vec::as_slice).unwrap_or_default()).to_string()
    }

    /// Wait until stream `id` has shown `needle`.
    pub async fn wait_for_text(&self, id: u32, needle: &str, secs: u64) -> String {
        let n = needle.as_bytes().to_vec();
        self.wait(secs, |s| {
            s.data
                .get(&id)
                .is_some_and(|d| d.windows(n.len()).any(|w| w == n))
        })
        .await;
        self.text(id)
    }
}
