//! An image layer's original tar, rebuilt from its tar-split record: what
//! `save` and `push` need so that the image keeps its diff ids, and so its
//! config digest (the image id).

use super::Store;
use crate::error::{IoContext, Result};
use crate::fsat::open_dir;
use crate::lock::LockMode;
use crate::records::LayerKind;
use crate::tar_split::{self, LayerTar};

impl Store {
    /// The uncompressed tar stream image layer `id` was applied from, byte
    /// for byte (its sha256 is the layer's diff id), read from its files
    /// and its tar-split record (see [`LayerTar`]). `None` when the layer
    /// has no record: a container layer, a layer stored before berth kept
    /// records, or a stream whose entries overwrote each other. Then
    /// [`Store::diff`] is the way to export it, as a new tar.
    pub fn layer_tar(&self, id: &str) -> Result<Option<LayerTar>> {
        let lease = self.lease()?;
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        let layer = self.read_layer(id)?;
        let (LayerKind::Image, Some(diff_digest)) = (layer.kind, layer.diff_digest) else {
            return Ok(None);
        };
        let path = self.driver.dir(id).join(tar_split::FILE);
        let record = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).ctx("open", &path),
        };
        let content = self.driver.content(id);
        let root = open_dir(&content).ctx("open layer", &content)?;
        // Held under the layers lock, as every lease is.
        lease.hold(id)?;
        LayerTar::open(id, record, root, diff_digest, lease).ctx("read", &path)
    }
}
