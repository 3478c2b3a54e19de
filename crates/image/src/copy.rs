//! Copying an image between two transports, like `skopeo copy`: blobs the
//! destination has are skipped, the others stream through in parallel, and
//! the manifest goes last. With nothing to convert the manifest's bytes —
//! and so the image's digest — are kept; converting media types (docker ↔
//! OCI) or recompressing layers (gzip ↔ zstd) rewrites it.

use crate::error::{Error, IoContext, Result};
use crate::manifest::{self, media, Compression, Descriptor};
use crate::progress::{Counting, Progress};
use crate::transport::{Dest, Format, ResolvedImage, Source};
use sha2::{Digest as _, Sha256};
use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// What a copy may change.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Write the manifest in this format.
    pub format: Option<Format>,
    /// Recompress layers to this.
    pub compression: Option<Compression>,
}

/// What a copy did.
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// The digest of the manifest written.
    pub digest: berth_storage::Digest,
    /// Whether the manifest had to be rewritten.
    pub converted: bool,
}

/// Copy `image` (read from `source`) to `dest`.
pub fn copy_image(
    source: &dyn Source,
    image: &ResolvedImage,
    mut dest: Box<dyn Dest + '_>,
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<CopyReport> {
    let src_oci = image.media_type == media::OCI_MANIFEST;
    let format = opts
        .format
        .or(dest.required_format())
        .unwrap_or(if src_oci { Format::Oci } else { Format::Docker });
    let oci = format == Format::Oci;
    let compression = opts.compression.or(dest.required_compression());
    if !oci && compression == Some(Compression::Zstd) {
        return Err(Error::Unsupported {
            transport: "docker",
            reason: "docker manifests cannot carry zstd layers; use --format oci".into(),
        });
    }
    let mut m = image.manifest.clone();
    let mut converted = oci != src_oci;
    // Which layers need recompressing.
    let mut plan = Vec::new();
    for l in &m.layers {
        let have = manifest::layer_compression(&l.media_type).ok_or_else(|| {
            Error::UnsupportedMediaType {
                image: source.describe(),
                media_type: l.media_type.clone(),
            }
        })?;
        let want = compression.unwrap_or(
            if have == Compression::None && dest.compresses_plain_layers() {
                Compression::Gzip
            } else {
                have
            },
        );
        if want == Compression::Zstd && !oci {
            return Err(Error::Unsupported {
                transport: "docker",
                reason: format!(
                    "layer {} is zstd; a docker manifest cannot name it",
                    l.digest
                ),
            });
        }
        plan.push((have, want));
        converted |= have != want;
    }
    // Config first (small), then layers in parallel.
    let config_desc = Descriptor {
        media_type: if oci {
            media::OCI_CONFIG
        } else {
            media::DOCKER_CONFIG
        }
        .into(),
        ..m.config.clone()
    };
    if !dest.has_blob(&config_desc)? {
        dest.put_blob(&config_desc, &mut &image.config[..])?;
    }
    let new_layers: Mutex<Vec<Option<Descriptor>>> = Mutex::new(vec![None; m.layers.len()]);
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let dest_ref: &dyn Dest = &*dest;
    let workers = crate::pull::PARALLEL_LAYERS.min(m.layers.len()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= m.layers.len() || crate::registry::lock(&failure).is_some() {
                    return;
                }
                let (have, want) = plan[i];
                let r = copy_layer(source, dest_ref, &m.layers[i], have, want, oci, progress);
                match r {
                    Ok(d) => crate::registry::lock(&new_layers)[i] = Some(d),
                    Err(e) => {
                        crate::registry::lock(&failure).get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let layers: Vec<Descriptor> = new_layers
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .flatten()
        .collect();
    let (bytes, media_type) = if converted {
        m.layers = layers;
        m.config = config_desc;
        m.media_type = Some(
            if oci {
                media::OCI_MANIFEST
            } else {
                media::DOCKER_MANIFEST
            }
            .into(),
        );
        let bytes = serde_json::to_vec(&m).map_err(|e| Error::Malformed {
            image: source.describe(),
            what: "manifest",
            reason: e.to_string(),
        })?;
        (bytes, m.media_type.clone().unwrap_or_default())
    } else {
        (image.manifest_bytes.clone(), image.media_type.clone())
    };
    progress.message("Writing manifest to image destination");
    let written = ResolvedImage {
        manifest: m,
        manifest_bytes: bytes.clone(),
        media_type: media_type.clone(),
        digest: berth_storage::Digest::of(&bytes),
        config: image.config.clone(),
        index_digest: None,
    };
    dest.put_manifest(&bytes, &media_type, &written)?;
    dest.commit()?;
    Ok(CopyReport {
        digest: written.digest,
        converted,
    })
}

fn copy_layer(
    source: &dyn Source,
    dest: &dyn Dest,
    desc: &Descriptor,
    have: Compression,
    want: Compression,
    oci: bool,
    progress: &dyn Progress,
) -> Result<Descriptor> {
    let media_type = want
        .layer_media_type(oci)
        .ok_or_else(|| Error::Unsupported {
            transport: "docker",
            reason: "zstd layers need an OCI manifest".into(),
        })?
        .to_string();
    if have == want {
        let out = Descriptor {
            media_type,
            ..desc.clone()
        };
        if dest.has_blob(&out)? {
            progress.finish(desc, true);
            return Ok(out);
        }
        progress.start(desc);
        let mut r = Counting {
            inner: source.blob(desc)?,
            desc,
            progress,
        };
        dest.put_blob(&out, &mut r)?;
        progress.finish(desc, false);
        return Ok(out);
    }
    // Recompress through a temporary file: the new digest is known only
    // once the whole blob is written, and the manifest must name it.
    progress.start(desc);
    let tmp = tempfile::tempfile().ctx("create temporary file in", std::env::temp_dir())?;
    let mut hashing = HashWriter {
        inner: std::io::BufWriter::new(tmp),
        hasher: Sha256::new(),
        size: 0,
    };
    let input = Counting {
        inner: source.blob(desc)?,
        desc,
        progress,
    };
    let mut plain: Box<dyn Read> = match have {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(
            zstd::stream::read::Decoder::new(input)
                .map_err(|e| crate::registry::blob_error(e, &desc.digest))?,
        ),
    };
    let io_err = |e: std::io::Error| crate::registry::blob_error(e, &desc.digest);
    match want {
        Compression::None => {
            std::io::copy(&mut plain, &mut hashing).map_err(io_err)?;
        }
        Compression::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(&mut hashing, flate2::Compression::new(6));
            std::io::copy(&mut plain, &mut enc).map_err(io_err)?;
            enc.finish().map_err(io_err)?;
        }
        Compression::Zstd => {
            let mut enc = zstd::stream::write::Encoder::new(&mut hashing, 3).map_err(io_err)?;
            std::io::copy(&mut plain, &mut enc).map_err(io_err)?;
            enc.finish().map_err(io_err)?;
        }
    }
    drop(plain);
    hashing.flush().map_err(io_err)?;
    let digest: berth_storage::Digest = format!("sha256:{:x}", hashing.hasher.finalize())
        .parse()
        .map_err(Error::Storage)?;
    let out = Descriptor {
        media_type,
        digest,
        size: hashing.size,
        platform: None,
        annotations: desc.annotations.clone(),
        urls: None,
    };
    let mut file = hashing
        .inner
        .into_inner()
        .map_err(|e| io_err(e.into_error()))?;
    use std::io::Seek as _;
    file.seek(std::io::SeekFrom::Start(0)).map_err(io_err)?;
    if !dest.has_blob(&out)? {
        dest.put_blob(&out, &mut file)?;
    }
    progress.finish(desc, false);
    Ok(out)
}

struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
}

impl<W: Write> Write for HashWriter<W> {
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
