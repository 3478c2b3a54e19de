//! How big layers are: an image's chain as recorded (the uncompressed tar
//! sizes).

use super::Store;
use crate::error::Result;
use crate::lock::LockMode;

impl Store {
    /// The size of the layer chain under `top` (an image's `top_layer`):
    /// the sum of each layer's uncompressed size. Zero for none.
    pub fn chain_size(&self, top: Option<&str>) -> Result<u64> {
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        let mut size = 0;
        let mut next = top.map(str::to_string);
        while let Some(id) = next {
            let layer = self.read_layer(&id)?;
            size += layer.size;
            next = layer.parent;
        }
        Ok(size)
    }
}
