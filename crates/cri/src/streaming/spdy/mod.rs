//! The streaming server's SPDY/3.1 side, as kubelet serves kubectl and
//! client-go (apimachinery's httpstream/spdy over moby/spdystream): an
//! HTTP/1.1 `Upgrade: SPDY/3.1` request on the token's URL whose
//! `X-Stream-Protocol-Version` offer names a protocol we speak is
//! answered `101 Switching Protocols` with the one chosen; the connection
//! then carries SPDY frames ([`frame`], [`session`]), and the client
//! opens one stream per channel ([`remotecommand`], [`portforward`]).
//!
//! Refusals, as kubelet's: an unknown, expired or reused token 404; no
//! protocol in common 403 (with the ones we speak in
//! `X-Accepted-Stream-Protocol-Versions`); each before the token is
//! taken, except the 404.

mod frame;
mod portforward;
mod remotecommand;
mod session;

use super::server::{answer, endpoint, peek_head, take_token, Ws};
use super::tokens::Pending;
use crate::daemon::Daemon;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The exec and attach protocols over SPDY, best first.
const EXEC_PROTOCOLS: [&str; 3] = [
    "v4.channel.k8s.io",
    "v3.channel.k8s.io",
    "v2.channel.k8s.io",
];
/// The port-forward protocol over SPDY.
const PORT_FORWARD_PROTOCOL: &str = "portforward.k8s.io";

/// Serve a connection whose request (not yet read) asks for SPDY/3.1.
pub async fn serve(daemon: Arc<Daemon>, mut stream: TcpStream) {
    let Some((head, len)) = peek_head(&stream).await else {
        return;
    };
    let mut consumed = vec![0u8; len];
    if stream.read_exact(&mut consumed).await.is_err() {
        return;
    }
    let (path, headers) = parse_head(&head);
    let values = |name: &str| -> Vec<String> {
        headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| v.split(','))
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .collect()
    };
    if !values("connection")
        .iter()
        .any(|v| v.eq_ignore_ascii_case("upgrade"))
    {
        let why = "unable to upgrade: missing upgrade headers in request\n";
        return answer(&mut stream, 400, "Bad Request", &[], why).await;
    }
    let (kind, token) = endpoint(&path);
    let ours: &[&str] = match kind {
        "exec" | "attach" => &EXEC_PROTOCOLS,
        "portforward" => &[PORT_FORWARD_PROTOCOL],
        _ => {
            return answer(
                &mut stream,
                404,
                "Not Found",
                &[],
                "no such streaming endpoint\n",
            )
            .await
        }
    };
    let offered = values("x-stream-protocol-version");
    // Our order of preference decides, as kubelet's handshake does.
    let Some(protocol) = ours.iter().find(|p| offered.iter().any(|o| o == *p)) else {
        let why = format!(
            "unable to upgrade: unable to negotiate protocol: client supports {offered:?}, server supports {ours:?}\n"
        );
        let accepted = [("X-Accepted-Stream-Protocol-Versions", ours.join(", "))];
        return answer(&mut stream, 403, "Forbidden", &accepted, &why).await;
    };
    let pending = match take_token(&daemon, kind, token) {
        Ok(p) => p,
        Err((code, why)) => {
            return answer(&mut stream, code, "Not Found", &[], &format!("{why}\n")).await
        }
    };
    let switching = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n\
         X-Stream-Protocol-Version: {protocol}\r\n\r\n"
    );
    if stream.write_all(switching.as_bytes()).await.is_err() {
        return;
    }
    let (read, write) = stream.into_split();
    run(daemon, read, write, pending, protocol).await;
}

/// Port-forward as SPDY carried in WebSocket binary messages
/// (`SPDY/3.1+portforward.k8s.io`): the SPDY bytes go through a pipe,
/// pumped to and from the messages.
pub async fn serve_tunnelled(ws: Ws, netns: PathBuf) {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let (ours, theirs) = tokio::io::duplex(64 * 1024);
    let (read, write) = tokio::io::split(ours);
    let (mut pipe_read, mut pipe_write) = tokio::io::split(theirs);
    let (mut sink, mut source) = ws.split();
    let inbound = async move {
        while let Some(Ok(msg)) = source.next().await {
            let written = match msg {
                Message::Binary(b) => pipe_write.write_all(&b).await,
                Message::Close(_) => break,
                _ => Ok(()),
            };
            if written.is_err() {
                break;
            }
        }
        let _ = pipe_write.shutdown().await;
    };
    let outbound = async move {
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            match pipe_read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if sink.send(Message::binary(buf[..n].to_vec())).await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = sink
            .send(Message::Close(Some(
                crate::streaming::ws_relay::normal_close(),
            )))
            .await;
        let _ = sink.close().await;
    };
    let pending = Pending::PortForward {
        netns,
        ports: Vec::new(),
    };
    let session = run_dyn(read, write, pending);
    // The client's side ends the pipe's input; once the session and its
    // output are done nothing more is read from the client.
    let inbound = async move {
        inbound.await;
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = futures_util::future::join(outbound, session) => {}
        _ = inbound => {}
    }
}

async fn run_dyn<R, W>(read: R, write: W, pending: Pending)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let Pending::PortForward { netns, .. } = pending else {
        return;
    };
    let Ok((session, incoming, driver)) = session::start(read, write) else {
        return;
    };
    let closer = session.clone();
    let work = async move {
        portforward::serve(session, incoming, netns).await;
        closer.close();
    };
    futures_util::future::join(driver, work).await;
}

async fn run<R, W>(daemon: Arc<Daemon>, read: R, write: W, pending: Pending, protocol: &str)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (session, incoming, driver) = match session::start(read, write) {
        Ok(s) => s,
        Err(e) => return tracing::warn!("spdy session: {e}"),
    };
    let version = match protocol {
        "v2.channel.k8s.io" => 2,
        "v3.channel.k8s.io" => 3,
        _ => 4,
    };
    let closer = session.clone();
    let work = async move {
        match pending {
            Pending::Exec(req) => {
                let want = remotecommand::Wanted {
                    stdin: req.stdin,
                    stdout: req.stdout,
                    stderr: req.stderr,
                    tty: req.tty,
                };
                remotecommand::serve(session, incoming, want, version, |i, o| {
                    super::exec::run(daemon, req, i, o, true)
                })
                .await
            }
            Pending::Attach(req) => {
                let want = remotecommand::Wanted {
                    stdin: req.stdin,
                    stdout: req.stdout,
                    stderr: req.stderr,
                    tty: req.tty,
                };
                remotecommand::serve(session, incoming, want, version, |i, o| {
                    super::attach::run(daemon, req, i, o, true)
                })
                .await
            }
            Pending::PortForward { netns, .. } => {
                portforward::serve(session, incoming, netns).await
            }
        }
        closer.close();
    };
    futures_util::future::join(driver, work).await;
}

/// The request line's path and the header lines of `head`.
fn parse_head(head: &str) -> (String, Vec<(String, String)>) {
    let mut lines = head.split("\r\n");
    let path = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap_or("")
        .to_string();
    // A query (none from kubelet's URLs) is not part of the token.
    let path = path.split('?').next().unwrap_or("").to_string();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
        .collect();
    (path, headers)
}
