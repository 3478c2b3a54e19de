//! What every operation needs to know about the host's configuration:
//! registries.conf, where credentials are, the signature policy, TLS
//! policy and the platform.

use crate::auth::{self, Credentials};
use crate::error::Result;
use crate::manifest::Platform;
use crate::policy::Policy;
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
    /// The user named `auth_file` (`--authfile`, `$REGISTRY_AUTH_FILE`):
    /// then it is the only file read, as podman does.
    pub auth_file_named: bool,
    /// Where the signature policy comes from.
    pub policy: PolicySource,
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
            auth_file_named: auth::auth_file_from_env().is_some(),
            policy: PolicySource::Lookup,
            tls_verify: None,
            certs_dir: None,
            platform: Platform::host(),
            credentials: None,
        }
    }
}

/// Where a [`Context`]'s signature policy comes from. It is read when a
/// pull or copy needs it, not before, so a broken policy.json fails
/// those and nothing else.
#[derive(Debug, Clone, Default)]
pub enum PolicySource {
    /// The user's `~/.config/containers/policy.json`, else
    /// `/etc/containers/policy.json`, else accept anything.
    #[default]
    Lookup,
    /// This file (`--signature-policy`); it must exist.
    File(PathBuf),
    /// A policy the program built.
    Given(Policy),
}

impl Context {
    /// The signature policy pulls and copies must satisfy.
    pub fn policy(&self) -> Result<Policy> {
        match &self.policy {
            PolicySource::Lookup => Policy::load(None),
            PolicySource::File(p) => Policy::load(Some(p)),
            PolicySource::Given(p) => Ok(p.clone()),
        }
    }

    /// A client for `endpoint`, with its credentials and TLS policy.
    pub fn client(&self, endpoint: &Endpoint) -> Result<Client> {
        let r = &endpoint.reference;
        self.client_for(&r.registry, &r.repository, endpoint.insecure)
    }

    /// A client for `host`, credentials looked up for `repository`.
    pub fn client_for(&self, host: &str, repository: &str, insecure: bool) -> Result<Client> {
        let credentials = match &self.credentials {
            Some(c) => Some(c.clone()),
            None => auth::lookup(
                &auth::auth_files(&self.auth_file, self.auth_file_named),
                host,
                repository,
            )?,
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
