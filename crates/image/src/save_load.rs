//! `save` and `load` as podman does them: several images into one
//! docker-archive, and every image of an archive (or layout, or `dir:`)
//! into storage, its format told by what it holds.

use crate::context::Context;
use crate::copy::CopyOptions;
use crate::error::{Error, IoContext, Result};
use crate::local::local_name;
use crate::progress::Progress;
use crate::transport::docker_archive::{DockerArchive, DockerArchiveWriter};
use crate::transport::{self, Format, ImageRef, Source, StorageSource};
use berth_storage::{Image, Store};
use std::path::Path;

/// Write images of `store` to one docker-archive at `file`, each given as
/// (name or id, its `RepoTags`), like `podman save -m`. Their layers keep
/// their diff ids, and so each image its id; a layer two images share is
/// written once, and an image named twice gets both tags.
pub fn save_docker_archive(
    ctx: &Context,
    store: &Store,
    images: &[(String, Vec<String>)],
    file: &Path,
    progress: &dyn Progress,
) -> Result<()> {
    let writer = DockerArchiveWriter::create(file)?;
    let opts = CopyOptions {
        format: Some(Format::Docker),
        compression: None,
    };
    for (key, tags) in images {
        let source = StorageSource::open(store, key)?;
        let image = transport::resolve(&source, &ctx.platform)?;
        let dest = Box::new(writer.image(tags.clone()));
        crate::copy::copy_image(&source, &image, dest, &opts, progress)?;
    }
    writer.finish()
}

/// An image [`load`] stored, with the names this load gave it (it may
/// have had others before).
#[derive(Debug)]
pub struct Loaded {
    /// The image in storage.
    pub image: Image,
    /// The names it was loaded under; empty for an image without one.
    pub names: Vec<String>,
}

/// What `path` holds, as `podman load` finds out: an OCI layout or a
/// `dir:` directory, or a tar file of an OCI layout (`oci-archive`) or
/// else a `docker save` archive.
pub fn detect_archive(path: &Path) -> Result<ImageRef> {
    let meta = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!("archive {}", path.display()))
        } else {
            Error::Io {
                op: "stat",
                path: path.to_path_buf(),
                source: e,
            }
        }
    })?;
    if meta.is_dir() {
        return Ok(if path.join("index.json").is_file() {
            ImageRef::Oci {
                path: path.to_path_buf(),
                reference: None,
            }
        } else {
            ImageRef::Dir(path.to_path_buf())
        });
    }
    Ok(if tar_has(path, "index.json")? {
        ImageRef::OciArchive {
            path: path.to_path_buf(),
            reference: None,
        }
    } else {
        ImageRef::DockerArchive {
            path: path.to_path_buf(),
            reference: None,
        }
    })
}

/// Whether the tar file `file` has an entry `name` at its top. A file
/// that is no tar at all has none: reading it as a docker-archive then
/// says what is wrong.
fn tar_has(file: &Path, name: &str) -> Result<bool> {
    let f = std::fs::File::open(file).ctx("open", file)?;
    let mut ar = tar::Archive::new(std::io::BufReader::new(f));
    let Ok(entries) = ar.entries() else {
        return Ok(false);
    };
    for e in entries {
        let Ok(e) = e else {
            return Ok(false);
        };
        let path = e.path_bytes();
        let path = path.strip_prefix(b"./").unwrap_or(&path);
        if path == name.as_bytes() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Load every image `path` holds into `store` (`podman load`), named by
/// the archive (`RepoTags`, or the OCI ref name when it is a full name:
/// [`crate::transport::image_name`]). The signature policy is checked
/// first.
pub fn load(
    ctx: &Context,
    store: &Store,
    path: &Path,
    progress: &dyn Progress,
) -> Result<Vec<Loaded>> {
    let r = detect_archive(path)?;
    check_policy(ctx, &r)?;
    if !matches!(r, ImageRef::DockerArchive { .. }) {
        let source = transport::open_source(ctx, &r, Some(store))?;
        return Ok(vec![store_image(ctx, store, source.as_ref(), progress)?]);
    }
    let archive = DockerArchive::open(path)?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let source = archive.source(i)?;
        out.push(store_image(ctx, store, &source, progress)?);
    }
    Ok(out)
}

fn check_policy(ctx: &Context, r: &ImageRef) -> Result<()> {
    match crate::policy::PolicyImage::for_ref(r) {
        Some(image) => ctx.policy()?.check(&image),
        None => Ok(()),
    }
}

fn store_image(
    ctx: &Context,
    store: &Store,
    source: &dyn Source,
    progress: &dyn Progress,
) -> Result<Loaded> {
    let image = transport::resolve(source, &ctx.platform)?;
    let names = source
        .names()
        .iter()
        .map(|n| local_name(n))
        .collect::<Result<Vec<_>>>()?;
    let stored = crate::pull::into_storage(source, &image, store, names.clone(), progress)?;
    Ok(Loaded {
        image: stored,
        names,
    })
}
