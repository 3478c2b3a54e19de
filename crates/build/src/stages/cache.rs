//! The layer cache (`--layers`): after each RUN, COPY and ADD the working
//! container is committed to an unnamed image, found again by a key that
//! chains the base image, every instruction so far (expanded), the build
//! args in scope and the content of COPY/ADD sources. The index is one
//! file per key under the store's `build-cache-keys/`.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The key of the state after one more instruction.
pub fn next_key(
    previous: &str,
    instruction: &str,
    args: &[(String, String)],
    content: &str,
) -> String {
    let mut h = Sha256::new();
    h.update(previous.as_bytes());
    h.update([0]);
    h.update(instruction.as_bytes());
    h.update([0]);
    for (k, v) in args {
        h.update(k.as_bytes());
        h.update([b'=']);
        h.update(v.as_bytes());
        h.update([0]);
    }
    h.update(content.as_bytes());
    format!("{:x}", h.finalize())
}

/// The cache index of one store.
pub struct CacheIndex {
    dir: PathBuf,
}

impl CacheIndex {
    /// The index under `store_root`.
    pub fn at(store_root: &Path) -> CacheIndex {
        CacheIndex {
            dir: store_root.join("build-cache-keys"),
        }
    }

    /// The image recorded for `key`, if any.
    pub fn get(&self, key: &str) -> Option<String> {
        std::fs::read_to_string(self.dir.join(key))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    }

    /// Records `image` for `key` with `berth_storage::write_atomic`, so a
    /// reader never sees half an id.
    pub fn put(&self, key: &str, image: &str) -> berth_storage::Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| berth_storage::Error::Io {
            op: "create",
            path: self.dir.clone(),
            source: e,
        })?;
        berth_storage::write_atomic(&self.dir.join(key), image.as_bytes())
    }

    /// Forgets `key` (its image is gone).
    pub fn forget(&self, key: &str) {
        let _ = std::fs::remove_file(self.dir.join(key));
    }
}
