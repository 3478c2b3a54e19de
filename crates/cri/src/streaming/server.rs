//! The streaming server's connections: each is a WebSocket or a SPDY/3.1
//! upgrade (see [`super::spdy`]) on `/{exec,attach,portforward}/<token>`;
//! the token is taken (once) during the handshake, so an unknown, expired
//! or reused token is refused with 404 before any upgrade, and the
//! subprotocol is chosen from the client's offer (see [`super::channels`]).

use super::channels::{EXEC_PROTOCOLS, PORT_FORWARD_PROTOCOL, SPDY_TUNNEL_PROTOCOL};
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
    match upgrade_asked(&stream).await {
        Some(Upgrade::WebSocket) => {}
        Some(Upgrade::Spdy) => return super::spdy::serve(daemon, stream).await,
        None => {
            // A plain request gets a clear answer, not a dropped line.
            let why = "berthd's streaming server answers WebSocket (v5.channel.k8s.io, \
                       v4.channel.k8s.io) and SPDY/3.1 upgrades only\n";
            return answer(&mut stream, 400, "Bad Request", &[], why).await;
        }
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
    use super::ws_relay::relay;
    match pending {
        Pending::Exec(req) => {
            relay(ws, |i, o| super::exec::run(daemon, req, i, o, v5)).await;
        }
        Pending::Attach(req) => {
            relay(ws, |i, o| super::attach::run(daemon, req, i, o, v5)).await;
        }
        Pending::PortForward { netns, ports } => {
            if protocol == Some(SPDY_TUNNEL_PROTOCOL) {
                super::spdy::serve_tunnelled(ws, netns).await
            } else {
                super::portforward::run(ws, netns, ports).await
            }
        }
    }
}

/// The upgrade a request asks for.
enum Upgrade {
    WebSocket,
    Spdy,
}

/// Write a whole HTTP answer and close our side.
pub async fn answer(
    stream: &mut TcpStream,
    code: u16,
    reason: &str,
    headers: &[(&str, String)],
    body: &str,
) {
    use tokio::io::AsyncWriteExt;
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    head.push_str(body);
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The request head waiting on `stream`, lowercased, looked at and not
/// consumed, with its length (to `\r\n\r\n` included); None for a head
/// that does not come within 10 s or 16 KiB.
pub async fn peek_head(stream: &TcpStream) -> Option<(String, usize)> {
    let mut buf = vec![0u8; 16 * 1024];
    let head = async {
        loop {
            let n = stream.peek(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            if let Some(end) = buf[..n].windows(4).position(|w| w == b"\r\n\r\n") {
                return Some((String::from_utf8_lossy(&buf[..end]).to_string(), end + 4));
            }
            if n == buf.len() {
                return None;
            }
            // Part of the head: wait for more before peeking again.
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(10), head)
        .await
        .ok()
        .flatten()
}

/// Which upgrade the request waiting on `stream` asks for; None for
/// anything else.
async fn upgrade_asked(stream: &TcpStream) -> Option<Upgrade> {
    let (head, _) = peek_head(stream).await?;
    let upgrade = head.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("upgrade")
            .then(|| value.trim().to_ascii_lowercase())
    })?;
    if upgrade.split(',').any(|p| p.trim() == "websocket") {
        Some(Upgrade::WebSocket)
    } else if upgrade.split(',').any(|p| p.trim() == "spdy/3.1") {
        Some(Upgrade::Spdy)
    } else {
        None
    }
}

/// The token's request and the subprotocol to answer, or the refusal.
fn route(
    d: &Daemon,
    req: &Request,
) -> Result<(Pending, Option<&'static str>), (StatusCode, &'static str)> {
    let (kind, token) = endpoint(req.uri().path());
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
    } else if offered.iter().any(|o| o == SPDY_TUNNEL_PROTOCOL) {
        Some(SPDY_TUNNEL_PROTOCOL)
    } else if offered.is_empty() {
        None
    } else {
        return Err((
            StatusCode::BAD_REQUEST,
            "offer the subprotocol v4.channel.k8s.io or SPDY/3.1+portforward.k8s.io",
        ));
    };
    let pending = take_token(d, kind, token).map_err(|(code, why)| {
        (
            StatusCode::from_u16(code).unwrap_or(StatusCode::NOT_FOUND),
            why,
        )
    })?;
    Ok((pending, protocol))
}

/// The path's endpoint and token.
pub fn endpoint(path: &str) -> (&str, &str) {
    let mut parts = path.trim_start_matches('/').splitn(2, '/');
    (parts.next().unwrap_or(""), parts.next().unwrap_or(""))
}

/// Take `token` for endpoint `kind`: the request it stands for, or the
/// HTTP status and why. Called only once the request is one we can
/// serve, so a malformed try does not burn the token.
pub fn take_token(d: &Daemon, kind: &str, token: &str) -> Result<Pending, (u16, &'static str)> {
    let pending = d
        .streaming
        .tokens
        .take(token)
        .ok_or((404, "unknown, expired or already used streaming token"))?;
    let matches = matches!(
        (&pending, kind),
        (Pending::Exec(_), "exec")
            | (Pending::Attach(_), "attach")
            | (Pending::PortForward { .. }, "portforward")
    );
    if !matches {
        return Err((404, "the token is for another endpoint"));
    }
    Ok(pending)
}

fn refusal(code: StatusCode, why: &str) -> ErrorResponse {
    let mut r = ErrorResponse::new(Some(format!("{why}\n")));
    *r.status_mut() = code;
    r
}
