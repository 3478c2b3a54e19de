//! What the engine keeps about a container in storage's container record
//! (its `metadata`): the options it was made with and what the bundle
//! derived from the image. It survives a reboot; the runroot does not.

use crate::boot::LastRun;
use crate::error::{Error, Result};
use crate::options::CreateOptions;
use serde::{Deserialize, Serialize};

/// What the engine keeps in storage's container record (`metadata`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Meta {
    /// The options the container was created with.
    pub options: CreateOptions,
    /// The process's argv as merged with the image.
    pub command: Vec<String>,
    /// The signal `stop` sends first.
    pub stop_signal: String,
    /// The cgroupsPath.
    pub cgroups_path: String,
    /// What survives a reboot of the last run (the runroot does not).
    pub last_run: Option<LastRun>,
    /// The image's `ExposedPorts` keys (`80/tcp`).
    pub exposed_ports: Vec<String>,
}

impl Meta {
    /// What the engine keeps about `c`. Corrupt metadata is an error, not
    /// defaults: defaults would make its volumes look unused.
    pub fn of(c: &berth_storage::Container) -> Result<Meta> {
        if c.metadata.is_null() {
            // Between storage's create_container and the bundle's write.
            return Ok(Meta::default());
        }
        serde_json::from_value(c.metadata.clone()).map_err(|source| Error::Metadata {
            id: c.id.clone(),
            source,
        })
    }

    /// As storage keeps it.
    pub(crate) fn to_value(&self, id: &str) -> Result<serde_json::Value> {
        serde_json::to_value(self).map_err(|source| Error::Metadata {
            id: id.into(),
            source,
        })
    }
}
