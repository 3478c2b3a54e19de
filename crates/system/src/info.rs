//! `info.json` in each deployment: what was installed and how, so an
//! update repeats the install's options and the listings need no store.

use crate::error::{Error, IoContext, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// One deployment of a system container.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeploymentInfo {
    /// The system container's name.
    pub name: String,
    /// The image as the user named it.
    pub image: String,
    /// The image's id in storage.
    pub image_id: String,
    /// The image's manifest digest.
    pub digest: String,
    /// The `--set` values.
    pub values: BTreeMap<String, String>,
    /// Units this one requires (`Requires=` and `After=`).
    pub requires: Vec<String>,
    /// Units this one starts after (`After=`).
    pub after: Vec<String>,
    /// The `--requires` names as the user gave them (`requires` adds the
    /// image's label): an update merges them with the new image's label.
    #[serde(default)]
    pub given_requires: Vec<String>,
    /// The `--after` names as the user gave them (see `given_requires`).
    #[serde(default)]
    pub given_after: Vec<String>,
    /// Which image templates were used (paths under `/exports`).
    pub templates: Vec<String>,
}

const FILE: &str = "info.json";

impl DeploymentInfo {
    /// Read the info of deployment `dir`.
    pub fn read(dir: &Path) -> Result<DeploymentInfo> {
        let path = dir.join(FILE);
        let bytes = std::fs::read(&path).ctx("read", &path)?;
        serde_json::from_slice(&bytes).map_err(|source| Error::Info { path, source })
    }

    /// Write it into deployment `dir`.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let path = dir.join(FILE);
        let bytes = serde_json::to_vec_pretty(self).map_err(|source| Error::Info {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, bytes).ctx("write", &path)
    }
}
