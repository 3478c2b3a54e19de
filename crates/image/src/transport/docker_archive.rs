//! `docker-archive:` — the `docker save` format: `manifest.json` lists, for
//! each image, its config `<hex>.json`, its layers as uncompressed tars
//! `<hex>.tar` and its `RepoTags`. One archive may hold several images
//! (`podman save -m`), which then share the files of their common layers.

use super::archive::{pack_dir, unpack};
use super::{Dest, Format, ResolvedImage, Source};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{self, media, Compression, Descriptor, Manifest};
use crate::verify::{open_blob_file, write_blob_file};
use std::borrow::Borrow;
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// A `docker save` archive unpacked for reading.
pub struct DockerArchive {
    name: String,
    dir: Arc<tempfile::TempDir>,
    entries: Vec<ArchiveEntry>,
}

impl DockerArchive {
    /// Unpack `file` and read its `manifest.json`.
    pub fn open(file: &Path) -> Result<DockerArchive> {
        let name = format!("docker-archive:{}", file.display());
        let dir = unpack(file, "docker-archive")?;
        let bytes = std::fs::read(dir.path().join("manifest.json"))
            .map_err(|_| malformed(&name, "no manifest.json".into()))?;
        let entries: Vec<ArchiveEntry> = serde_json::from_slice(&bytes)
            .map_err(|e| malformed(&name, format!("manifest.json: {e}")))?;
        if entries.is_empty() {
            return Err(malformed(&name, "manifest.json lists no image".into()));
        }
        Ok(DockerArchive {
            name,
            dir: Arc::new(dir),
            entries,
        })
    }

    /// How many images the archive holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none (never, once opened).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The index of the image tagged `reference`; the only one when `None`.
    pub fn select(&self, reference: Option<&str>) -> Result<usize> {
        let Some(r) = reference else {
            return match self.entries.len() {
                1 => Ok(0),
                _ => Err(Error::InvalidTransport {
                    reference: self.name.clone(),
                    reason:
                        "the archive holds several images; name one (docker-archive:FILE:NAME:TAG)"
                            .into(),
                }),
            };
        };
        let same = |t: &str| {
            t == r
                || crate::reference::ParsedName::parse(t)
                    .ok()
                    .zip(crate::reference::ParsedName::parse(r).ok())
                    .is_some_and(|(a, b)| {
                        a.repository.trim_start_matches("library/")
                            == b.repository.trim_start_matches("library/")
                            && a.tag == b.tag
                    })
        };
        self.entries
            .iter()
            .position(|e| e.repo_tags.iter().flatten().any(|t| same(t)))
            .ok_or_else(|| Error::NotFound(format!("image {r:?} in {}", self.name)))
    }

    /// Image `index` as a source, presented as a docker schema 2 manifest
    /// made from its entry (OCI when a layer is zstd, which docker
    /// manifests cannot name).
    pub fn source(&self, index: usize) -> Result<DockerArchiveSource> {
        let name = &self.name;
        let entry = self
            .entries
            .get(index)
            .ok_or_else(|| Error::NotFound(format!("image #{index} in {name}")))?;
        let inside = |rel: &str| -> Result<PathBuf> {
            if rel.starts_with('/') || rel.split('/').any(|c| c == "..") {
                return Err(malformed(name, format!("path {rel:?} leaves the archive")));
            }
            Ok(self.dir.path().join(rel))
        };
        let mut files = HashMap::new();
        let config_path = inside(&entry.config)?;
        let config_bytes = std::fs::read(&config_path)
            .map_err(|e| malformed(name, format!("config {}: {e}", entry.config)))?;
        let config = Descriptor::of(media::DOCKER_CONFIG, &config_bytes);
        files.insert(config.digest.to_string(), config_path);
        let mut layers = Vec::new();
        for l in &entry.layers {
            let path = inside(l)?;
            let (digest, size, compression) =
                hash_file(&path).map_err(|e| malformed(name, format!("layer {l}: {e}")))?;
            files.insert(digest.to_string(), path);
            layers.push((digest, size, compression));
        }
        let oci = layers.iter().any(|(_, _, c)| *c == Compression::Zstd);
        let manifest = Manifest {
            schema_version: 2,
            media_type: Some(
                if oci {
                    media::OCI_MANIFEST
                } else {
                    media::DOCKER_MANIFEST
                }
                .into(),
            ),
            config: Descriptor {
                media_type: if oci {
                    media::OCI_CONFIG
                } else {
                    media::DOCKER_CONFIG
                }
                .into(),
                ..config
            },
            layers: layers
                .into_iter()
                .map(|(digest, size, c)| Descriptor {
                    media_type: c
                        .layer_media_type(oci)
                        .unwrap_or(media::OCI_LAYER_ZSTD)
                        .into(),
                    digest,
                    size,
                    platform: None,
                    annotations: None,
                    urls: None,
                })
                .collect(),
            annotations: None,
        };
        let manifest = serde_json::to_vec(&manifest).map_err(|e| malformed(name, e.to_string()))?;
        Ok(DockerArchiveSource {
            _dir: self.dir.clone(),
            name: name.clone(),
            manifest,
            files,
            tags: entry.repo_tags.clone().unwrap_or_default(),
        })
    }
}

fn malformed(name: &str, reason: String) -> Error {
    Error::Malformed {
        image: name.to_string(),
        what: "archive",
        reason,
    }
}

/// One image of a `docker save` archive.
pub struct DockerArchiveSource {
    /// Keeps the unpacked archive alive while the source is used.
    _dir: Arc<tempfile::TempDir>,
    name: String,
    manifest: Vec<u8>,
    files: HashMap<String, PathBuf>,
    tags: Vec<String>,
}

impl DockerArchiveSource {
    /// Open `file`, choosing the image tagged `reference` (the only one
    /// when `None`).
    pub fn open(file: &Path, reference: Option<&str>) -> Result<DockerArchiveSource> {
        let archive = DockerArchive::open(file)?;
        archive.source(archive.select(reference)?)
    }
}

fn hash_file(path: &Path) -> std::io::Result<(berth_storage::Digest, u64, Compression)> {
    use sha2::Digest as _;
    let mut f = std::fs::File::open(path)?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    let mut magic = Vec::new();
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        if magic.len() < 4 {
            magic.extend_from_slice(&buf[..n.min(4)]);
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    let compression = match magic.as_slice() {
        [0x1f, 0x8b, ..] => Compression::Gzip,
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Compression::Zstd,
        _ => Compression::None,
    };
    let digest = format!("sha256:{:x}", h.finalize())
        .parse()
        .map_err(|e| std::io::Error::other(format!("{e}")))?;
    Ok((digest, size, compression))
}

impl Source for DockerArchiveSource {
    fn describe(&self) -> String {
        self.name.clone()
    }

    fn manifest(&self) -> Result<(Vec<u8>, String)> {
        let mt = manifest::detect_media_type(&self.manifest, None);
        Ok((self.manifest.clone(), mt))
    }

    fn instance(&self, desc: &Descriptor) -> Result<Vec<u8>> {
        Err(Error::NotFound(format!(
            "manifest {} in {}",
            desc.digest, self.name
        )))
    }

    fn blob<'a>(&'a self, desc: &Descriptor) -> Result<Box<dyn Read + Send + 'a>> {
        let path = self
            .files
            .get(desc.digest.as_str())
            .ok_or_else(|| Error::NotFound(format!("blob {} in {}", desc.digest, self.name)))?;
        Ok(Box::new(open_blob_file(path, desc)?))
    }

    fn names(&self) -> Vec<String> {
        self.tags.clone()
    }
}

/// A `docker save` archive being written, with one image or several
/// (`podman save -m`): each is copied in through [`DockerArchiveWriter::image`],
/// a layer they share is stored once, and [`DockerArchiveWriter::finish`]
/// writes `manifest.json` and the file (which appears, by rename, only then).
pub struct DockerArchiveWriter {
    file: PathBuf,
    tmp: tempfile::TempDir,
    entries: Mutex<Vec<ArchiveEntry>>,
}

impl DockerArchiveWriter {
    /// Start an archive that will be written to `file`.
    pub fn create(file: &Path) -> Result<DockerArchiveWriter> {
        let tmp = tempfile::Builder::new()
            .prefix("berth-archive-")
            .tempdir()
            .ctx("create temporary directory for", file)?;
        Ok(DockerArchiveWriter {
            file: file.to_path_buf(),
            tmp,
            entries: Mutex::new(Vec::new()),
        })
    }

    /// A destination for one more image, tagged `tags` (`RepoTags`).
    pub fn image(&self, tags: Vec<String>) -> DockerArchiveImage<&DockerArchiveWriter> {
        DockerArchiveImage {
            writer: self,
            tags,
            finish_on_commit: false,
        }
    }

    fn describe(&self) -> String {
        format!("docker-archive:{}", self.file.display())
    }

    /// Where blob `desc` goes: configs as `<hex>.json`, layers `<hex>.tar`.
    fn blob_path(&self, desc: &Descriptor) -> PathBuf {
        let ext = match desc.media_type.as_str() {
            media::DOCKER_CONFIG | media::OCI_CONFIG => "json",
            _ => "tar",
        };
        self.tmp.path().join(format!("{}.{ext}", desc.digest.hex()))
    }

    fn has_blob(&self, desc: &Descriptor) -> bool {
        std::fs::metadata(self.blob_path(desc)).is_ok_and(|m| m.len() == desc.size)
    }

    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        write_blob_file(&self.blob_path(desc), desc, content)
    }

    /// Add `image`, whose blobs are written, to `manifest.json`; an image
    /// already there (same config) only gains the tags.
    fn add(&self, tags: &[String], image: &ResolvedImage) -> Result<()> {
        let m = &image.manifest;
        let config = format!("{}.json", m.config.digest.hex());
        let cpath = self.tmp.path().join(&config);
        if !cpath.exists() {
            std::fs::write(&cpath, &image.config).ctx("write", &cpath)?;
        }
        let mut entries = crate::registry::lock(&self.entries);
        if let Some(e) = entries.iter_mut().find(|e| e.config == config) {
            let have = e.repo_tags.get_or_insert_with(Vec::new);
            for t in tags {
                if !have.contains(t) {
                    have.push(t.clone());
                }
            }
            return Ok(());
        }
        entries.push(ArchiveEntry {
            config,
            repo_tags: (!tags.is_empty()).then(|| tags.to_vec()),
            layers: m
                .layers
                .iter()
                .map(|l| format!("{}.tar", l.digest.hex()))
                .collect(),
        });
        Ok(())
    }

    /// Write `manifest.json` and pack the archive into its file.
    pub fn finish(&self) -> Result<()> {
        let entries = crate::registry::lock(&self.entries).clone();
        let bytes = serde_json::to_vec(&entries).map_err(|e| Error::Malformed {
            image: format!("docker-archive:{}", self.file.display()),
            what: "archive",
            reason: e.to_string(),
        })?;
        let p = self.tmp.path().join("manifest.json");
        std::fs::write(&p, bytes).ctx("write", &p)?;
        pack_dir(self.tmp.path(), &self.file)
    }
}

/// One image going into a [`DockerArchiveWriter`], borrowed (one of
/// several) or owned ([`DockerArchiveDest`]: the archive of one image,
/// written at commit).
pub struct DockerArchiveImage<W> {
    writer: W,
    tags: Vec<String>,
    finish_on_commit: bool,
}

/// `docker-archive:FILE[:REF]` as a copy destination: an archive of one
/// image.
pub type DockerArchiveDest = DockerArchiveImage<DockerArchiveWriter>;

impl DockerArchiveDest {
    /// Write to `file`, tagging the image `reference`.
    pub fn create(file: &Path, reference: Option<String>) -> Result<DockerArchiveDest> {
        Ok(DockerArchiveImage {
            writer: DockerArchiveWriter::create(file)?,
            tags: reference.into_iter().collect(),
            finish_on_commit: true,
        })
    }
}

impl<W: Borrow<DockerArchiveWriter> + Sync> Dest for DockerArchiveImage<W> {
    fn describe(&self) -> String {
        self.writer.borrow().describe()
    }

    fn required_format(&self) -> Option<Format> {
        Some(Format::Docker)
    }

    fn required_compression(&self) -> Option<Compression> {
        Some(Compression::None)
    }

    fn has_blob(&self, desc: &Descriptor) -> Result<bool> {
        Ok(self.writer.borrow().has_blob(desc))
    }

    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        self.writer.borrow().put_blob(desc, content)
    }

    fn put_manifest(&mut self, _: &[u8], _: &str, image: &ResolvedImage) -> Result<()> {
        self.writer.borrow().add(&self.tags, image)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        if self.finish_on_commit {
            self.writer.borrow().finish()?;
        }
        Ok(())
    }
}
