//! What every operation needs to know about the host's configuration:
//! registries.conf, where credentials are, TLS policy and the platform.

use crate::auth::{self, Credentials};
use crate::error::Result;
use crate::manifest::Platform;
use crate::reference::Reference;
use crate::registries_conf::{Endpoint, RegistriesConf};
use crate::registry::{Client, ClientOptions};
use std::path::PathBuf;

/// Configuration shared by pulls, pushes, copies and inspections.
#[derive(Debug, Clone)]
pub struct Context {
    /// Registry configuration.
    pub conf: RegistriesConf,
    /// The auth file berth writes (and reads first).
    pub auth_file: PathBuf,
    /// `Some(false)` for `--tls-verify=false`: every registry insecure.
    pub tls_verify: Option<bool>,
    /// A certs.d-style directory overriding the system ones.
    pub certs_dir: Option<PathBuf>,
    /// The platform to choose from an index.
    pub platform: Platform,
    /// Credentials given on the command line, used for every registry.
    pub credentials: Option<Credentials>,
}

impl Default for Context {
    fn default() -> Self {
        Context {
            conf: RegistriesConf::default(),
            auth_file: auth::default_auth_file(),
            tls_verify: None,
            certs_dir: None,
            platform: Platform::host(),
            credentials: None,
        }
    }
}

impl Context {
    /// A client for `endpoint`, with its credentials and TLS policy.
    pub fn client(&self, endpoint: &Endpoint) -> Result<Client> {
        let r = &endpoint.reference;
        self.client_for(&r.registry, &r.repository, endpoint.insecure)
    }

    /// A client for `host`, credentials looked up for `repository`.
    pub fn client_for(&self, host: &str, repository: &str, insecure: bool) -> Result<Client> {
        let credentials = match &self.credentials {
            Some(c) => Some(c.clone()),
            None => auth::lookup(&auth::auth_files(&self.auth_file), host, repository)?,
        };
        let insecure = match self.tls_verify {
            Some(v) => !v,
            None => insecure || self.conf.is_insecure(host),
        };
        Client::new(
            host,
            ClientOptions {
                insecure,
                credentials,
                certs_dir: self.certs_dir.clone(),
            },
        )
    }

    /// The endpoints for pulling `reference` (mirrors first).
    pub fn endpoints(&self, reference: &Reference) -> Result<Vec<Endpoint>> {
        self.conf.endpoints(reference)
    }

    /// The endpoint for pushing `reference`: its rewritten location, never
    /// a mirror.
    pub fn push_endpoint(&self, reference: &Reference) -> Result<Endpoint> {
        let eps = self.conf.endpoints(reference)?;
        eps.into_iter()
            .find(|e| !e.mirror)
            .ok_or_else(|| crate::Error::Blocked(reference.to_string()))
    }
}
