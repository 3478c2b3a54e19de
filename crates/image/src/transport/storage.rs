//! berth's storage as a source (`berth:NAME`). Storage keeps each layer
//! unpacked, not its original blob, so reading an image out of it
//! recreates the layer blobs: each layer's diff is written once as a gzip
//! tar to a temporary file while both its digests are computed, and the
//! manifest and config are rewritten to name them. The config keeps its
//! bytes when the recreated diffs hash as the originals did.

use super::Source;
use crate::error::{Error, IoContext, Result};
use crate::manifest::{self, media, Descriptor, Manifest, Parsed};
use crate::verify::open_blob_file;
use berth_storage::{Digest, Store};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;

/// An image read out of storage, its layers recreated as blobs.
pub struct StorageSource {
    name: String,
    manifest: Vec<u8>,
    media_type: String,
    config: Vec<u8>,
    files: HashMap<String, PathBuf>,
    names: Vec<String>,
    _tmp: tempfile::TempDir,
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn digest_of(h: Sha256) -> Digest {
    // A sha256 hex string always parses.
    format!("sha256:{:x}", h.finalize())
        .parse()
        .unwrap_or_else(|_| Digest::of(b""))
}

impl StorageSource {
    /// Read image `key` (name, id or digest) out of `store`.
    pub fn open(store: &Store, key: &str) -> Result<StorageSource> {
        let image = store.image(key)?;
        let name = format!("berth:{key}");
        let stored_manifest = store.image_manifest(&image.id)?;
        let stored_config = store.image_config(&image.id)?;
        let mut chain = Vec::new();
        let mut next = image.top_layer.clone();
        while let Some(id) = next {
            let layer = store.layer(&id)?;
            next = layer.parent.clone();
            chain.push(layer);
        }
        chain.reverse();
        let tmp = tempfile::Builder::new()
            .prefix("berth-export-")
            .tempdir_in(std::env::temp_dir())
            .ctx("create temporary directory in", std::env::temp_dir())?;
        let mut files = HashMap::new();
        let mut layers = Vec::new();
        let mut diff_ids = Vec::new();
        for (i, layer) in chain.iter().enumerate() {
            let path = tmp.path().join(format!("layer-{i}"));
            let file = std::fs::File::create(&path).ctx("create", &path)?;
            let compressed = HashingWriter {
                inner: std::io::BufWriter::new(file),
                hasher: Sha256::new(),
                size: 0,
            };
            let gz = flate2::write::GzEncoder::new(compressed, flate2::Compression::new(1));
            let mut plain = HashingWriter {
                inner: gz,
                hasher: Sha256::new(),
                size: 0,
            };
            store.diff(&layer.id, &mut plain)?;
            let HashingWriter {
                inner: gz,
                hasher: diff_hasher,
                ..
            } = plain;
            let mut compressed = gz.finish().ctx("write", &path)?;
            compressed.flush().ctx("write", &path)?;
            let digest = digest_of(compressed.hasher);
            diff_ids.push(digest_of(diff_hasher));
            files.insert(digest.to_string(), path);
            layers.push((digest, compressed.size));
        }
        let stored: Option<Manifest> = match manifest::parse(
            &stored_manifest,
            &manifest::detect_media_type(&stored_manifest, None),
            &name,
        ) {
            Ok(Parsed::Manifest(m)) => Some(m),
            _ => None,
        };
        let oci = stored
            .as_ref()
            .map(|m| m.media_type.as_deref() != Some(media::DOCKER_MANIFEST))
            .unwrap_or(true);
        let config = rewrite_diff_ids(&stored_config, &diff_ids, &name)?;
        let config_desc = Descriptor::of(
            if oci {
                media::OCI_CONFIG
            } else {
                media::DOCKER_CONFIG
            },
            &config,
        );
        files.insert(config_desc.digest.to_string(), {
            let p = tmp.path().join("config");
            std::fs::write(&p, &config).ctx("write", &p)?;
            p
        });
        let media_type = if oci {
            media::OCI_MANIFEST
        } else {
            media::DOCKER_MANIFEST
        };
        let m = Manifest {
            schema_version: 2,
            media_type: Some(media_type.into()),
            config: config_desc,
            layers: layers
                .into_iter()
                .map(|(digest, size)| Descriptor {
                    media_type: if oci {
                        media::OCI_LAYER_GZIP
                    } else {
                        media::DOCKER_LAYER_GZIP
                    }
                    .into(),
                    digest,
                    size,
                    platform: None,
                    annotations: None,
                    urls: None,
                })
                .collect(),
            annotations: stored.and_then(|m| m.annotations),
        };
        let manifest = serde_json::to_vec(&m).map_err(|e| Error::Malformed {
            image: name.clone(),
            what: "manifest",
            reason: e.to_string(),
        })?;
        Ok(StorageSource {
            name,
            manifest,
            media_type: media_type.into(),
            config,
            files,
            names: image.names,
            _tmp: tmp,
        })
    }
}

/// The config with `rootfs.diff_ids` set to `ids`; the same bytes when
/// they are unchanged.
fn rewrite_diff_ids(config: &[u8], ids: &[Digest], name: &str) -> Result<Vec<u8>> {
    let mut v: serde_json::Value =
        serde_json::from_slice(config).map_err(|e| Error::Malformed {
            image: name.into(),
            what: "config",
            reason: e.to_string(),
        })?;
    let new: Vec<serde_json::Value> = ids.iter().map(|d| d.to_string().into()).collect();
    if v.pointer("/rootfs/diff_ids").and_then(|d| d.as_array()) == Some(&new) {
        return Ok(config.to_vec());
    }
    v["rootfs"] = serde_json::json!({"type": "layers", "diff_ids": new});
    serde_json::to_vec(&v).map_err(|e| Error::Malformed {
        image: name.into(),
        what: "config",
        reason: e.to_string(),
    })
}

impl Source for StorageSource {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn manifest(&self) -> Result<(Vec<u8>, String)> {
        Ok((self.manifest.clone(), self.media_type.clone()))
    }

    fn instance(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        Err(Error::NotFound(format!(
            "manifest {} in {}",
            desc.digest, self.name
        )))
    }

    fn blob<'a>(&'a self, desc: &Descriptor) -> Result<Box<dyn Read + Send + 'a>> {
        if desc.digest == Digest::of(&self.config) {
            return Ok(Box::new(std::io::Cursor::new(self.config.clone())));
        }
        let path = self
            .files
            .get(desc.digest.as_str())
            .ok_or_else(|| Error::NotFound(format!("blob {} in {}", desc.digest, self.name)))?;
        Ok(Box::new(open_blob_file(path, desc)?))
    }

    fn names(&self) -> Vec<String> {
        self.names.clone()
    }
}
