//! Exec and attach over SPDY (client-go's remotecommand, protocols
//! `v4.channel.k8s.io`, `v3` and `v2`): the client opens one stream per
//! channel, named by its `streamType` header — `error`, and `stdin`,
//! `stdout`, `stderr`, `resize` as the request asked for them (a terminal
//! has no stderr; v2 has no resize). Once every expected stream is open
//! (within 30 s, as kubelet waits) the session runs: stdin's bytes, its
//! FIN (the process's stdin closes), and each `{"Width","Height"}` JSON
//! value of the resize stream go in; stdout and stderr come out on their
//! streams; the end status goes on the error stream (v4: the Status JSON,
//! whose `ExitCode` cause client-go turns into the exit code; v2/v3: the
//! failure's message as text, nothing on success); then every stream is
//! finished and the connection closed. A client that goes away ends the
//! session as on WebSocket.

use super::session::{Session, Stream};
use crate::streaming::channels::{In, Out, CLOSE, ERROR, RESIZE, STDERR, STDIN, STDOUT};
use std::time::Duration;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// How long the client has to open every stream (kubelet's default).
const STREAM_CREATION_TIMEOUT: Duration = Duration::from_secs(30);

/// The channels the request asked for.
pub struct Wanted {
    /// stdin.
    pub stdin: bool,
    /// stdout.
    pub stdout: bool,
    /// stderr (none with a terminal).
    pub stderr: bool,
    /// A terminal (and so a resize stream, v3 on).
    pub tty: bool,
}

#[derive(Default)]
struct Streams {
    error: Option<Stream>,
    stdin: Option<Stream>,
    stdout: Option<Stream>,
    stderr: Option<Stream>,
    resize: Option<Stream>,
}

impl Streams {
    fn complete(&self, w: &Wanted, version: u8) -> bool {
        self.error.is_some()
            && (!w.stdin || self.stdin.is_some())
            && (!w.stdout || self.stdout.is_some())
            && (!w.stderr || w.tty || self.stderr.is_some())
            && (!w.tty || version < 3 || self.resize.is_some())
    }
}

/// Wait for the client's streams, then run `session` (the exec or
/// attach core) over them.
pub async fn serve<F, Fut>(
    spdy: Session,
    mut incoming: UnboundedReceiver<Stream>,
    want: Wanted,
    version: u8,
    session: F,
) where
    F: FnOnce(In, Out) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut streams = Streams::default();
    let deadline = tokio::time::sleep(STREAM_CREATION_TIMEOUT);
    tokio::pin!(deadline);
    while !streams.complete(&want, version) {
        let stream = tokio::select! {
            s = incoming.recv() => match s {
                Some(s) => s,
                None => return,
            },
            _ = &mut deadline => {
                tracing::info!("spdy exec: timed out waiting for the client to create streams");
                return;
            }
        };
        let slot = match stream.headers.get("streamtype").unwrap_or("") {
            "error" => &mut streams.error,
            "stdin" => &mut streams.stdin,
            "stdout" => &mut streams.stdout,
            "stderr" => &mut streams.stderr,
            "resize" => &mut streams.resize,
            other => {
                // kubelet logs and ignores a stream it does not know.
                tracing::debug!("spdy exec: unexpected stream type {other:?}");
                continue;
            }
        };
        *slot = Some(stream);
    }
    let ids = [
        streams.stdout.as_ref().map(|s| s.id),
        streams.stderr.as_ref().map(|s| s.id),
        streams.error.as_ref().map(|s| s.id),
        streams.stdin.as_ref().map(|s| s.id),
        streams.resize.as_ref().map(|s| s.id),
    ];
    let (in_tx, in_rx) = unbounded_channel();
    let (out_tx, mut out_rx) = unbounded_channel::<(u8, Vec<u8>)>();

    // The input ends only when the connection does: stdin's FIN is a
    // CLOSE of stdin, not the client leaving.
    let closed_watch = {
        let tx = in_tx.clone();
        let spdy = spdy.clone();
        async move {
            spdy.closed().await;
            drop(tx);
        }
    };
    let stdin = {
        let tx = in_tx.clone();
        let stream = streams.stdin.take();
        async move {
            let Some(mut s) = stream else { return };
            while let Some(data) = s.recv().await {
                if tx.send((STDIN, data)).is_err() {
                    return;
                }
            }
            let _ = tx.send((CLOSE, vec![STDIN]));
        }
    };
    let resize = {
        let tx = in_tx;
        let stream = streams.resize.take();
        async move {
            let Some(mut s) = stream else { return };
            let mut pending = Vec::new();
            while let Some(data) = s.recv().await {
                pending.extend_from_slice(&data);
                let mut values =
                    serde_json::Deserializer::from_slice(&pending).into_iter::<serde_json::Value>();
                let mut used = 0;
                while let Some(Ok(v)) = values.next() {
                    used = values.byte_offset();
                    if tx.send((RESIZE, v.to_string().into_bytes())).is_err() {
                        return;
                    }
                }
                pending.drain(..used);
                if pending.len() > 4096 {
                    // Not JSON: stop reading sizes rather than hoard bytes.
                    return;
                }
            }
        }
    };
    let writer = async {
        let [stdout, stderr, error, ..] = ids;
        while let Some((channel, data)) = out_rx.recv().await {
            let (id, data) = match channel {
                STDOUT => (stdout, data),
                STDERR => (stderr, data),
                ERROR if version >= 4 => (error, data),
                ERROR => (error, status_text(&data)),
                _ => continue,
            };
            if let (Some(id), false) = (id, data.is_empty()) {
                // A client gone: the session sees its input end.
                let _ = spdy.send(id, data).await;
            }
        }
        for id in ids.into_iter().flatten() {
            let _ = spdy.finish(id).await;
        }
    };
    let inputs = async {
        futures_util::future::join3(closed_watch, stdin, resize).await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = futures_util::future::join(writer, session(in_rx, out_tx)) => {}
        _ = inputs => {}
    }
}

/// v2/v3's error stream: a failure's message as text, nothing on success
/// (kubelet's v1 status writer).
fn status_text(status: &[u8]) -> Vec<u8> {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(status) else {
        return status.to_vec();
    };
    if v["status"] == "Success" {
        return Vec::new();
    }
    v["message"].as_str().unwrap_or("").as_bytes().to_vec()
}
