//! Errors that say what to do: a plain-HTTP registry asked over HTTPS, a
//! refused connection, and the registry's own error codes (`manifest
//! unknown`) in podman's words rather than a bare status.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Whether `host` (`name[:port]`, 443 by default) answers plain HTTP: a
/// registry without TLS asked over HTTPS. Go's TLS stack notices the same
/// from the first bytes of the answer.
pub(crate) fn speaks_plain_http(host: &str) -> bool {
    let with_port = if host.rsplit_once(':').is_some_and(|(_, p)| !p.contains(']')) {
        host.to_string()
    } else {
        format!("{host}:443")
    };
    let Some(addr) = with_port.to_socket_addrs().ok().and_then(|mut a| a.next()) else {
        return false;
    };
    let probe = || -> std::io::Result<bool> {
        let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(3))?;
        s.set_read_timeout(Some(Duration::from_secs(3)))?;
        s.write_all(format!("GET /v2/ HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())?;
        let mut head = [0u8; 5];
        s.read_exact(&mut head)?;
        Ok(&head == b"HTTP/")
    };
    probe().unwrap_or(false)
}

/// Whether a failed request may be a TLS handshake that met plain HTTP:
/// rustls read something that is no TLS record. A certificate refused is
/// not (a TLS server also answers our plain-HTTP probe, with a 400).
pub(crate) fn is_tls_failure(e: &ureq::Error) -> bool {
    let tls = match e {
        ureq::Error::Rustls(r) => Some(r),
        ureq::Error::Io(io) => io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()),
        _ => None,
    };
    match tls {
        Some(r) => matches!(r, rustls::Error::InvalidMessage(_)),
        None => match e {
            ureq::Error::Tls(_) | ureq::Error::Protocol(_) => true,
            ureq::Error::Io(io) => matches!(
                io.kind(),
                std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof
            ),
            _ => false,
        },
    }
}

/// Whether the connection itself was refused.
pub(crate) fn is_refused(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused)
        || matches!(e, ureq::Error::ConnectionFailed)
}

/// The message of the first error in a distribution API error body
/// (`{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}`).
pub(crate) fn api_error_message(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let first = v.get("errors")?.get(0)?;
    first
        .get("message")
        .and_then(|m| m.as_str())
        .filter(|m| !m.is_empty())
        .or_else(|| first.get("code").and_then(|c| c.as_str()))
        .map(|m| m.to_ascii_lowercase().replace('_', " "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_error_bodies() {
        let body = r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}"#;
        assert_eq!(api_error_message(body).as_deref(), Some("manifest unknown"));
        let body = r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#;
        assert_eq!(api_error_message(body).as_deref(), Some("name unknown"));
        assert_eq!(api_error_message("404 page not found"), None);
    }

    #[test]
    fn plain_http_is_recognised() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let t = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 64];
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.0 400 Bad Request\r\n\r\n");
        });
        assert!(speaks_plain_http(&addr));
        t.join().unwrap();
        // Nobody listening: not plain HTTP either.
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let free = l.local_addr().unwrap().to_string();
        drop(l);
        assert!(!speaks_plain_http(&free));
    }
}
