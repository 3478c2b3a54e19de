//! A client of the OCI distribution API for one registry host: anonymous,
//! basic and bearer-token auth (from the `WWW-Authenticate` challenge), TLS
//! with the system roots plus `certs.d/<host>/*.crt`, plain HTTP for
//! insecure registries, and retries with backoff on dropped connections
//! and 5xx answers.

mod blob;
mod cert_validity;
mod challenge;
mod explain;
mod pinned_tls;
mod push;

pub use blob::BlobReader;
pub(crate) use blob::{io_to_error as blob_error, BlobErrorWrap};
pub use challenge::Challenge;

use crate::auth::Credentials;
use crate::error::{Error, Result};
use base64::Engine as _;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use ureq::http::{Method, Request, Response};
use ureq::Body;

/// Where per-registry CA certificates live, as for podman.
pub const CERTS_DIRS: &[&str] = &[
    "/etc/berth/certs.d",
    "/etc/containers/certs.d",
    "/etc/docker/certs.d",
];

/// How to reach one registry.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// Plain HTTP or unverified TLS allowed (registries.conf `insecure` or
    /// `--tls-verify=false`).
    pub insecure: bool,
    /// Credentials, if any.
    pub credentials: Option<Credentials>,
    /// A directory of `<host>/*.crt` CA files to use instead of
    /// [`CERTS_DIRS`].
    pub certs_dir: Option<PathBuf>,
}

/// A client for one registry host. Cheap to share between threads.
pub struct Client {
    host: String,
    opts: ClientOptions,
    agent: ureq::Agent,
    /// `https` or `http`, decided on first contact for insecure registries.
    scheme: Mutex<Option<&'static str>>,
    /// Authorization header values by scope.
    tokens: Mutex<HashMap<String, String>>,
    /// The registry asked for basic auth.
    basic: Mutex<bool>,
}

const ATTEMPTS: u32 = 4;

/// Backoff before retry `attempt` (1-based): 200 ms, 400 ms, 800 ms.
pub(crate) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(200 << (attempt.saturating_sub(1)).min(5))
}

impl Client {
    /// A client for `host` (`registry.example:5000`).
    pub fn new(host: &str, opts: ClientOptions) -> Result<Client> {
        let mut pinned = None;
        let tls = if opts.insecure {
            ureq::tls::TlsConfig::builder()
                .disable_verification(true)
                .build()
        } else {
            let (certs, configured) = root_certs(host, opts.certs_dir.as_deref())?;
            if !configured.is_empty() {
                pinned = Some(pinned_tls::client_config(&certs, &configured).map_err(|e| {
                    Error::Config {
                        path: opts
                            .certs_dir
                            .clone()
                            .unwrap_or_else(|| CERTS_DIRS[0].into()),
                        reason: format!("TLS setup for {host}: {e}"),
                    }
                })?);
            }
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::new_with_certs(&certs))
                .build()
        };
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .user_agent("berth/0.1")
            .accept_encoding("identity")
            .build();
        // certs.d certificates for this host: our verifier, which also
        // takes a configured self-signed certificate as it is.
        let agent = match pinned {
            Some(tls) => {
                use ureq::unversioned::transport::Connector as _;
                use ureq::unversioned::transport::{ConnectProxyConnector, TcpConnector};
                // ureq's default chain (CONNECT proxies, TCP) with our TLS.
                ureq::Agent::with_parts(
                    config,
                    ().chain(ConnectProxyConnector::default())
                        .chain(TcpConnector::default())
                        .chain(pinned_tls::PinnedTlsConnector(tls)),
                    ureq::unversioned::resolver::DefaultResolver::default(),
                )
            }
            None => config.new_agent(),
        };
        Ok(Client {
            host: host.to_string(),
            opts,
            agent,
            scheme: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
            basic: Mutex::new(false),
        })
    }

    /// The registry host.
    pub fn host(&self) -> &str {
        &self.host
    }

    fn scheme(&self) -> &'static str {
        match *lock(&self.scheme) {
            Some(s) => s,
            None => "https",
        }
    }

    /// `<scheme>://<host>/v2/<path>`.
    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            return path.to_string();
        }
        if path.starts_with('/') {
            return format!("{}://{}{}", self.scheme(), self.host, path);
        }
        format!("{}://{}/v2/{}", self.scheme(), self.host, path)
    }

    fn auth_header(&self, scope: &str) -> Option<String> {
        if let Some(t) = lock(&self.tokens).get(scope) {
            return Some(t.clone());
        }
        if *lock(&self.basic) {
            return self.opts.credentials.as_ref().map(basic_header);
        }
        None
    }

    /// One request with auth and retries. `body` is replayed on retry.
    /// Returns any status; callers check it.
    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
        scope: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        what: &dyn Fn() -> String,
    ) -> Result<Response<Body>> {
        let mut authed_once = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = Request::builder()
                .method(method.clone())
                .uri(self.url(path));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(a) = self.auth_header(scope) {
                req = req.header("Authorization", a);
            }
            let sent = match body {
                Some(b) => req
                    .body(b.to_vec())
                    .map(|r| self.agent.run(r))
                    .map_err(ureq::Error::from),
                None => req
                    .body(())
                    .map(|r| self.agent.run(r))
                    .map_err(ureq::Error::from),
            };
            let result = sent.and_then(|r| r);
            match result {
                Ok(resp) if resp.status() == 401 && !authed_once => {
                    authed_once = true;
                    self.authenticate(&resp, scope)?;
                }
                Ok(resp) if resp.status().is_server_error() && attempt < ATTEMPTS => {
                    tracing::debug!(registry = %self.host, status = %resp.status(), "retrying {}", what());
                    std::thread::sleep(backoff(attempt));
                }
                Ok(resp) => {
                    if lock(&self.scheme).is_none() {
                        *lock(&self.scheme) = Some(self.scheme());
                    }
                    return Ok(resp);
                }
                Err(e) => {
                    if self.opts.insecure
                        && lock(&self.scheme).is_none()
                        && self.scheme() == "https"
                    {
                        tracing::debug!(registry = %self.host, error = %e, "https failed, trying plain http");
                        *lock(&self.scheme) = Some("http");
                        attempt -= 1;
                        continue;
                    }
                    if self.scheme() == "https"
                        && explain::is_tls_failure(&e)
                        && explain::speaks_plain_http(&self.host)
                    {
                        return Err(Error::PlainHttp {
                            registry: self.host.clone(),
                        });
                    }
                    if attempt < ATTEMPTS && retryable(&e) {
                        tracing::debug!(registry = %self.host, error = %e, "retrying {}", what());
                        std::thread::sleep(backoff(attempt));
                        continue;
                    }
                    if explain::is_refused(&e) {
                        return Err(Error::Refused {
                            registry: self.host.clone(),
                        });
                    }
                    return Err(Error::Http {
                        registry: self.host.clone(),
                        what: what(),
                        cause: Box::new(e),
                    });
                }
            }
        }
    }

    /// Answer a 401's challenge: get a bearer token for `scope`, or switch
    /// to basic auth.
    fn authenticate(&self, resp: &Response<Body>, scope: &str) -> Result<()> {
        let header = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let auth_err = |reason: String| Error::Auth {
            registry: self.host.clone(),
            reason,
        };
        let challenge = Challenge::parse(header)
            .ok_or_else(|| auth_err("401 without a WWW-Authenticate challenge".into()))?;
        match challenge.scheme.as_str() {
            "basic" => {
                if self.opts.credentials.is_none() {
                    return Err(auth_err("the registry wants a login (berth login)".into()));
                }
                *lock(&self.basic) = true;
                Ok(())
            }
            "bearer" => {
                let token = self.fetch_token(&challenge, scope)?;
                lock(&self.tokens).insert(scope.to_string(), format!("Bearer {token}"));
                Ok(())
            }
            other => Err(auth_err(format!("unsupported auth scheme {other:?}"))),
        }
    }

    fn fetch_token(&self, challenge: &Challenge, scope: &str) -> Result<String> {
        let auth_err = |reason: String| Error::Auth {
            registry: self.host.clone(),
            reason,
        };
        let realm = challenge
            .params
            .get("realm")
            .ok_or_else(|| auth_err("bearer challenge without realm".into()))?;
        let mut url = realm.clone();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        if let Some(service) = challenge.params.get("service") {
            url.push_str(&format!("{sep}service={}", query_escape(service)));
            sep = '&';
        }
        if !scope.is_empty() {
            for s in scope.split(' ') {
                url.push_str(&format!("{sep}scope={}", query_escape(s)));
                sep = '&';
            }
        }
        let mut req = Request::builder().method(Method::GET).uri(&url);
        if let Some(c) = &self.opts.credentials {
            req = req.header("Authorization", basic_header(c));
        }
        let req = req
            .body(())
            .map_err(|e| auth_err(format!("token request: {e}")))?;
        let mut resp = self
            .agent
            .run(req)
            .map_err(|e| auth_err(format!("token request to {realm}: {e}")))?;
        if !resp.status().is_success() {
            return Err(auth_err(format!(
                "token server {realm} answered HTTP {}",
                resp.status().as_u16()
            )));
        }
        let raw = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| auth_err(format!("token response: {e}")))?;
        let v: serde_json::Value =
            serde_json::from_slice(&raw).map_err(|e| auth_err(format!("token response: {e}")))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| auth_err("token response has no token".into()))
    }

    /// Check that the registry answers and the credentials work (`/v2/`).
    pub fn ping(&self) -> Result<()> {
        let resp = self.request(Method::GET, "", "", &[], None, &|| "GET /v2/".into())?;
        self.expect_ok(resp, "GET /v2/").map(|_| ())
    }

    /// Turn a non-2xx answer into an error naming `what`.
    pub(crate) fn expect_ok(&self, mut resp: Response<Body>, what: &str) -> Result<Response<Body>> {
        // The registry API answers in JSON or blobs, never in HTML, even for
        // its errors.
        let html = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
        if html {
            return Err(Error::NotARegistry {
                registry: self.host.clone(),
                what: what.to_string(),
            });
        }
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(4096)
            .read_to_string()
            .unwrap_or_default();
        if status == 401 || status == 403 {
            return Err(Error::Auth {
                registry: self.host.clone(),
                reason: format!("{what}: HTTP {status} {}", body.trim()),
            });
        }
        if status == 404 {
            if let Some(message) = explain::api_error_message(&body) {
                let what = if what.contains(&self.host) {
                    what.to_string()
                } else {
                    format!("{what} on {}", self.host)
                };
                return Err(Error::RegistryNotFound { what, message });
            }
            return Err(Error::NotFound(format!("{what} on {}", self.host)));
        }
        Err(Error::Status {
            registry: self.host.clone(),
            what: what.to_string(),
            status,
            body: body.trim().chars().take(300).collect(),
        })
    }

    /// Fetch a manifest by tag or digest: its bytes and reported media type.
    pub fn manifest(&self, repository: &str, reference: &str) -> Result<(Vec<u8>, Option<String>)> {
        // podman's words: "reading manifest TAG in HOST/REPO".
        let what = format!("reading manifest {reference} in {}/{repository}", self.host);
        let resp = self.request(
            Method::GET,
            &format!("{repository}/manifests/{reference}"),
            &pull_scope(repository),
            &[("Accept", crate::manifest::media::ACCEPT_MANIFESTS)],
            None,
            &|| what.clone(),
        )?;
        let mut resp = self.expect_ok(resp, &what)?;
        let media_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(8 << 20)
            .read_to_vec()
            .map_err(|e| Error::Http {
                registry: self.host.clone(),
                what: what.clone(),
                cause: Box::new(e),
            })?;
        Ok((bytes, media_type))
    }

    /// Fetch a small blob (a config) whole, verifying its digest.
    pub fn blob_bytes(&self, repository: &str, desc: &crate::Descriptor) -> Result<Vec<u8>> {
        use std::io::Read as _;
        let mut out = Vec::with_capacity(desc.size.min(16 << 20) as usize);
        self.blob(repository, desc)
            .read_to_end(&mut out)
            .map_err(|e| blob::io_to_error(e, &desc.digest))?;
        Ok(out)
    }

    /// A reader of the blob `desc` that resumes after dropped connections
    /// and fails at the end unless size and digest matched.
    pub fn blob<'a>(&'a self, repository: &str, desc: &crate::Descriptor) -> BlobReader<'a> {
        BlobReader::new(self, repository, desc.clone())
    }
}

/// `repository:<repo>:pull`.
pub(crate) fn pull_scope(repo: &str) -> String {
    format!("repository:{repo}:pull")
}

fn retryable(e: &ureq::Error) -> bool {
    matches!(
        e,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    )
}

fn basic_header(c: &Credentials) -> String {
    let raw = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The system's CA roots plus `*.crt` in the registry's certs directory;
/// and apart, those of the certs directory.
type Certs = Vec<ureq::tls::Certificate<'static>>;
fn root_certs(host: &str, certs_dir: Option<&Path>) -> Result<(Certs, Certs)> {
    let mut out = Vec::new();
    let mut configured = Vec::new();
    let native = rustls_native_certs::load_native_certs();
    for c in native.certs {
        out.push(ureq::tls::Certificate::from_der(c.as_ref()).to_owned());
    }
    let dirs: Vec<PathBuf> = match certs_dir {
        Some(d) => vec![d.join(host), d.to_path_buf()],
        None => CERTS_DIRS.iter().map(|d| Path::new(d).join(host)).collect(),
    };
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().and_then(|x| x.to_str()) != Some("crt") {
                continue;
            }
            let pem = std::fs::read(&path).map_err(|source| Error::Io {
                op: "read",
                path: path.clone(),
                source,
            })?;
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => {
                        configured.push(c.clone());
                        out.push(c);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        return Err(Error::Config {
                            path,
                            reason: e.to_string(),
                        })
                    }
                }
            }
        }
    }
    Ok((out, configured))
}

impl Client {
    /// The tags of `repository` (following `Link` pagination).
    pub fn tags(&self, repository: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let mut path = format!("{repository}/tags/list");
        for _ in 0..100 {
            let what = format!("GET tags of {repository}");
            let resp = self.request(
                Method::GET,
                &path,
                &pull_scope(repository),
                &[],
                None,
                &|| what.clone(),
            )?;
            let mut resp = self.expect_ok(resp, &what)?;
            let next = resp
                .headers()
                .get("link")
                .and_then(|v| v.to_str().ok())
                .and_then(|l| {
                    l.split_once('<')
                        .and_then(|(_, r)| r.split_once('>'))
                        .map(|(u, _)| u.to_string())
                });
            let raw = resp
                .body_mut()
                .with_config()
                .limit(16 << 20)
                .read_to_vec()
                .map_err(|e| Error::Http {
                    registry: self.host.clone(),
                    what: what.clone(),
                    cause: Box::new(e),
                })?;
            let v: serde_json::Value =
                serde_json::from_slice(&raw).map_err(|e| Error::Malformed {
                    image: format!("{}/{repository}", self.host),
                    what: "tag list",
                    reason: e.to_string(),
                })?;
            if let Some(tags) = v.get("tags").and_then(|t| t.as_array()) {
                out.extend(tags.iter().filter_map(|t| t.as_str().map(str::to_string)));
            }
            match next {
                Some(n) => path = n,
                None => break,
            }
        }
        Ok(out)
    }
}
