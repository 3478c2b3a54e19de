//! Port-forward over WebSocket (kubelet's portforward/websocket.go
//! protocol): for the i-th port kubelet asked for, channel 2i carries the
//! data both ways and 2i+1 errors to the client; each channel's first
//! message is the port as two little-endian bytes. Each port is dialled
//! on 127.0.0.1 inside the pod's network namespace; the session ends when
//! every connection has ended or the client goes away.

use super::channels::frame;
use super::server::Ws;
use futures_util::{SinkExt, StreamExt};
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc::{unbounded_channel, UnboundedSender};
use tokio_tungstenite::tungstenite::Message;

const DIAL_TIMEOUT: Duration = Duration::from_secs(5);

/// Forward `ports` of the pod whose network namespace is `netns` over `ws`.
pub async fn run(ws: Ws, netns: PathBuf, ports: Vec<u16>) {
    let (mut sink, mut source) = ws.split();
    let (tx, mut rx) = unbounded_channel::<Vec<u8>>();
    let mut readers = Vec::new();
    let mut writers: Vec<Option<OwnedWriteHalf>> = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let (data, error) = ((2 * i) as u8, (2 * i + 1) as u8);
        let _ = tx.send(frame(data, &port.to_le_bytes()));
        let _ = tx.send(frame(error, &port.to_le_bytes()));
        match dial(&netns, *port).await {
            Ok(stream) => {
                let (r, w) = stream.into_split();
                readers.push(pump(r, data, tx.clone()));
                writers.push(Some(w));
            }
            Err(e) => {
                let msg = format!(
                    "error forwarding port {port} to pod network {}: {e}",
                    netns.display()
                );
                let _ = tx.send(frame(error, msg.as_bytes()));
                writers.push(None);
            }
        }
    }
    drop(tx);
    let writer = async move {
        while let Some(m) = rx.recv().await {
            if sink.send(Message::binary(m)).await.is_err() {
                return;
            }
        }
        let _ = sink
            .send(Message::Close(Some(
                crate::streaming::ws_relay::normal_close(),
            )))
            .await;
        let _ = sink.close().await;
    };
    let input = async move {
        while let Some(Ok(msg)) = source.next().await {
            let data = match msg {
                Message::Binary(b) => b,
                Message::Close(_) => return,
                _ => continue,
            };
            let Some((&channel, rest)) = data.split_first() else {
                continue;
            };
            let slot = (channel % 2 == 0)
                .then(|| writers.get_mut(channel as usize / 2))
                .flatten();
            if let Some(w) = slot {
                if let Some(conn) = w {
                    if conn.write_all(rest).await.is_err() {
                        *w = None;
                    }
                }
            }
        }
    };
    // The writer ends once every reader has dropped its sender (all
    // connections ended); the client leaving ends the input first.
    let relays = futures_util::future::join_all(readers);
    tokio::select! {
        _ = futures_util::future::join(writer, relays) => {}
        _ = input => {}
    }
}

async fn pump(mut r: OwnedReadHalf, channel: u8, tx: UnboundedSender<Vec<u8>>) {
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if tx.send(frame(channel, &buf[..n])).is_err() {
                    return;
                }
            }
        }
    }
}

/// Connect to 127.0.0.1:`port` inside `netns`: a socket belongs to the
/// network namespace it was made in, so it is made on a thread of its
/// own that enters the namespace and ends (never one the pool reuses).
pub async fn dial(netns: &Path, port: u16) -> io::Result<tokio::net::TcpStream> {
    let ns = std::fs::File::open(netns)?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let dialled = (|| {
            // SAFETY: setns on a namespace descriptor we own; it changes
            // only this thread, which ends right after.
            if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
            std::net::TcpStream::connect_timeout(&addr, DIAL_TIMEOUT)
        })();
        let _ = tx.send(dialled);
    });
    let stream = rx
        .await
        .map_err(|_| io::Error::other("the dialling thread died"))??;
    stream.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(stream)
}
