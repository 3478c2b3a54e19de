//! Tar archives of images: `oci-archive:` (a tarred OCI layout) and
//! `docker-archive:` (the `docker save` format: `manifest.json` listing a
//! config and uncompressed layer tars). Archives are unpacked to a
//! temporary directory to read, and packed from one to write; the file
//! appears (by rename) only when complete.

use super::layout::{LayoutDest, LayoutSource};
use super::{Dest, Format, ResolvedImage, Source};
use crate::error::{Error, IoContext, Result};
use crate::manifest::{self, media, Compression, Descriptor, Manifest};
use crate::verify::{open_blob_file, write_blob_file};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

fn unpack(file: &Path, what: &str) -> Result<tempfile::TempDir> {
    let tmp = tempfile::Builder::new()
        .prefix("berth-archive-")
        .tempdir()
        .ctx("create temporary directory for", file)?;
    let f = std::fs::File::open(file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!("{what} {}", file.display()))
        } else {
            Error::Io {
                op: "open",
                path: file.to_path_buf(),
                source: e,
            }
        }
    })?;
    let mut ar = tar::Archive::new(std::io::BufReader::new(f));
    ar.set_preserve_permissions(false);
    // `unpack` refuses entries that would land outside the directory.
    ar.unpack(tmp.path()).map_err(|e| Error::Malformed {
        image: format!("{what}:{}", file.display()),
        what: "archive",
        reason: e.to_string(),
    })?;
    Ok(tmp)
}

/// Tar the contents of `dir` into `file` (via a temporary file and rename).
pub(crate) fn pack_dir(dir: &Path, file: &Path) -> Result<()> {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).ctx("create", parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-archive-")
        .tempfile_in(parent)
        .ctx("create temporary file in", parent)?;
    let mut b = tar::Builder::new(std::io::BufWriter::new(tmp.as_file()));
    b.mode(tar::HeaderMode::Deterministic);
    b.follow_symlinks(false);
    let mut entries: Vec<PathBuf> = Vec::new();
    collect(dir, dir, &mut entries)?;
    entries.sort();
    for rel in entries {
        let full = dir.join(&rel);
        if full.is_dir() {
            b.append_dir(&rel, &full).ctx("archive", &full)?;
        } else {
            let mut f = std::fs::File::open(&full).ctx("open", &full)?;
            b.append_file(&rel, &mut f).ctx("archive", &full)?;
        }
    }
    let w = b.into_inner().ctx("finish", file)?;
    drop(w);
    tmp.persist(file)
        .map_err(|e| e.error)
        .ctx("rename to", file)?;
    Ok(())
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).ctx("read directory", dir)? {
        let e = e.ctx("read directory", dir)?;
        let path = e.path();
        let rel = path.strip_prefix(base).unwrap_or(&path).to_path_buf();
        if e.file_type().ctx("stat", &path)?.is_dir() {
            out.push(rel);
            collect(base, &path, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Open an `oci-archive:` file.
pub(crate) fn open_oci_archive(file: &Path, reference: Option<&str>) -> Result<LayoutSource> {
    let tmp = unpack(file, "oci-archive")?;
    let mut src = LayoutSource::open(tmp.path(), reference).map_err(|e| match e {
        Error::NotFound(what) => {
            Error::NotFound(format!("{what} in oci-archive:{}", file.display()))
        }
        e => e,
    })?;
    src._tmp = Some(tmp);
    Ok(src)
}

/// Write an `oci-archive:` file.
pub(crate) fn oci_archive_dest(file: &Path, reference: Option<String>) -> Result<LayoutDest> {
    let tmp = tempfile::Builder::new()
        .prefix("berth-archive-")
        .tempdir()
        .ctx("create temporary directory for", file)?;
    let root = tmp.path().to_path_buf();
    LayoutDest::create(&root, reference, Some((file.to_path_buf(), tmp)))
}

#[derive(serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct ArchiveEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// An image in a `docker save` archive, presented as a docker schema 2
/// manifest synthesized from its `manifest.json`.
pub struct DockerArchiveSource {
    tmp: tempfile::TempDir,
    name: String,
    manifest: Vec<u8>,
    files: HashMap<String, PathBuf>,
    tags: Vec<String>,
}

impl DockerArchiveSource {
    /// Open `file`, choosing the image tagged `reference` (the only one
    /// when `None`).
    pub fn open(file: &Path, reference: Option<&str>) -> Result<DockerArchiveSource> {
        let name = format!("docker-archive:{}", file.display());
        let tmp = unpack(file, "docker-archive")?;
        let malformed = |reason: String| Error::Malformed {
            image: name.clone(),
            what: "archive",
            reason,
        };
        let mpath = tmp.path().join("manifest.json");
        let bytes = std::fs::read(&mpath).map_err(|_| malformed("no manifest.json".into()))?;
        let entries: Vec<ArchiveEntry> =
            serde_json::from_slice(&bytes).map_err(|e| malformed(format!("manifest.json: {e}")))?;
        let entry = match reference {
            Some(r) => entries
                .iter()
                .find(|e| {
                    e.repo_tags.iter().flatten().any(|t| {
                        t == r
                            || crate::reference::ParsedName::parse(t)
                                .ok()
                                .zip(crate::reference::ParsedName::parse(r).ok())
                                .is_some_and(|(a, b)| {
                                    a.repository.trim_start_matches("library/")
                                        == b.repository.trim_start_matches("library/")
                                        && a.tag == b.tag
                                })
                    })
                })
                .ok_or_else(|| Error::NotFound(format!("image {r:?} in {name}")))?,
            None => match entries.as_slice() {
                [one] => one,
                [] => return Err(malformed("manifest.json lists no image".into())),
                _ => return Err(Error::InvalidTransport {
                    reference: name,
                    reason:
                        "the archive holds several images; name one (docker-archive:FILE:NAME:TAG)"
                            .into(),
                }),
            },
        };
        let inside = |rel: &str| -> Result<PathBuf> {
            if rel.starts_with('/') || rel.split('/').any(|c| c == "..") {
                return Err(malformed(format!("path {rel:?} leaves the archive")));
            }
            Ok(tmp.path().join(rel))
        };
        let mut files = HashMap::new();
        let config_path = inside(&entry.config)?;
        let config_bytes = std::fs::read(&config_path)
            .map_err(|e| malformed(format!("config {}: {e}", entry.config)))?;
        let config = Descriptor::of(media::DOCKER_CONFIG, &config_bytes);
        files.insert(config.digest.to_string(), config_path);
        let mut layers = Vec::new();
        let mut any_zstd = false;
        for l in &entry.layers {
            let path = inside(l)?;
            let (digest, size, compression) =
                hash_file(&path).map_err(|e| malformed(format!("layer {l}: {e}")))?;
            any_zstd |= compression == Compression::Zstd;
            layers.push((digest, size, compression));
            files.insert(layers[layers.len() - 1].0.to_string(), path);
        }
        let oci = any_zstd;
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
        let manifest = serde_json::to_vec(&manifest).map_err(|e| malformed(e.to_string()))?;
        Ok(DockerArchiveSource {
            tmp,
            name,
            manifest,
            files,
            tags: entry.repo_tags.clone().unwrap_or_default(),
        })
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
        let _ = &self.tmp;
        Ok(Box::new(open_blob_file(path, desc)?))
    }

    fn names(&self) -> Vec<String> {
        self.tags.clone()
    }
}

/// Writing a `docker save` archive: uncompressed layers `<hex>.tar`, the
/// config `<hex>.json` and `manifest.json`.
pub struct DockerArchiveDest {
    file: PathBuf,
    tmp: tempfile::TempDir,
    reference: Option<String>,
}

impl DockerArchiveDest {
    /// Write to `file`, tagging the image `reference`.
    pub fn create(file: &Path, reference: Option<String>) -> Result<DockerArchiveDest> {
        let tmp = tempfile::Builder::new()
            .prefix("berth-archive-")
            .tempdir()
            .ctx("create temporary directory for", file)?;
        Ok(DockerArchiveDest {
            file: file.to_path_buf(),
            tmp,
            reference,
        })
    }
}

impl Dest for DockerArchiveDest {
    fn describe(&self) -> String {
        format!("docker-archive:{}", self.file.display())
    }

    fn required_format(&self) -> Option<Format> {
        Some(Format::Docker)
    }

    fn required_compression(&self) -> Option<Compression> {
        Some(Compression::None)
    }

    fn has_blob(&self, _: &Descriptor) -> Result<bool> {
        Ok(false)
    }

    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()> {
        write_blob_file(&self.tmp.path().join(desc.digest.hex()), desc, content)
    }

    fn put_manifest(&mut self, _: &[u8], _: &str, image: &ResolvedImage) -> Result<()> {
        let dir = self.tmp.path();
        let rename = |hex: &str, to: &str| -> Result<()> {
            let from = dir.join(hex);
            if from.exists() {
                std::fs::rename(&from, dir.join(to)).ctx("rename", &from)?;
            }
            Ok(())
        };
        let m = &image.manifest;
        let config = format!("{}.json", m.config.digest.hex());
        // The config was written by put_blob before the manifest.
        let cpath = dir.join(&config);
        if !cpath.exists() {
            std::fs::write(&cpath, &image.config).ctx("write", &cpath)?;
        }
        rename(m.config.digest.hex(), &config)?;
        let mut layers = Vec::new();
        for l in &m.layers {
            let name = format!("{}.tar", l.digest.hex());
            rename(l.digest.hex(), &name)?;
            layers.push(name);
        }
        let entry = ArchiveEntry {
            config,
            repo_tags: self.reference.clone().map(|r| vec![r]),
            layers,
        };
        let bytes = serde_json::to_vec(&[entry]).map_err(|e| Error::Malformed {
            image: self.describe(),
            what: "archive",
            reason: e.to_string(),
        })?;
        let p = dir.join("manifest.json");
        std::fs::write(&p, bytes).ctx("write", &p)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        pack_dir(self.tmp.path(), &self.file)
    }
}
