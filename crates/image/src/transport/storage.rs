//! berth's storage as a source (`berth:NAME`), what `save` and `push` read.
//!
//! An image must leave storage as the same image: its config byte for byte
//! (the config digest is the image id), and each layer as the very tar it
//! was applied from, whose sha256 is the diff id the config lists. Storage
//! keeps layers unpacked, but rebuilds that tar from the layer's tar-split
//! record ([`Store::layer_tar`]), streamed as it is read, so layers are
//! offered uncompressed (digest = diff id); a destination that wants them
//! compressed gets them compressed by the copy. The manifest is the stored
//! one's format with its layers so described.
//!
//! A layer stored before berth kept tar-split records is re-tarred from its
//! files to a temporary file instead. That tar differs from the original,
//! so the config is rewritten with the new diff ids and the image gets a
//! new id; a warning says so.

use super::Source;
use crate::error::{Error, IoContext, Result};
use crate::manifest::{self, media, Descriptor, Manifest, Parsed};
use crate::verify::open_blob_file;
use berth_storage::{Digest, Layer, Store};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::PathBuf;

/// Where a layer blob is read from.
enum LayerBlob {
    /// Rebuilt by storage from the layer's tar-split record: the original.
    Original(String),
    /// Re-tarred from the layer's files into this temporary file.
    Retarred(PathBuf),
}

/// An image read out of storage; see the module documentation.
pub struct StorageSource<'a> {
    store: &'a Store,
    name: String,
    manifest: Vec<u8>,
    media_type: String,
    config: Vec<u8>,
    config_digest: Digest,
    layers: HashMap<String, LayerBlob>,
    names: Vec<String>,
    _tmp: Option<tempfile::TempDir>,
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

impl<'a> StorageSource<'a> {
    /// Read image `key` (name, id or digest) out of `store`.
    pub fn open(store: &'a Store, key: &str) -> Result<StorageSource<'a>> {
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
        let mut tmp: Option<tempfile::TempDir> = None;
        let mut layers = HashMap::new();
        let mut descriptors = Vec::new();
        for (i, layer) in chain.iter().enumerate() {
            let (digest, size, blob) = match original(store, layer)? {
                Some((digest, size)) => (digest, size, LayerBlob::Original(layer.id.clone())),
                None => {
                    tracing::warn!(image = %name, layer = %layer.id,
                        "layer stored without a tar-split record: re-tarring it, which changes its diff id and the image id");
                    let dir = match &tmp {
                        Some(t) => t.path().to_path_buf(),
                        None => {
                            let t = tempfile::Builder::new()
                                .prefix("berth-export-")
                                .tempdir_in(std::env::temp_dir())
                                .ctx("create temporary directory in", std::env::temp_dir())?;
                            let p = t.path().to_path_buf();
                            tmp = Some(t);
                            p
                        }
                    };
                    let (digest, size, path) =
                        retar(store, layer, &dir.join(format!("layer-{i}")))?;
                    (digest, size, LayerBlob::Retarred(path))
                }
            };
            layers.insert(digest.to_string(), blob);
            descriptors.push(Descriptor {
                media_type: if oci {
                    media::OCI_LAYER
                } else {
                    media::DOCKER_LAYER
                }
                .into(),
                digest,
                size,
                platform: None,
                annotations: None,
                urls: None,
            });
        }
        let diff_ids: Vec<Digest> = descriptors.iter().map(|d| d.digest.clone()).collect();
        let config = rewrite_diff_ids(&stored_config, &diff_ids, &name)?;
        let config_desc = Descriptor::of(
            if oci {
                media::OCI_CONFIG
            } else {
                media::DOCKER_CONFIG
            },
            &config,
        );
        let media_type = if oci {
            media::OCI_MANIFEST
        } else {
            media::DOCKER_MANIFEST
        };
        let m = Manifest {
            schema_version: 2,
            media_type: Some(media_type.into()),
            config: config_desc.clone(),
            layers: descriptors,
            annotations: stored.and_then(|m| m.annotations),
        };
        let manifest = serde_json::to_vec(&m).map_err(|e| Error::Malformed {
            image: name.clone(),
            what: "manifest",
            reason: e.to_string(),
        })?;
        Ok(StorageSource {
            store,
            name,
            manifest,
            media_type: media_type.into(),
            config,
            config_digest: config_desc.digest,
            layers,
            names: image.names,
            _tmp: tmp,
        })
    }
}

/// The digest and size of `layer`'s original tar, when storage can
/// rebuild it.
fn original(store: &Store, layer: &Layer) -> Result<Option<(Digest, u64)>> {
    let Some(diff) = &layer.diff_digest else {
        return Ok(None);
    };
    // Opening it checks that the record is there and readable.
    Ok(store
        .layer_tar(&layer.id)?
        .map(|_| (diff.clone(), layer.size)))
}

/// Write `layer`'s files as a new tar to `path`: digest and size.
fn retar(store: &Store, layer: &Layer, path: &std::path::Path) -> Result<(Digest, u64, PathBuf)> {
    let file = std::fs::File::create(path).ctx("create", path)?;
    let mut out = HashingWriter {
        inner: std::io::BufWriter::new(file),
        hasher: Sha256::new(),
        size: 0,
    };
    store.diff(&layer.id, &mut out)?;
    out.flush().ctx("write", path)?;
    let digest = format!("sha256:{:x}", out.hasher.finalize())
        .parse()
        .map_err(Error::Storage)?;
    Ok((digest, out.size, path.to_path_buf()))
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

impl Source for StorageSource<'_> {
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

    fn blob<'b>(&'b self, desc: &Descriptor) -> Result<Box<dyn Read + Send + 'b>> {
        if desc.digest == self.config_digest {
            return Ok(Box::new(std::io::Cursor::new(self.config.clone())));
        }
        let missing = || Error::NotFound(format!("blob {} in {}", desc.digest, self.name));
        match self.layers.get(desc.digest.as_str()).ok_or_else(missing)? {
            // Storage checks the rebuilt stream against the diff id.
            LayerBlob::Original(id) => Ok(Box::new(self.store.layer_tar(id)?.ok_or_else(missing)?)),
            LayerBlob::Retarred(path) => Ok(Box::new(open_blob_file(path, desc)?)),
        }
    }

    fn names(&self) -> Vec<String> {
        self.names.clone()
    }
}
