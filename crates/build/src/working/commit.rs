//! `builder commit`: a working container to an image through the
//! engine's commit path ([`berth_engine::Engine::commit_working`]).

use super::Builder;
use crate::error::Result;
use berth_engine::{ImageFormat, WorkingCommit};
use serde_json::json;

/// How a working container is committed.
#[derive(Debug, Clone, Default)]
pub struct CommitOptions {
    /// A name for the image (made local as `tag` does).
    pub name: Option<String>,
    /// oci (default) or docker.
    pub format: ImageFormat,
    /// One layer holding the whole root.
    pub squash: bool,
    /// Remove the working container once committed.
    pub rm: bool,
    /// Seconds since the epoch for every time in the image (layer mtimes,
    /// `created`, the new history entries): `--timestamp`, or
    /// `SOURCE_DATE_EPOCH` (the CLI reads it).
    pub timestamp: Option<i64>,
    /// The new layer's history entry; default: the steps since the last
    /// commit.
    pub created_by: Option<String>,
    /// The history entry's comment.
    pub message: Option<String>,
    /// `KEY=VALUE` annotations of the manifest (OCI format only: a
    /// docker manifest has no annotations).
    pub annotations: Vec<(String, String)>,
}

impl Builder<'_> {
    /// Commit working container `key` to a new image; returns its id. The
    /// container stays (its steps start afresh) unless `opts.rm`.
    pub fn commit(&self, key: &str, opts: &CommitOptions) -> Result<String> {
        let mut wc = self.container(key)?;
        let created = match opts.timestamp {
            Some(ts) => berth_engine::clock::rfc3339_of(ts),
            None => berth_engine::clock::now_rfc3339(),
        };
        let mut config = wc.config.to_image_value(&created)?;
        if opts.squash {
            config["rootfs"] = json!({"type": "layers", "diff_ids": []});
            config["history"] = json!([]);
        }
        let created_by = opts
            .created_by
            .clone()
            .unwrap_or_else(|| wc.steps.join(" && "));
        let id = self.engine.commit_working(
            &wc.id,
            &WorkingCommit {
                config,
                created_by,
                name: opts.name.clone(),
                message: opts.message.clone(),
                format: opts.format,
                squash: opts.squash,
                timestamp: opts.timestamp,
                annotations: opts.annotations.clone(),
            },
        )?;
        if opts.rm {
            self.engine.remove_working(&wc.id)?;
        } else {
            wc.steps.clear();
            self.engine.set_working_record(&wc.id, wc.to_value()?)?;
        }
        Ok(id)
    }
}
