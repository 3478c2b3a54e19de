//! The parts of an OCI image config that a container starts from. The
//! lookups in the image's files live in `image_users` (users and groups)
//! and `command_lookup` (the command in `$PATH`).

use crate::error::{Error, Result};
use serde::Deserialize;

/// Where spec building finds it; resolved in-root by `image_users`.
pub use crate::image_users::ResolvedUser;

/// `config` of an OCI image config (Docker's capitalised names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ImageConfig {
    /// The entrypoint.
    pub entrypoint: Option<Vec<String>>,
    /// The default arguments.
    pub cmd: Option<Vec<String>>,
    /// `NAME=VALUE` entries.
    pub env: Option<Vec<String>>,
    /// The working directory.
    pub working_dir: Option<String>,
    /// `user[:group]`, names or numbers.
    pub user: Option<String>,
    /// The signal that stops the container.
    pub stop_signal: Option<String>,
    /// `port/proto` keys (`80/tcp`), for `-P` and `inspect`.
    pub exposed_ports: Option<std::collections::BTreeMap<String, serde_json::Value>>,
    /// Paths that get a volume each (anonymous unless the user mounts one).
    pub volumes: Option<std::collections::BTreeMap<String, serde_json::Value>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Outer {
    config: Option<ImageConfig>,
}

impl ImageConfig {
    /// Parse an image config blob.
    pub fn parse(image: &str, bytes: &[u8]) -> Result<ImageConfig> {
        let outer: Outer = serde_json::from_slice(bytes).map_err(|source| Error::ImageConfig {
            image: image.into(),
            source,
        })?;
        Ok(outer.config.unwrap_or_default())
    }
}
