//! Pushing: skip blobs the registry has (HEAD), mount blobs across
//! repositories of the same registry, upload in one PUT (monolithic) or in
//! PATCH chunks, then put the manifest.

use super::{query_escape, Client};
use crate::error::{Error, Result};
use crate::manifest::Descriptor;
use std::io::Read;
use ureq::http::{Method, Request};

/// Blobs larger than this are uploaded in chunks of this size.
pub const CHUNK_SIZE: u64 = 32 << 20;

fn push_scope(repo: &str) -> String {
    format!("repository:{repo}:pull,push")
}

impl Client {
    /// Whether the registry has blob `desc` in `repository`.
    pub fn has_blob(&self, repository: &str, desc: &Descriptor) -> Result<bool> {
        let what = format!("HEAD blob {}", desc.digest);
        let resp = self.request(
            Method::HEAD,
            &format!("{repository}/blobs/{}", desc.digest),
            &push_scope(repository),
            &[],
            None,
            &|| what.clone(),
        )?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            _ => self.expect_ok(resp, &what).map(|_| false),
        }
    }

    /// Try to mount `desc` from repository `from` of the same registry;
    /// true when the registry did, false when an upload is needed.
    pub fn mount_blob(&self, repository: &str, from: &str, desc: &Descriptor) -> Result<bool> {
        let what = format!("mount blob {} from {from}", desc.digest);
        let scope = format!("{} repository:{from}:pull", push_scope(repository));
        let resp = self.request(
            Method::POST,
            &format!(
                "{repository}/blobs/uploads/?mount={}&from={}",
                desc.digest,
                query_escape(from)
            ),
            &scope,
            &[("Content-Length", "0")],
            Some(&[]),
            &|| what.clone(),
        )?;
        if resp.status().as_u16() == 201 {
            return Ok(true);
        }
        // 202 starts an ordinary upload session; abandon it.
        Ok(false)
    }

    /// Upload `content` (exactly `desc.size` bytes) as blob `desc`;
    /// chunked when larger than [`CHUNK_SIZE`].
    pub fn upload_blob(
        &self,
        repository: &str,
        desc: &Descriptor,
        content: &mut dyn Read,
        force_chunked: bool,
    ) -> Result<()> {
        let what = format!("upload blob {}", desc.digest);
        let resp = self.request(
            Method::POST,
            &format!("{repository}/blobs/uploads/"),
            &push_scope(repository),
            &[("Content-Length", "0")],
            Some(&[]),
            &|| what.clone(),
        )?;
        let resp = self.expect_ok(resp, &what)?;
        let mut location = self.location(&resp, &what)?;
        let auth = self.auth_header(&push_scope(repository));
        if force_chunked || desc.size > CHUNK_SIZE {
            let mut offset = 0u64;
            let mut buf = vec![0u8; CHUNK_SIZE.min(desc.size.max(1)) as usize];
            loop {
                let n = read_full(content, &mut buf).map_err(|e| Error::BlobStream {
                    digest: desc.digest.to_string(),
                    reason: format!("reading source: {e}"),
                })?;
                if n == 0 {
                    break;
                }
                let range = format!("{}-{}", offset, offset + n as u64 - 1);
                let resp = self.send_raw(
                    Method::PATCH,
                    &location,
                    auth.as_deref(),
                    &[
                        ("Content-Type", "application/octet-stream"),
                        ("Content-Range", &range),
                    ],
                    buf[..n].to_vec(),
                    &what,
                )?;
                let resp = self.expect_ok(resp, &what)?;
                location = self.location(&resp, &what)?;
                offset += n as u64;
            }
            let url = with_digest(&location, desc);
            let resp = self.send_raw(Method::PUT, &url, auth.as_deref(), &[], Vec::new(), &what)?;
            self.expect_ok(resp, &what)?;
        } else {
            let mut body = Vec::with_capacity(desc.size as usize);
            content
                .read_to_end(&mut body)
                .map_err(|e| Error::BlobStream {
                    digest: desc.digest.to_string(),
                    reason: format!("reading source: {e}"),
                })?;
            let url = with_digest(&location, desc);
            let resp = self.send_raw(
                Method::PUT,
                &url,
                auth.as_deref(),
                &[("Content-Type", "application/octet-stream")],
                body,
                &what,
            )?;
            self.expect_ok(resp, &what)?;
        }
        Ok(())
    }

    fn send_raw(
        &self,
        method: Method,
        url: &str,
        auth: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
        what: &str,
    ) -> Result<ureq::http::Response<ureq::Body>> {
        let mut req = Request::builder().method(method).uri(self.url(url));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        let http_err = |e: ureq::Error| Error::Http {
            registry: self.host.clone(),
            what: what.to_string(),
            cause: Box::new(e),
        };
        let req = req.body(body).map_err(|e| http_err(e.into()))?;
        self.agent.run(req).map_err(http_err)
    }

    fn location(&self, resp: &ureq::http::Response<ureq::Body>, what: &str) -> Result<String> {
        resp.headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| Error::Status {
                registry: self.host.clone(),
                what: what.to_string(),
                status: resp.status().as_u16(),
                body: "upload answer without Location".into(),
            })
    }

    /// Put a manifest under `reference` (tag or digest).
    pub fn put_manifest(
        &self,
        repository: &str,
        reference: &str,
        bytes: &[u8],
        media_type: &str,
    ) -> Result<()> {
        let what = format!("PUT manifest {repository}:{reference}");
        let resp = self.request(
            Method::PUT,
            &format!("{repository}/manifests/{reference}"),
            &push_scope(repository),
            &[("Content-Type", media_type)],
            Some(bytes),
            &|| what.clone(),
        )?;
        self.expect_ok(resp, &what)?;
        Ok(())
    }
}

fn with_digest(location: &str, desc: &Descriptor) -> String {
    let sep = if location.contains('?') { '&' } else { '?' };
    format!(
        "{location}{sep}digest={}",
        query_escape(desc.digest.as_str())
    )
}

fn read_full(r: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
