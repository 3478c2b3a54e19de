//! A working container committed to an image: its layer's changes (or,
//! squashed, its whole root) as one new layer, with the config its builder
//! made. The image is made by the same path as `berth commit`
//! ([`crate::commit`]); a timestamp makes it reproducible: every tar
//! header's mtime and every time in the config is that time, so the same
//! input gives the same layer, config and manifest digests.

use crate::commit::{ImageFormat, NewImageOptions};
use crate::engine::Engine;
use crate::error::Result;
use serde_json::Value;
use std::io::{Seek, SeekFrom};

/// How a working container becomes an image.
#[derive(Debug, Clone, Default)]
pub struct WorkingCommit {
    /// The image config as the builder made it: `config`, `author`,
    /// `history` (the base's and the build's entries so far) and, unless
    /// squashed, `rootfs.diff_ids` of the base; the engine adds the new
    /// layer's diff id, its history entry and the creation time.
    pub config: Value,
    /// The new layer's history entry (`created_by`).
    pub created_by: String,
    /// A name for the image.
    pub name: Option<String>,
    /// The history entry's comment.
    pub message: Option<String>,
    /// oci or docker.
    pub format: ImageFormat,
    /// One layer with the whole root instead of one over the base's.
    pub squash: bool,
    /// Seconds since the epoch for every time in the image (layer mtimes,
    /// `created`): `--timestamp` or `SOURCE_DATE_EPOCH`.
    pub timestamp: Option<i64>,
    /// The manifest's annotations (an OCI manifest's only).
    pub annotations: Vec<(String, String)>,
}

impl Engine {
    /// Commit working container `key`. Returns the image id. On error no
    /// image is made (a layer made on the way is collected with the lease).
    pub fn commit_working(&self, key: &str, opts: &WorkingCommit) -> Result<String> {
        let c = self.working_container(key)?;
        let mut spool = crate::commit::spool()?;
        let parent = if opts.squash {
            let rootfs = self.store.mount_container(&c.id)?;
            let tarred = berth_storage::tar_tree(&rootfs, None, &mut spool);
            let _ = self.store.unmount_container(&c.id, false);
            tarred?;
            None
        } else {
            self.store.container_diff(&c.id, &mut spool)?;
            match c.image.as_str() {
                "" => None,
                image => self.store.image(image)?.top_layer,
            }
        };
        spool
            .seek(SeekFrom::Start(0))
            .map_err(crate::commit::io("rewind layer spool"))?;
        let spool = match opts.timestamp {
            Some(ts) => crate::layer_timestamp::with_mtime(spool, ts)?,
            None => spool,
        };
        let new = NewImageOptions {
            name: opts.name.clone(),
            message: opts.message.clone(),
            author: None,
            changes: Vec::new(),
            format: opts.format,
            // The working commit spools its own layer (squashed or not) and
            // writes the config it holds: these two are `commit`'s.
            squash: false,
            include_volumes: false,
            annotations: opts.annotations.clone(),
        };
        let created = opts.timestamp.map(crate::clock::rfc3339_of);
        self.new_image_at(
            parent.as_deref(),
            opts.config.clone(),
            spool,
            Some(&opts.created_by),
            &new,
            created,
        )
    }
}
