//! The streaming server's tokens: each `Exec`, `Attach` or `PortForward`
//! answer names a fresh random token in its URL; the request it stands for
//! waits here until a client connects with it once, or until it expires
//! (as kubelet's streaming request cache: one use, a short life).

use std::collections::HashMap;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a token waits for its one connection.
pub const TOKEN_LIFE: Duration = Duration::from_secs(60);

/// What a token was issued for.
#[derive(Debug, Clone)]
pub enum Pending {
    /// A process to start in a running container.
    Exec(crate::proto::ExecRequest),
    /// A running container to attach to.
    Attach(crate::proto::AttachRequest),
    /// Ports to dial inside a pod's network namespace.
    PortForward {
        /// The pod's network namespace.
        netns: PathBuf,
        /// The ports kubelet asked for (WebSocket clients get these).
        ports: Vec<u16>,
    },
}

/// The tokens issued and not yet used, with their deadlines.
#[derive(Debug, Default)]
pub struct Tokens {
    issued: Mutex<HashMap<String, (Pending, Instant)>>,
}

impl Tokens {
    /// A new token for `what`; expired tokens are dropped on the way.
    pub fn issue(&self, what: Pending) -> std::io::Result<String> {
        let token = random_token()?;
        let now = Instant::now();
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        issued.retain(|_, (_, deadline)| *deadline > now);
        issued.insert(token.clone(), (what, now + TOKEN_LIFE));
        Ok(token)
    }

    /// The request `token` stands for, once: a second take, an unknown or
    /// an expired token gets None.
    pub fn take(&self, token: &str) -> Option<Pending> {
        let mut issued = self.issued.lock().unwrap_or_else(|p| p.into_inner());
        let (what, deadline) = issued.remove(token)?;
        (deadline > Instant::now()).then_some(what)
    }
}

/// 16 random bytes from the kernel, URL-safe base64.
fn random_token() -> std::io::Result<String> {
    use base64::Engine as _;
    let mut bytes = [0u8; 16];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_taken_once() {
        let t = Tokens::default();
        let pf = Pending::PortForward {
            netns: "/x".into(),
            ports: vec![80],
        };
        let a = t.issue(pf.clone()).unwrap();
        let b = t.issue(pf).unwrap();
        assert_ne!(a, b);
        assert!(t.take(&a).is_some());
        assert!(t.take(&a).is_none());
        assert!(t.take("nonsense").is_none());
        assert!(t.take(&b).is_some());
    }
}
