//! Pushing an image from storage with its original digests, as
//! containers/image does with its blob-info cache. Storage keeps each
//! layer unpacked, not its blob, but it keeps the manifest and config
//! byte for byte, and so the digests of the compressed blobs the layers
//! came from. When the destination registry already has each of those
//! blobs (HEAD), or can mount it from a repository of the same registry
//! the image is known under (its names in storage), the stored manifest is
//! pushed verbatim and only the config is uploaded if missing: the image
//! keeps its manifest digest. When any layer blob is not available there,
//! the caller falls back to recreating the layers from their diffs.

use crate::context::Context;
use crate::copy::{CopyOptions, CopyReport};
use crate::error::Result;
use crate::manifest::{self, media, Parsed};
use crate::progress::Progress;
use crate::reference::{ParsedName, Reference};
use crate::transport::{Dest, Format, RegistryDest, ResolvedImage};
use berth_storage::{Digest, Store};

/// The registry identity of `host[:port]`: loopback names (`localhost`,
/// `127.0.0.1`, `[::1]`) of one port are one registry.
fn registry_identity(host: &str) -> String {
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (n, Some(p)),
        _ => (host, None),
    };
    let name = name.to_ascii_lowercase();
    let name = match name.as_str() {
        "localhost" | "127.0.0.1" | "[::1]" | "::1" => "loopback",
        other => other,
    };
    match port {
        Some(p) => format!("{name}:{p}"),
        None => name.to_string(),
    }
}

/// Whether `a` and `b` name the same registry.
pub(crate) fn same_registry(a: &str, b: &str) -> bool {
    registry_identity(a) == registry_identity(b)
}

/// Repositories of `dest`'s registry the image is known under (its names,
/// through registries.conf rewrites), other than `dest`'s own.
fn mount_candidates(ctx: &Context, names: &[String], dest: &Reference) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let Some(r) = ParsedName::parse(n).ok().and_then(|p| p.qualified()) else {
            continue;
        };
        let Ok(ep) = ctx.push_endpoint(&r) else {
            continue;
        };
        let r = ep.reference;
        if same_registry(&r.registry, &dest.registry)
            && r.repository != dest.repository
            && !out.contains(&r.repository)
        {
            out.push(r.repository);
        }
    }
    out
}

/// Push image `key` of `store` to registry reference `name` with its
/// stored manifest, when the options ask for nothing that would change it
/// and every layer blob is available at the destination. `Ok(None)` when
/// it cannot be done that way (the caller recreates the blobs).
pub(crate) fn push_stored_verbatim(
    ctx: &Context,
    store: &Store,
    key: &str,
    name: &str,
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<Option<CopyReport>> {
    let image = store.image(key)?;
    let manifest_bytes = store.image_manifest(&image.id)?;
    let config = store.image_config(&image.id)?;
    let what = format!("berth:{key}");
    let media_type = manifest::detect_media_type(&manifest_bytes, None);
    let m = match manifest::parse(&manifest_bytes, &media_type, &what) {
        Ok(Parsed::Manifest(m)) => m,
        _ => return Ok(None),
    };
    if m.config.digest != Digest::of(&config) {
        return Ok(None);
    }
    let oci = media_type == media::OCI_MANIFEST;
    match opts.format {
        Some(Format::Oci) if !oci => return Ok(None),
        Some(Format::Docker) if oci => return Ok(None),
        _ => {}
    }
    for l in &m.layers {
        let Some(have) = manifest::layer_compression(&l.media_type) else {
            return Ok(None);
        };
        if opts.compression.is_some_and(|want| want != have) {
            return Ok(None);
        }
    }
    let reference = crate::resolve_push_name(ctx, name)?;
    let mut dest = RegistryDest::open(ctx, &reference)?;
    let candidates = mount_candidates(ctx, &image.names, dest.reference());
    for l in &m.layers {
        if !dest.has_or_mount(l, &candidates) {
            tracing::debug!(blob = %l.digest, dest = %dest.describe(),
                "layer blob not available at the destination; recreating the layers");
            return Ok(None);
        }
    }
    for l in &m.layers {
        progress.finish(l, true);
    }
    if dest.has_blob(&m.config)? {
        progress.finish(&m.config, true);
    } else {
        progress.start(&m.config);
        dest.put_blob(&m.config, &mut &config[..])?;
        progress.finish(&m.config, false);
    }
    progress.message("Writing manifest to image destination");
    let digest = Digest::of(&manifest_bytes);
    let written = ResolvedImage {
        manifest: m,
        manifest_bytes: manifest_bytes.clone(),
        media_type: media_type.clone(),
        digest: digest.clone(),
        config,
        index_digest: None,
    };
    dest.put_manifest(&manifest_bytes, &media_type, &written)?;
    Ok(Some(CopyReport {
        digest,
        converted: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::same_registry;

    #[test]
    fn loopback_names_are_one_registry() {
        assert!(same_registry("localhost:5000", "127.0.0.1:5000"));
        assert!(same_registry("[::1]:5000", "LOCALHOST:5000"));
        assert!(!same_registry("localhost:5000", "127.0.0.1:5001"));
        assert!(same_registry("quay.io", "quay.io"));
        assert!(!same_registry("quay.io", "docker.io"));
    }
}
