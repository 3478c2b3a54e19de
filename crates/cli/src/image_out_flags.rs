//! The flags that say how a new image is written, shared by `build` and
//! `builder commit` (podman build's and buildah commit's names).

use anyhow::Context as _;
use berth_engine::ImageFormat;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct ImageOutFlags {
    /// Manifest and config format: oci or docker.
    #[arg(long, default_value = "oci")]
    pub format: ImageFormat,
    /// One layer holding the whole root.
    #[arg(long)]
    pub squash: bool,
    /// Seconds since the epoch for every time in the image (default:
    /// $SOURCE_DATE_EPOCH when set).
    #[arg(long)]
    pub timestamp: Option<i64>,
    /// Write the image id to this file.
    #[arg(long)]
    pub iidfile: Option<PathBuf>,
}

impl ImageOutFlags {
    /// `--timestamp`, else `$SOURCE_DATE_EPOCH` (a number or an error).
    pub fn timestamp(&self) -> anyhow::Result<Option<i64>> {
        if self.timestamp.is_some() {
            return Ok(self.timestamp);
        }
        match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) if !v.is_empty() => {
                Ok(Some(v.parse().with_context(|| {
                    format!("SOURCE_DATE_EPOCH={v}: not a number")
                })?))
            }
            _ => Ok(None),
        }
    }

    /// Writes `sha256:ID` to `--iidfile`, when given.
    pub fn write_iidfile(&self, id: &str) -> anyhow::Result<()> {
        if let Some(f) = &self.iidfile {
            std::fs::write(f, format!("sha256:{id}"))
                .with_context(|| format!("writing {}", f.display()))?;
        }
        Ok(())
    }
}
