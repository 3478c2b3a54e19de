//! The records the store keeps for layers, images and containers. Each is
//! one JSON file, replaced atomically, so a reader never sees half of one.

use crate::digest::Digest;
use serde::{Deserialize, Serialize};

/// What a layer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LayerKind {
    /// An immutable layer applied from a tar stream; shared by chain id.
    Image,
    /// A container's read-write layer.
    Container,
}

/// A layer of the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layer {
    /// The layer id: the OCI chain id (hex) for image layers, the container
    /// id for read-write layers.
    pub id: String,
    /// The layer below, if any.
    pub parent: Option<String>,
    /// What the layer is for.
    pub kind: LayerKind,
    /// Digest of the uncompressed tar the layer was applied from (the image
    /// config's diff id). None for read-write layers.
    pub diff_digest: Option<Digest>,
    /// Digest of the compressed blob it came from, when applied from one.
    pub compressed_digest: Option<Digest>,
    /// Size in bytes of that compressed blob.
    pub compressed_size: Option<u64>,
    /// Size in bytes of the uncompressed tar.
    pub size: u64,
    /// Creation time, seconds since the epoch.
    pub created: u64,
}

/// An image: a config, a manifest and the top of a chain of layers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// The image id: the hex of its config digest.
    pub id: String,
    /// Names (`docker.io/library/busybox:latest`) pointing at the image; a
    /// name belongs to one image at a time.
    pub names: Vec<String>,
    /// The top layer; None for an image without layers.
    pub top_layer: Option<String>,
    /// Digest of the manifest blob kept with the image.
    pub manifest_digest: Digest,
    /// Digest of the config blob kept with the image.
    pub config_digest: Digest,
    /// Creation time, seconds since the epoch.
    pub created: u64,
}

/// A container's storage: a read-write layer on top of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// The container id (64 hex digits).
    pub id: String,
    /// The unique name.
    pub name: String,
    /// Id of the image the container was created from (empty: none).
    pub image: String,
    /// Id of the container's read-write layer.
    pub layer: String,
    /// Whatever the engine attaches (bundle path, config…); kept verbatim.
    pub metadata: serde_json::Value,
    /// Creation time, seconds since the epoch.
    pub created: u64,
    /// The creation time's nanoseconds: containers made within one second
    /// still list in the order they were made (0 in older records).
    #[serde(default)]
    pub created_nanos: u32,
}

/// Check that `s` is usable as a file name in the store: lowercase hex ids
/// only, so a hostile id can never name a path outside the store.
pub(crate) fn is_hex_id(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
