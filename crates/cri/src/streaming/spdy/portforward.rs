//! Port-forward over SPDY (`portforward.k8s.io`, kubelet's
//! portforward/httpstream.go): for each connection it forwards, the
//! client opens a pair of streams with the same `requestID` and `port`
//! headers — `streamType: error` (which it finishes at once: only we
//! write there) and `streamType: data`; many pairs share one connection.
//! When a pair is whole, the port is dialled on 127.0.0.1 in the pod's
//! network namespace and the data stream relayed both ways: the client's
//! FIN half-closes the pod's socket, the pod's end finishes both streams.
//! A dial that fails is told on the error stream. A pair left half-made
//! for 30 s is dropped with an error, as kubelet does.

use super::frame::rst;
use super::session::{Session, Stream};
use crate::streaming::portforward::dial;
use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc::UnboundedReceiver;

const PAIR_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Default)]
struct Pair {
    error: Option<Stream>,
    data: Option<Stream>,
    port: u16,
    since: Option<Instant>,
}

/// Serve the connection's port-forward requests until the client leaves.
pub async fn serve(spdy: Session, mut incoming: UnboundedReceiver<Stream>, netns: PathBuf) {
    let mut pairs: HashMap<String, Pair> = HashMap::new();
    let mut forwards = FuturesUnordered::new();
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            s = incoming.recv() => {
                let Some(stream) = s else { break };
                let Some((request, kind, port)) = classify(&stream) else {
                    spdy.reset(stream.id, rst::PROTOCOL_ERROR);
                    continue;
                };
                let pair = pairs.entry(request.clone()).or_default();
                pair.since.get_or_insert_with(Instant::now);
                pair.port = port;
                match kind {
                    "error" => pair.error = Some(stream),
                    _ => pair.data = Some(stream),
                }
                if pair.error.is_some() && pair.data.is_some() {
                    if let Some(Pair { error: Some(e), data: Some(d), port, .. }) = pairs.remove(&request) {
                        forwards.push(forward(spdy.clone(), netns.clone(), port, e, d));
                    }
                }
            }
            Some(()) = forwards.next(), if !forwards.is_empty() => {}
            _ = tick.tick() => {
                let now = Instant::now();
                let stale: Vec<String> = pairs
                    .iter()
                    .filter(|(_, p)| p.since.is_some_and(|t| now - t > PAIR_TIMEOUT))
                    .map(|(r, _)| r.clone())
                    .collect();
                for r in stale {
                    if let Some(p) = pairs.remove(&r) {
                        expire(&spdy, &r, p).await;
                    }
                }
            }
        }
    }
    // The client is gone or took no more streams: let what runs end.
    while forwards.next().await.is_some() {}
}

/// The stream's request id, type and port; None when a header is
/// missing or bad.
fn classify(s: &Stream) -> Option<(String, &'static str, u16)> {
    let kind = match s.headers.get("streamtype")? {
        "error" => "error",
        "data" => "data",
        _ => return None,
    };
    let port = s
        .headers
        .get("port")?
        .parse::<u16>()
        .ok()
        .filter(|p| *p > 0)?;
    let request = s.headers.get("requestid")?.to_string();
    Some((request, kind, port))
}

async fn expire(spdy: &Session, request: &str, p: Pair) {
    if let Some(e) = p.error {
        let msg = format!("timed out waiting for the streams of request {request}");
        let _ = spdy.send(e.id, msg.into_bytes()).await;
        let _ = spdy.finish(e.id).await;
    }
    if let Some(d) = p.data {
        spdy.reset(d.id, rst::CANCEL);
    }
}

async fn forward(spdy: Session, netns: PathBuf, port: u16, error: Stream, mut data: Stream) {
    let (error_id, data_id) = (error.id, data.id);
    drop(error);
    let conn = match dial(&netns, port).await {
        Ok(c) => c,
        Err(e) => {
            let msg = format!(
                "error forwarding port {port} to pod network {}: {e}",
                netns.display()
            );
            let _ = spdy.send(error_id, msg.into_bytes()).await;
            let _ = spdy.finish(data_id).await;
            let _ = spdy.finish(error_id).await;
            return;
        }
    };
    let (mut r, mut w) = conn.into_split();
    let up = async {
        while let Some(bytes) = data.recv().await {
            if w.write_all(&bytes).await.is_err() {
                break;
            }
        }
        // The client finished (or left): the pod reads EOF, and may still answer.
        let _ = w.shutdown().await;
        std::future::pending::<()>().await
    };
    let down = async {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match r.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if spdy.send(data_id, buf[..n].to_vec()).await.is_err() {
                        break;
                    }
                }
            }
        }
    };
    tokio::select! {
        _ = down => {}
        _ = up => {}
        _ = spdy.closed() => {}
    }
    let _ = spdy.finish(data_id).await;
    let _ = spdy.finish(error_id).await;
}
