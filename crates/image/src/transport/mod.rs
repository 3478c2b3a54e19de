//! Transports: where images come from and go to. `docker://` (a registry),
//! `oci:PATH[:REF]`, `oci-archive:FILE[:REF]`, `docker-archive:FILE[:REF]`,
//! `dir:PATH` and berth's storage (`berth:NAME`, or a bare name where a
//! command means local images).

mod archive;
mod dir;
pub mod docker_archive;
mod layout;
mod registry;
mod storage;

pub use layout::image_name;
pub use registry::{RegistryDest, RegistrySource};
pub(crate) use storage::StorageSource;

use crate::context::Context;
use crate::error::{Error, Result};
use crate::manifest::{self, Descriptor, Manifest, Parsed};
use crate::reference::Reference;
use std::io::Read;
use std::path::PathBuf;

/// A parsed transport reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    /// `docker://REF`: a registry; short names resolve through the search
    /// registries.
    Docker(String),
    /// `oci:PATH[:REF]`.
    Oci {
        /// The layout directory.
        path: PathBuf,
        /// The `org.opencontainers.image.ref.name` to use.
        reference: Option<String>,
    },
    /// `oci-archive:FILE[:REF]`.
    OciArchive {
        /// The tar file.
        path: PathBuf,
        /// The ref name inside.
        reference: Option<String>,
    },
    /// `docker-archive:FILE[:REF]` (the `docker save` format).
    DockerArchive {
        /// The tar file.
        path: PathBuf,
        /// `name:tag` inside (source) or to record (destination).
        reference: Option<String>,
    },
    /// `dir:PATH`.
    Dir(PathBuf),
    /// `berth:NAME` (also `containers-storage:NAME`): berth's own storage.
    Storage(String),
}

fn split_path_ref(rest: &str) -> (PathBuf, Option<String>) {
    match rest.split_once(':') {
        Some((p, r)) if !r.is_empty() => (PathBuf::from(p), Some(r.to_string())),
        Some((p, _)) => (PathBuf::from(p), None),
        None => (PathBuf::from(rest), None),
    }
}

impl ImageRef {
    /// Parse `transport:rest`. A text without a known transport prefix is
    /// `bare_default` applied to it, or an error when that is `None`.
    pub fn parse(text: &str, bare_default: Option<fn(&str) -> ImageRef>) -> Result<ImageRef> {
        let bad = |reason: &str| Error::InvalidTransport {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = text.strip_prefix("docker://") {
            return Ok(ImageRef::Docker(rest.to_string()));
        }
        let Some((transport, rest)) = text.split_once(':') else {
            return bare_default
                .map(|f| f(text))
                .ok_or_else(|| bad("expected TRANSPORT:NAME (docker://, oci:, oci-archive:, docker-archive:, dir:, berth:)"));
        };
        if rest.is_empty() {
            return Err(bad("empty name"));
        }
        Ok(match transport {
            "oci" => {
                let (path, reference) = split_path_ref(rest);
                ImageRef::Oci { path, reference }
            }
            "oci-archive" => {
                let (path, reference) = split_path_ref(rest);
                ImageRef::OciArchive { path, reference }
            }
            "docker-archive" => {
                // The reference may itself contain a ':' (name:tag).
                match rest.split_once(':') {
                    Some((p, r)) if !r.is_empty() => ImageRef::DockerArchive {
                        path: p.into(),
                        reference: Some(r.to_string()),
                    },
                    _ => ImageRef::DockerArchive {
                        path: rest.trim_end_matches(':').into(),
                        reference: None,
                    },
                }
            }
            "dir" => ImageRef::Dir(rest.into()),
            "berth" | "containers-storage" => ImageRef::Storage(rest.to_string()),
            _ => match bare_default {
                // `host:5000/repo` or `name:tag` without a transport.
                Some(f) => f(text),
                None => return Err(bad(&format!("unknown transport {transport:?}"))),
            },
        })
    }
}

/// A source of one image (or an index of images).
pub trait Source: Sync {
    /// A name for messages (`docker://…`, `oci:…`).
    fn describe(&self) -> String;
    /// The top-level manifest or index: bytes and media type.
    fn manifest(&self) -> Result<(Vec<u8>, String)>;
    /// An image manifest listed by the top-level index.
    fn instance(&self, desc: &Descriptor) -> Result<Vec<u8>>;
    /// A verified stream of blob `desc`: it fails at its end unless size and
    /// digest matched.
    fn blob<'a>(&'a self, desc: &Descriptor) -> Result<Box<dyn Read + Send + 'a>>;
    /// Names the source knows the image by (docker-archive's RepoTags).
    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The manifest format a destination needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OCI media types.
    Oci,
    /// Docker schema 2 media types.
    Docker,
}

/// A destination for one image.
pub trait Dest: Sync {
    /// A name for messages.
    fn describe(&self) -> String;
    /// The manifest format it requires, if any.
    fn required_format(&self) -> Option<Format> {
        None
    }
    /// The layer compression it requires, if any.
    fn required_compression(&self) -> Option<manifest::Compression> {
        None
    }
    /// Whether an uncompressed layer is gzip-compressed on its way in when
    /// no compression was asked for, as containers/image does for
    /// registries and OCI layouts (and so skopeo and podman, e.g. for an
    /// image out of storage); `dir:` keeps layers as they come.
    fn compresses_plain_layers(&self) -> bool {
        false
    }
    /// Whether it already has blob `desc`.
    fn has_blob(&self, desc: &Descriptor) -> Result<bool>;
    /// Store blob `desc` from `content`, verifying it.
    fn put_blob(&self, desc: &Descriptor, content: &mut dyn Read) -> Result<()>;
    /// Store the image manifest, after all its blobs.
    fn put_manifest(&mut self, bytes: &[u8], media_type: &str, image: &ResolvedImage)
        -> Result<()>;
    /// Finish (write the index, the archive, …).
    fn commit(self: Box<Self>) -> Result<()>;
}

/// One platform's image, read from a source: manifest and config.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The manifest bytes.
    pub manifest_bytes: Vec<u8>,
    /// Its media type.
    pub media_type: String,
    /// Its digest.
    pub digest: berth_storage::Digest,
    /// The parsed manifest.
    pub manifest: Manifest,
    /// The config bytes.
    pub config: Vec<u8>,
    /// The top-level index's digest, when the image came from one.
    pub index_digest: Option<berth_storage::Digest>,
}

impl ResolvedImage {
    /// The parsed config.
    pub fn config_json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.config).unwrap_or(serde_json::Value::Null)
    }

    /// The config's `rootfs.diff_ids`.
    pub fn diff_ids(&self, image: &str) -> Result<Vec<berth_storage::Digest>> {
        let config = crate::image_config::parse(image, &self.config)?;
        crate::image_config::diff_ids(image, &config)
    }
}

/// Read the image for `platform` from `source`: the manifest (choosing
/// from an index), and the config, verified.
pub fn resolve(source: &dyn Source, platform: &crate::Platform) -> Result<ResolvedImage> {
    let name = source.describe();
    let (bytes, media_type) = source.manifest()?;
    let (bytes, media_type, parsed, index_digest) =
        match manifest::parse(&bytes, &media_type, &name)? {
            Parsed::Index(index) => {
                let desc = manifest::choose_platform(&index, platform, &name)?.clone();
                let inner = source.instance(&desc)?;
                let actual = berth_storage::Digest::of(&inner);
                if actual != desc.digest {
                    return Err(Error::DigestMismatch {
                        what: "manifest",
                        expected: desc.digest.to_string(),
                        actual: actual.to_string(),
                    });
                }
                let mt = manifest::detect_media_type(&inner, Some(&desc.media_type));
                let parsed = manifest::parse(&inner, &mt, &name)?;
                (inner, mt, parsed, Some(berth_storage::Digest::of(&bytes)))
            }
            p => (bytes, media_type, p, None),
        };
    let Parsed::Manifest(m) = parsed else {
        return Err(Error::Malformed {
            image: name,
            what: "index",
            reason: "an index inside an index is not supported".into(),
        });
    };
    let mut config = Vec::new();
    source
        .blob(&m.config)?
        .read_to_end(&mut config)
        .map_err(|e| crate::registry::blob_error(e, &m.config.digest))?;
    Ok(ResolvedImage {
        digest: berth_storage::Digest::of(&bytes),
        manifest_bytes: bytes,
        media_type,
        manifest: m,
        config,
        index_digest,
    })
}

/// Open `r` as a source, with no signature policy check: [`crate::copy`]
/// and [`crate::pull`] check it first.
pub fn open_source<'a>(
    ctx: &'a Context,
    r: &ImageRef,
    store: Option<&'a berth_storage::Store>,
) -> Result<Box<dyn Source + 'a>> {
    Ok(match r {
        ImageRef::Docker(name) => Box::new(RegistrySource::open(ctx, name)?),
        ImageRef::Oci { path, reference } => {
            Box::new(layout::LayoutSource::open(path, reference.as_deref())?)
        }
        ImageRef::OciArchive { path, reference } => {
            Box::new(archive::open_oci_archive(path, reference.as_deref())?)
        }
        ImageRef::DockerArchive { path, reference } => Box::new(
            docker_archive::DockerArchiveSource::open(path, reference.as_deref())?,
        ),
        ImageRef::Dir(path) => Box::new(dir::DirSource::open(path)?),
        ImageRef::Storage(name) => {
            let store = store.ok_or_else(|| Error::Unsupported {
                transport: "berth",
                reason: "no storage opened".into(),
            })?;
            Box::new(StorageSource::open(store, name)?)
        }
    })
}

/// Open `r` as a destination (not storage: see [`crate::pull`]).
pub fn open_dest<'a>(ctx: &'a Context, r: &ImageRef) -> Result<Box<dyn Dest + 'a>> {
    Ok(match r {
        ImageRef::Docker(name) => {
            let reference = crate::resolve_push_name(ctx, name)?;
            Box::new(RegistryDest::open(ctx, &reference)?)
        }
        ImageRef::Oci { path, reference } => {
            Box::new(layout::LayoutDest::create(path, reference.clone(), None)?)
        }
        ImageRef::OciArchive { path, reference } => {
            Box::new(archive::oci_archive_dest(path, reference.clone())?)
        }
        ImageRef::DockerArchive { path, reference } => Box::new(
            docker_archive::DockerArchiveDest::create(path, reference.clone())?,
        ),
        ImageRef::Dir(path) => Box::new(dir::DirDest::create(path)?),
        ImageRef::Storage(_) => {
            return Err(Error::Unsupported {
                transport: "berth",
                reason: "storage is written by the pull path".into(),
            })
        }
    })
}

/// A qualified reference for `name` as a push destination.
pub(crate) fn qualify(ctx: &Context, name: &str) -> Result<Reference> {
    let cands = ctx.conf.candidates(name)?;
    match cands.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(Error::ShortName {
            name: name.into(),
            reason: format!(
                "is ambiguous: it could be any of {}; use a fully qualified name",
                cands
                    .iter()
                    .map(|c| c.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_references() {
        let docker = |s: &str| ImageRef::Docker(s.to_string());
        assert_eq!(
            ImageRef::parse("oci:/tmp/l:v1", None).unwrap(),
            ImageRef::Oci {
                path: "/tmp/l".into(),
                reference: Some("v1".into())
            }
        );
        assert_eq!(
            ImageRef::parse("docker-archive:/x.tar:busybox:1", None).unwrap(),
            ImageRef::DockerArchive {
                path: "/x.tar".into(),
                reference: Some("busybox:1".into())
            }
        );
        assert_eq!(
            ImageRef::parse("docker://127.0.0.1:5000/a:b", None).unwrap(),
            docker("127.0.0.1:5000/a:b")
        );
        assert_eq!(
            ImageRef::parse("berth:busybox", None).unwrap(),
            ImageRef::Storage("busybox".into())
        );
        let bare: fn(&str) -> ImageRef = |s| ImageRef::Storage(s.to_string());
        assert_eq!(
            ImageRef::parse("localhost:5000/x:1", Some(bare)).unwrap(),
            ImageRef::Storage("localhost:5000/x:1".into())
        );
        assert!(ImageRef::parse("nope:x", None).is_err());
    }
}
