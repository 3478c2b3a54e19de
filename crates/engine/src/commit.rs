//! New images from containers (`commit`) and from tarballs (`import`):
//! one new layer applied through storage, a config that inherits the
//! base image's (or starts empty) with `--change`s, a history entry, and
//! a manifest listing every layer as its uncompressed tar (what storage
//! rebuilds byte for byte for `push` and `save`).

use crate::engine::Engine;
use crate::error::{Error, Result};
use berth_image::manifest::media;
use berth_storage::{ApplyOptions, Digest, NewImage, PathChange};
use serde_json::{json, Map, Value};
use std::io::{Read, Seek, SeekFrom};

/// The manifest and config format of a new image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ImageFormat {
    /// OCI (podman's default).
    #[default]
    Oci,
    /// Docker schema 2.
    Docker,
}

impl std::str::FromStr for ImageFormat {
    type Err = Error;

    /// `oci` or `docker`, as podman's `--format` takes them.
    fn from_str(s: &str) -> Result<ImageFormat> {
        match s {
            "oci" => Ok(ImageFormat::Oci),
            "docker" => Ok(ImageFormat::Docker),
            _ => Err(Error::InvalidOption {
                option: "--format",
                value: s.into(),
                reason: "unrecognized image type: oci or docker".into(),
            }),
        }
    }
}

/// What a new image gets besides its layer.
#[derive(Debug, Clone, Default)]
pub struct NewImageOptions {
    /// A name for it (made local as `tag` does); none leaves it dangling.
    pub name: Option<String>,
    /// The history entry's comment (`-m`).
    pub message: Option<String>,
    /// The config's `author` (`-a`).
    pub author: Option<String>,
    /// Dockerfile instructions for the config (`--change`).
    pub changes: Vec<String>,
    /// Manifest format.
    pub format: ImageFormat,
    /// `commit --squash`: the whole filesystem as the image's one layer.
    pub squash: bool,
    /// `commit --include-volumes`: every volume and bind destination in
    /// the config's Volumes (else only the anonymous ones `-v /path` made).
    pub include_volumes: bool,
    /// The manifest's `annotations` (`build --annotation`); an OCI
    /// manifest's only: a docker one has no such field.
    pub annotations: Vec<(String, String)>,
}

impl Engine {
    /// Paths container `key` added, changed and deleted in its layer.
    pub fn container_changes(&self, key: &str) -> Result<Vec<(String, PathChange)>> {
        let c = self.container(key)?;
        Ok(self.store.layer_changes(&c.layer)?)
    }

    /// Paths image `key`'s top layer added, changed and deleted.
    pub fn image_changes(&self, key: &str) -> Result<Vec<(String, PathChange)>> {
        let image = berth_image::find_image(&self.ctx, &self.store, key)?;
        match image.top_layer {
            Some(top) => Ok(self.store.layer_changes(&top)?),
            None => Ok(Vec::new()),
        }
    }

    /// A new image from container `key`: its changes as one layer on its
    /// image's (with `squash`, its whole filesystem as the only layer),
    /// the image's config with the container's run options kept as podman
    /// keeps them (see `commit_config`), then `opts`' changes. Returns the
    /// id.
    pub fn commit(&self, key: &str, opts: &NewImageOptions) -> Result<String> {
        let info = self.inspect(key)?;
        let mut spool = spool()?;
        if opts.squash {
            self.export(&info.id, &mut spool)?;
        } else {
            self.store.container_diff(&info.id, &mut spool)?;
        }
        spool
            .seek(SeekFrom::Start(0))
            .map_err(io("rewind layer spool"))?;
        let base = self.store.image(&info.image_id)?;
        let config_bytes = self.store.image_config(&base.id)?;
        let mut config: Value =
            serde_json::from_slice(&config_bytes).map_err(|e| malformed(&base.id, e))?;
        let image =
            crate::image_config::execution(&crate::image_config::parse(&base.id, &config_bytes)?);
        let obj = config
            .as_object_mut()
            .ok_or_else(|| malformed(&base.id, "not an object"))?;
        let cfg = obj.entry("config").or_insert_with(|| json!({}));
        if !cfg.is_object() {
            *cfg = json!({});
        }
        if let Some(cfg) = cfg.as_object_mut() {
            crate::commit_config::keep_run_options(
                cfg,
                &info.meta.options,
                &image,
                &info.meta.exposed_ports,
                opts.include_volumes,
            );
        }
        let parent = if opts.squash {
            // One layer and its one history entry, as podman's squash.
            obj.insert("rootfs".into(), json!({"type": "layers", "diff_ids": []}));
            obj.insert("history".into(), json!([]));
            None
        } else {
            base.top_layer.as_deref()
        };
        let created_by = info.meta.command.join(" ");
        let id = self.new_image(parent, config, spool, Some(&created_by), opts)?;
        if let Ok(c) = self.container(&info.id) {
            self.event(&c, "commit", None);
        }
        Ok(id)
    }

    /// A new image whose only layer is the tar `input` (plain, gzip or
    /// zstd: `import`). Returns the id.
    pub fn import(&self, input: impl Read, opts: &NewImageOptions) -> Result<String> {
        let mut spool = spool()?;
        std::io::copy(&mut { input }, &mut spool).map_err(io("read the tarball"))?;
        spool
            .seek(SeekFrom::Start(0))
            .map_err(io("rewind layer spool"))?;
        let config = json!({
            "architecture": host_arch(),
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": []},
        });
        self.new_image(None, config, spool, None, opts)
    }

    fn new_image(
        &self,
        parent: Option<&str>,
        config: Value,
        layer_tar: std::fs::File,
        created_by: Option<&str>,
        opts: &NewImageOptions,
    ) -> Result<String> {
        self.new_image_at(parent, config, layer_tar, created_by, opts, None)
    }

    /// [`Engine::new_image`] created at `created` (RFC 3339; now when
    /// None): a fixed time gives a reproducible config.
    pub(crate) fn new_image_at(
        &self,
        parent: Option<&str>,
        mut config: Value,
        layer_tar: std::fs::File,
        created_by: Option<&str>,
        opts: &NewImageOptions,
        created: Option<String>,
    ) -> Result<String> {
        let name = opts
            .name
            .as_deref()
            .map(berth_image::local_name)
            .transpose()?;
        let lease = self.store.lease()?;
        let layer = self
            .store
            .apply_layer(&lease, parent, layer_tar, &ApplyOptions::default())?;
        let diff = layer
            .diff_digest
            .clone()
            .ok_or_else(|| Error::InvalidOption {
                option: "layer",
                value: layer.id.clone(),
                reason: "stored without a diff digest".into(),
            })?;
        let now = created.unwrap_or_else(crate::clock::now_rfc3339);
        let obj = config
            .as_object_mut()
            .ok_or_else(|| malformed("base", "not an object"))?;
        obj.insert("created".into(), json!(now));
        if let Some(a) = &opts.author {
            obj.insert("author".into(), json!(a));
        }
        let cfg = obj.entry("config").or_insert_with(|| json!({}));
        if cfg.is_null() {
            *cfg = json!({});
        }
        let cfg: &mut Map<String, Value> = cfg
            .as_object_mut()
            .ok_or_else(|| malformed("base", "config is not an object"))?;
        crate::config_changes::apply(cfg, &opts.changes)?;
        let rootfs = obj
            .entry("rootfs")
            .or_insert_with(|| json!({"type": "layers"}));
        let mut ids = rootfs["diff_ids"].as_array().cloned().unwrap_or_default();
        ids.push(json!(diff.to_string()));
        rootfs["diff_ids"] = json!(ids);
        let history = obj.entry("history").or_insert_with(|| json!([]));
        if !history.is_array() {
            *history = json!([]);
        }
        // An import's entry reads as podman writes it.
        let created_by = match created_by {
            Some(c) => c.to_string(),
            None => format!("/bin/sh -c #(nop) ADD file:{} in /", diff.hex()),
        };
        let mut entry = json!({"created": now, "created_by": created_by});
        if let Some(m) = &opts.message {
            entry["comment"] = json!(m);
        }
        if let Some(a) = &opts.author {
            entry["author"] = json!(a);
        }
        if let Some(h) = history.as_array_mut() {
            h.push(entry);
        }
        let config_bytes = serde_json::to_vec(&config).map_err(|e| malformed("new", e))?;
        let manifest = self.manifest(&layer.id, &config_bytes, opts)?;
        let image = self.store.create_image(NewImage {
            top_layer: Some(layer.id.clone()),
            names: name.into_iter().collect(),
            manifest,
            config: config_bytes,
        })?;
        drop(lease);
        Ok(image.id)
    }

    /// A manifest for the chain ending at layer `top`: each layer as its
    /// uncompressed tar.
    fn manifest(&self, top: &str, config: &[u8], opts: &NewImageOptions) -> Result<Vec<u8>> {
        let format = opts.format;
        let mut layers = Vec::new();
        let mut next = Some(top.to_string());
        while let Some(id) = next {
            let layer = self.store.layer(&id)?;
            let digest = layer
                .diff_digest
                .clone()
                .map(|d| d.to_string())
                .unwrap_or_default();
            layers.push(json!({
                "mediaType": if format == ImageFormat::Oci { media::OCI_LAYER } else { media::DOCKER_LAYER },
                "digest": digest,
                "size": layer.size,
            }));
            next = layer.parent;
        }
        layers.reverse();
        let (manifest_type, config_type) = match format {
            ImageFormat::Oci => (media::OCI_MANIFEST, media::OCI_CONFIG),
            ImageFormat::Docker => (media::DOCKER_MANIFEST, media::DOCKER_CONFIG),
        };
        let mut m = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {
                "mediaType": config_type,
                "digest": Digest::of(config).to_string(),
                "size": config.len(),
            },
            "layers": layers,
        });
        if format == ImageFormat::Oci && !opts.annotations.is_empty() {
            let map: Map<String, Value> = opts
                .annotations
                .iter()
                .map(|(k, v)| (k.clone(), json!(v)))
                .collect();
            m["annotations"] = Value::Object(map);
        }
        serde_json::to_vec(&m).map_err(|e| malformed("new", e))
    }
}

/// A temporary file for a layer's tar, gone once closed.
pub(crate) fn spool() -> Result<std::fs::File> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("berth-layer-{}", berth_storage::random_hex(8)));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(|source| Error::Io {
            op: "create layer spool",
            path: path.clone(),
            source,
        })?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

pub(crate) fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> Error {
    move |source| Error::Io {
        op,
        path: std::env::temp_dir(),
        source,
    }
}

fn malformed(image: &str, e: impl std::fmt::Display) -> Error {
    Error::InvalidOption {
        option: "image config",
        value: image.into(),
        reason: e.to_string(),
    }
}

/// The OCI architecture name of this host.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
