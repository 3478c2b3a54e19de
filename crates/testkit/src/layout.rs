//! An OCI image layout holding the busybox rootfs as a single gzip layer.

use crate::populate_busybox_rootfs;
use flate2::{write::GzEncoder, Compression};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// What [`write_oci_layout`] wrote: the digests a test can check against.
#[derive(Debug, Clone)]
pub struct OciLayout {
    /// `sha256:…` of the image manifest.
    pub manifest_digest: String,
    /// `sha256:…` of the image config.
    pub config_digest: String,
    /// `sha256:…` of the compressed layer blob.
    pub layer_digest: String,
    /// `sha256:…` of the uncompressed layer (the config's diff id).
    pub diff_id: String,
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

fn write_blob(dir: &Path, data: &[u8]) -> io::Result<String> {
    let digest = sha256(data);
    let hex = digest.trim_start_matches("sha256:");
    fs::write(dir.join("blobs/sha256").join(hex), data)?;
    Ok(digest)
}

/// Write an OCI image layout at `dir` whose `index.json` names the busybox
/// image `tag` (annotation `org.opencontainers.image.ref.name`). The image
/// runs `sh` by default, like Docker Hub's busybox.
pub fn write_oci_layout(dir: &Path, tag: &str) -> io::Result<OciLayout> {
    fs::create_dir_all(dir.join("blobs/sha256"))?;
    fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#)?;

    let staging = tempfile::tempdir()?;
    populate_busybox_rootfs(staging.path())?;
    let mut builder = tar::Builder::new(Vec::new());
    builder.follow_symlinks(false);
    builder.mode(tar::HeaderMode::Deterministic);
    builder.append_dir_all(".", staging.path())?;
    let tar_bytes = builder.into_inner()?;
    let diff_id = sha256(&tar_bytes);
    let mut gz = GzEncoder::new(Vec::new(), Compression::fast());
    gz.write_all(&tar_bytes)?;
    let layer = gz.finish()?;
    let layer_digest = write_blob(dir, &layer)?;

    let config = json!({
        "architecture": host_arch(),
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"]
        },
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "berth-testkit busybox"}]
    });
    let config_bytes = serde_json::to_vec(&config).map_err(io::Error::other)?;
    let config_digest = write_blob(dir, &config_bytes)?;

    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest, "size": config_bytes.len()
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": layer_digest, "size": layer.len()
        }]
    });
    let manifest_bytes = serde_json::to_vec(&manifest).map_err(io::Error::other)?;
    let manifest_digest = write_blob(dir, &manifest_bytes)?;

    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest, "size": manifest_bytes.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag}
        }]
    });
    fs::write(
        dir.join("index.json"),
        serde_json::to_vec(&index).map_err(io::Error::other)?,
    )?;
    Ok(OciLayout {
        manifest_digest,
        config_digest,
        layer_digest,
        diff_id,
    })
}

/// The host architecture in OCI (GOARCH) spelling.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
