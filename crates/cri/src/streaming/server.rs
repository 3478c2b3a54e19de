//! The streaming server's connections: each is a WebSocket upgrade on
//! `/{exec,attach,portforward}/<token>`; the token is taken (once) during
//! the handshake, so an unknown, expired or reused token is refused with
//! 404 before any upgrade, and the subprotocol is chosen from the client's
//! offer (see [`super::channels`]).

use super::channels::{EXEC_PROTOCOLS, PORT_FORWARD_PROTOCOL};
use super::tokens::Pending;
use crate::daemon::Daemon;
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode};
use tokio_tungstenite::WebSocketStream;

/// An upgraded connection with what its token stood for.
pub type Ws = WebSocketStream<TcpStream>;

/// Accept connections for ever, one task each.
pub async fn accept_loop(daemon: Arc<Daemon>, listener: TcpListener) {
    tracing::info!(
        "streaming server on {}",
        listener
            .local_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    );
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                tokio::spawn(connection(Arc::clone(&daemon), stream));
            }
            Err(e) => {
                // Out of descriptors or the like: wait rather than spin.
                tracing::warn!("streaming accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
}

async fn connection(daemon: Arc<Daemon>, mut stream: TcpStream) {
    if !is_websocket_upgrade(&stream).await {
        // SPDY and plain requests get a clear answer, not a dropped line.
        use tokio::io::AsyncWriteExt;
        let why = "berthd's streaming server speaks WebSocket only (v5.channel.k8s.io, \
                   v4.channel.k8s.io); SPDY is not built\n";
        let answer = format!(
            "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{why}",
            why.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        return;
    }
    let mut taken: Option<(Pending, Option<&'static str>)> = None;
    let d = Arc::clone(&daemon);
    // The callback's type is tungstenite's, large error and all.
    #[allow(clippy::result_large_err)]
    let callback = |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
        let (pending, protocol) = route(&d, req)
            .map(Ok)
            .unwrap_or_else(|(code, why)| Err(refusal(code, why)))?;
        taken = Some((pending, protocol));
        let mut resp = resp;
        if let Some(p) = protocol {
            resp.headers_mut()
                .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(p));
        }
        Ok(resp)
    };
    let ws = match tokio_tungstenite::accept_hdr_async(stream, callback).await {
        Ok(ws) => ws,
        Err(e) => {
            tracing::debug!("streaming handshake: {e}");
            return;
        }
    };
    let Some((pending, protocol)) = taken else {
        return;
    };
    let v5 = protocol == Some(EXEC_PROTOCOLS[0]);
    match pending {
        Pending::Exec(req) => super::exec::run(daemon, ws, req, v5).await,
        Pending::Attach(req) => super::attach::run(daemon, ws, req, v5).await,
        Pending::PortForward { netns, ports } => super::portforward::run(ws, netns, ports).await,
    }
}

/// Whether the request waiting on `stream` (looked at, not consumed)
/// asks for a WebSocket upgrade; false for anything else or a head that
/// does not come within 10 s or 16 KiB.
async fn is_websocket_upgrade(stream: &TcpStream) -> bool {
    let mut buf = vec![0u8; 16 * 1024];
    let head = async {
        loop {
            let n = stream.peek(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
                return Some(String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase());
            }
            if n == buf.len() {
                return None;
            }
            // Part of the head: wait for more before peeking again.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    match tokio::time::timeout(std::time::Duration::from_secs(10), head).await {
        Ok(Some(h)) => h.lines().any(|l| {
            l.strip_prefix("upgrade:")
                .is_some_and(|v| v.split(',').any(|p| p.trim() == "websocket"))
        }),
        _ => false,
    }
}

/// The token's request and the subprotocol to answer, or the refusal.
fn route(
    d: &Daemon,
    req: &Request,
) -> Result<(Pending, Option<&'static str>), (StatusCode, &'static str)> {
    let mut parts = req.uri().path().trim_start_matches('/').splitn(2, '/');
    let (kind, token) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let offered: Vec<String> = req
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|p| p.trim().to_string()))
        .collect();
    let exec_like = matches!(kind, "exec" | "attach");
    if !exec_like && kind != "portforward" {
        return Err((StatusCode::NOT_FOUND, "no such streaming endpoint"));
    }
    let protocol = if exec_like {
        let Some(p) = EXEC_PROTOCOLS
            .iter()
            .find(|p| offered.iter().any(|o| o == *p))
        else {
            return Err((
                StatusCode::BAD_REQUEST,
                "offer the subprotocol v5.channel.k8s.io or v4.channel.k8s.io",
            ));
        };
        Some(*p)
    } else if offered.iter().any(|o| o == PORT_FORWARD_PROTOCOL) {
        Some(PORT_FORWARD_PROTOCOL)
    } else if offered.is_empty() {
        None
    } else {
        return Err((
            StatusCode::BAD_REQUEST,
            "offer the subprotocol v4.channel.k8s.io",
        ));
    };
    // Taken only once the request is one we can serve: a malformed try
    // does not burn the token.
    let pending = d.streaming.tokens.take(token).ok_or((
        StatusCode::NOT_FOUND,
        "unknown, expired or already used streaming token",
    ))?;
    let matches = matches!(
        (&pending, kind),
        (Pending::Exec(_), "exec")
            | (Pending::Attach(_), "attach")
            | (Pending::PortForward { .. }, "portforward")
    );
    if !matches {
        return Err((StatusCode::NOT_FOUND, "the token is for another endpoint"));
    }
    Ok((pending, protocol))
}

fn refusal(code: StatusCode, why: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(format!("{why}\n")));
    *r.status_mut() = code;
    r
}
