//! One SPDY/3.1 connection, the server's side: a reader that turns the
//! client's frames into streams and their bytes, and a writer that owns
//! the socket's write half, the outgoing header stream and both kinds of
//! flow-control windows.
//!
//! Flow control both ways: as the application consumes a stream's bytes
//! we grant them back with WINDOW_UPDATE (per stream and, SPDY/3.1, for
//! the session). Our sends stay within the client's windows once the
//! client shows it keeps them (a SETTINGS or WINDOW_UPDATE frame): the
//! spdystream library under client-go and kubelet never sends either and
//! ignores windows, so a window held against it would stall every exec
//! after 64 KiB, and kubelet does not hold one either. A client that
//! ignores our windows is slowed by the socket instead: a stream's
//! unread bytes are capped, past the cap the reader stops reading.

use super::frame::{
    rst, Decoder, Encoder, Frame, FrameError, Headers, DEFAULT_WINDOW, FLAG_FIN,
    SETTINGS_INITIAL_WINDOW_SIZE,
};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::{oneshot, watch, OwnedSemaphorePermit, Semaphore};

/// The most of one stream's bytes held unread before the reader waits.
const UNREAD_CAP: usize = 256 * 1024;
/// The largest data frame we send.
const MAX_DATA: usize = 32 * 1024;
/// Consumed bytes granted back once this many gathered (half a window).
const GRANT_AT: u32 = DEFAULT_WINDOW / 2;
/// After our GOAWAY: how long the client may take to close its side
/// before we drop the socket (closing at once could reset what it has
/// not read yet).
const LINGER: Duration = Duration::from_secs(2);

/// The connection ended or the stream was reset: the bytes did not go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the spdy stream or connection is closed")]
pub struct Closed;

enum Cmd {
    Reply(u32),
    Data {
        id: u32,
        data: Vec<u8>,
        fin: bool,
        done: oneshot::Sender<Result<(), Closed>>,
    },
    Consumed(u32, u32),
    PeerWindow(u32, u32),
    PeerInitialWindow(u32),
    PeerReset(u32),
    Reset(u32, u32),
    Ping(u32),
    PeerGone,
    Close,
}

/// A handle on the connection (clone it freely).
#[derive(Clone)]
pub struct Session {
    cmd: UnboundedSender<Cmd>,
    closed: watch::Receiver<bool>,
}

/// A stream the client opened (already accepted with SYN_REPLY).
pub struct Stream {
    /// Its id.
    pub id: u32,
    /// The headers the client opened it with.
    pub headers: Headers,
    rx: UnboundedReceiver<(Vec<u8>, OwnedSemaphorePermit)>,
    cmd: UnboundedSender<Cmd>,
}

impl Stream {
    /// The client's next bytes on the stream; None once it finished the
    /// stream (FIN), reset it, or the connection ended.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        let (data, permit) = self.rx.recv().await?;
        drop(permit);
        let _ = self.cmd.send(Cmd::Consumed(self.id, data.len() as u32));
        Some(data)
    }
}

impl Session {
    /// Send `data` on stream `id`; returns once it is on the socket.
    pub async fn send(&self, id: u32, data: Vec<u8>) -> Result<(), Closed> {
        self.data(id, data, false).await
    }

    /// Finish our half of stream `id` (after everything sent before).
    pub async fn finish(&self, id: u32) -> Result<(), Closed> {
        self.data(id, Vec::new(), true).await
    }

    async fn data(&self, id: u32, data: Vec<u8>, fin: bool) -> Result<(), Closed> {
        let (done, sent) = oneshot::channel();
        self.cmd
            .send(Cmd::Data {
                id,
                data,
                fin,
                done,
            })
            .map_err(|_| Closed)?;
        sent.await.map_err(|_| Closed)?
    }

    /// Reset stream `id` with `status` ([`rst`]).
    pub fn reset(&self, id: u32, status: u32) {
        let _ = self.cmd.send(Cmd::Reset(id, status));
    }

    /// Say GOAWAY and close our side; the connection ends when the
    /// client closes its side or after a short linger.
    pub fn close(&self) {
        let _ = self.cmd.send(Cmd::Close);
    }

    /// Resolves once the client's side of the connection has ended.
    pub async fn closed(&self) {
        let mut c = self.closed.clone();
        let _ = c.wait_for(|closed| *closed).await;
    }
}

/// Start serving an upgraded connection: the session handle, the streams
/// the client opens, and the future that drives the connection (run it
/// to its end: it ends when the client is gone or after [`Session::close`]
/// once every handle is dropped or closed).
pub fn start<R, W>(
    read: R,
    write: W,
) -> Result<
    (
        Session,
        UnboundedReceiver<Stream>,
        impl std::future::Future<Output = ()> + Send,
    ),
    FrameError,
>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let encoder = Encoder::new()?;
    let (cmd, cmd_rx) = unbounded_channel();
    let (incoming_tx, incoming) = unbounded_channel();
    let (closed_tx, closed) = watch::channel(false);
    let (linger_tx, linger_rx) = watch::channel(false);
    let session = Session {
        cmd: cmd.clone(),
        closed,
    };
    let reader = Reader {
        cmd,
        incoming: Some(incoming_tx),
        open: HashMap::new(),
        last_id: 0,
        going_away: false,
    };
    let writer = Writer {
        w: write,
        enc: encoder,
        enforce: false,
        session_window: DEFAULT_WINDOW as i64,
        initial_window: DEFAULT_WINDOW as i64,
        windows: HashMap::new(),
        queues: HashMap::new(),
        consumed: HashMap::new(),
        consumed_session: 0,
        reset: HashSet::new(),
        last_id: 0,
        broken: false,
    };
    let driver = async move {
        let read_side = async move {
            let mut linger = linger_rx;
            tokio::select! {
                _ = reader.run(read) => {}
                _ = async {
                    let _ = linger.wait_for(|l| *l).await;
                    tokio::time::sleep(LINGER).await;
                } => {}
            }
            let _ = closed_tx.send(true);
        };
        let write_side = async move {
            writer.run(cmd_rx).await;
            let _ = linger_tx.send(true);
        };
        futures_util::future::join(read_side, write_side).await;
    };
    Ok((session, incoming, driver))
}

/// Where a stream's bytes go, each with its share of the unread cap.
type Inbound = UnboundedSender<(Vec<u8>, OwnedSemaphorePermit)>;

struct Reader {
    cmd: UnboundedSender<Cmd>,
    incoming: Option<UnboundedSender<Stream>>,
    /// Streams the client may still send on.
    open: HashMap<u32, (Inbound, Arc<Semaphore>)>,
    last_id: u32,
    going_away: bool,
}

impl Reader {
    async fn run<R: AsyncRead + Unpin>(mut self, r: R) {
        self.read_all(r).await;
        // No window update can come any more: what waits for one would
        // wait for ever.
        let _ = self.cmd.send(Cmd::PeerGone);
    }

    async fn read_all<R: AsyncRead + Unpin>(&mut self, mut r: R) {
        let mut dec = Decoder::default();
        loop {
            let frame = match dec.read(&mut r).await {
                Ok(Some(f)) => f,
                Ok(None) => return,
                Err(e) => {
                    tracing::debug!("spdy: {e}");
                    return;
                }
            };
            self.frame(frame).await;
        }
    }

    async fn frame(&mut self, frame: Frame) {
        match frame {
            Frame::SynStream {
                stream_id,
                flags,
                headers,
                ..
            } => {
                // Client streams are odd and rise; none after GOAWAY.
                if stream_id % 2 == 0 || stream_id <= self.last_id {
                    let _ = self.cmd.send(Cmd::Reset(stream_id, rst::PROTOCOL_ERROR));
                    return;
                }
                self.last_id = stream_id;
                if self.going_away {
                    let _ = self.cmd.send(Cmd::Reset(stream_id, rst::REFUSED_STREAM));
                    return;
                }
                let (tx, rx) = unbounded_channel();
                if flags & FLAG_FIN == 0 {
                    self.open
                        .insert(stream_id, (tx, Arc::new(Semaphore::new(UNREAD_CAP))));
                }
                let _ = self.cmd.send(Cmd::Reply(stream_id));
                let stream = Stream {
                    id: stream_id,
                    headers,
                    rx,
                    cmd: self.cmd.clone(),
                };
                if let Some(incoming) = &self.incoming {
                    let _ = incoming.send(stream);
                }
            }
            Frame::Data {
                stream_id,
                flags,
                data,
            } => {
                if let Some((tx, cap)) = self.open.get(&stream_id) {
                    if !data.is_empty() {
                        let n = data.len().min(UNREAD_CAP) as u32;
                        let Ok(permit) = Arc::clone(cap).acquire_many_owned(n).await else {
                            return;
                        };
                        let len = data.len() as u32;
                        if tx.send((data, permit)).is_err() {
                            // Nobody reads the stream: its window reopens anyway.
                            let _ = self.cmd.send(Cmd::Consumed(stream_id, len));
                        }
                    }
                } else if stream_id > self.last_id {
                    let _ = self.cmd.send(Cmd::Reset(stream_id, rst::INVALID_STREAM));
                }
                if flags & FLAG_FIN != 0 {
                    self.open.remove(&stream_id);
                }
            }
            Frame::Headers {
                stream_id, flags, ..
            } => {
                if flags & FLAG_FIN != 0 {
                    self.open.remove(&stream_id);
                }
            }
            Frame::RstStream { stream_id, .. } => {
                self.open.remove(&stream_id);
                let _ = self.cmd.send(Cmd::PeerReset(stream_id));
            }
            Frame::Settings { entries, .. } => {
                for s in entries {
                    if s.id == SETTINGS_INITIAL_WINDOW_SIZE {
                        let _ = self.cmd.send(Cmd::PeerInitialWindow(s.value));
                    }
                }
            }
            Frame::WindowUpdate { stream_id, delta } => {
                let _ = self.cmd.send(Cmd::PeerWindow(stream_id, delta));
            }
            // The client's pings are odd; an even one would answer ours
            // (we send none).
            Frame::Ping { id } if id % 2 == 1 => {
                let _ = self.cmd.send(Cmd::Ping(id));
            }
            Frame::GoAway { .. } => {
                self.going_away = true;
                self.incoming = None;
            }
            Frame::Ping { .. } | Frame::SynReply { .. } | Frame::Unknown { .. } => {}
        }
    }
}

struct Queued {
    data: Vec<u8>,
    off: usize,
    fin: bool,
    done: oneshot::Sender<Result<(), Closed>>,
}

struct Writer<W> {
    w: W,
    enc: Encoder,
    /// Whether the client keeps windows (so we keep its windows too).
    enforce: bool,
    session_window: i64,
    initial_window: i64,
    windows: HashMap<u32, i64>,
    queues: HashMap<u32, VecDeque<Queued>>,
    consumed: HashMap<u32, u32>,
    consumed_session: u32,
    reset: HashSet<u32>,
    last_id: u32,
    broken: bool,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    async fn run(mut self, mut cmds: UnboundedReceiver<Cmd>) {
        while let Some(cmd) = cmds.recv().await {
            if matches!(cmd, Cmd::Close) {
                break;
            }
            self.command(cmd).await;
        }
        // Close, or every handle gone: GOAWAY, then our side of the socket.
        let last_good = self.last_id;
        self.write(Frame::GoAway {
            last_good,
            status: 0,
        })
        .await;
        let _ = self.w.shutdown().await;
        for (_, q) in self.queues.drain() {
            for item in q {
                let _ = item.done.send(Err(Closed));
            }
        }
    }

    async fn command(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Reply(id) => {
                self.last_id = self.last_id.max(id);
                self.write(Frame::SynReply {
                    stream_id: id,
                    flags: 0,
                    headers: Headers::default(),
                })
                .await;
            }
            Cmd::Data {
                id,
                data,
                fin,
                done,
            } => {
                if self.broken || self.reset.contains(&id) {
                    let _ = done.send(Err(Closed));
                    return;
                }
                self.queues.entry(id).or_default().push_back(Queued {
                    data,
                    off: 0,
                    fin,
                    done,
                });
                self.flush(id).await;
            }
            Cmd::Consumed(id, n) => {
                let c = self.consumed.entry(id).or_insert(0);
                *c += n;
                if *c >= GRANT_AT {
                    let delta = std::mem::take(c);
                    self.write(Frame::WindowUpdate {
                        stream_id: id,
                        delta,
                    })
                    .await;
                }
                self.consumed_session += n;
                if self.consumed_session >= GRANT_AT {
                    let delta = std::mem::take(&mut self.consumed_session);
                    self.write(Frame::WindowUpdate {
                        stream_id: 0,
                        delta,
                    })
                    .await;
                }
            }
            Cmd::PeerWindow(id, delta) => {
                self.enforce = true;
                if id == 0 {
                    self.session_window += delta as i64;
                    self.flush_all().await;
                } else {
                    *self.window(id) += delta as i64;
                    self.flush(id).await;
                }
            }
            Cmd::PeerInitialWindow(size) => {
                self.enforce = true;
                // The change applies to every stream's current window too.
                let change = size as i64 - self.initial_window;
                self.initial_window = size as i64;
                for w in self.windows.values_mut() {
                    *w += change;
                }
                self.flush_all().await;
            }
            Cmd::PeerReset(id) => self.drop_stream(id),
            Cmd::Reset(id, status) => {
                self.drop_stream(id);
                self.write(Frame::RstStream {
                    stream_id: id,
                    status,
                })
                .await;
            }
            Cmd::Ping(id) => self.write(Frame::Ping { id }).await,
            Cmd::PeerGone => {
                // The client's side ended: send what waits for a window
                // (a client that only half-closed still reads it; to a
                // gone one the writes fail and the sends with them).
                self.enforce = false;
                self.flush_all().await;
            }
            Cmd::Close => {}
        }
    }

    fn window(&mut self, id: u32) -> &mut i64 {
        let initial = self.initial_window;
        self.windows.entry(id).or_insert(initial)
    }

    fn drop_stream(&mut self, id: u32) {
        self.reset.insert(id);
        for item in self.queues.remove(&id).unwrap_or_default() {
            let _ = item.done.send(Err(Closed));
        }
    }

    async fn flush_all(&mut self) {
        let ids: Vec<u32> = self.queues.keys().copied().collect();
        for id in ids {
            self.flush(id).await;
        }
    }

    /// Send what stream `id` has queued, as far as the windows allow.
    async fn flush(&mut self, id: u32) {
        loop {
            let allowed = if self.enforce {
                self.session_window.min(*self.window(id)).max(0) as usize
            } else {
                usize::MAX
            };
            let Some(item) = self.queues.get_mut(&id).and_then(|q| q.front_mut()) else {
                return;
            };
            let left = item.data.len() - item.off;
            if left > 0 && allowed == 0 {
                return;
            }
            let n = left.min(allowed).min(MAX_DATA);
            let last = n == left;
            let frame = Frame::Data {
                stream_id: id,
                flags: if last && item.fin { FLAG_FIN } else { 0 },
                data: item.data[item.off..item.off + n].to_vec(),
            };
            item.off += n;
            if self.enforce {
                self.session_window -= n as i64;
                *self.window(id) -= n as i64;
            }
            self.write(frame).await;
            if self.broken {
                self.drop_stream(id);
                return;
            }
            if last {
                if let Some(item) = self.queues.get_mut(&id).and_then(|q| q.pop_front()) {
                    let _ = item.done.send(Ok(()));
                }
            }
        }
    }

    async fn write(&mut self, frame: Frame) {
        if self.broken {
            return;
        }
        let bytes = match self.enc.encode(&frame) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("spdy: {e}");
                self.broken = true;
                return;
            }
        };
        if self.w.write_all(&bytes).await.is_err() {
            self.broken = true;
        }
    }
}
