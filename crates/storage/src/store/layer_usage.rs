//! How big layers are: an image's chain as recorded (the uncompressed tar
//! sizes), and a container's read-write layer as it is on disk now
//! (kubelet's `container_fs_usage_bytes`, the CRI's writable layer).

use super::Store;
use crate::error::{IoContext, Result};
use crate::lock::LockMode;
use std::collections::HashSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What a directory tree holds on disk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DiskUsage {
    /// Bytes of the blocks allocated (`st_blocks` × 512), each inode once.
    pub bytes: u64,
    /// Inodes, the tree's top directory included.
    pub inodes: u64,
}

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

    /// What container `key`'s own layer holds on disk now: overlay's upper
    /// directory (what the container wrote), or on vfs its whole copy.
    /// Read without the layers lock, as `du` would: files that come and
    /// go during the walk are counted or not.
    pub fn container_layer_usage(&self, key: &str) -> Result<DiskUsage> {
        let c = self.container(key)?;
        let dir = self.driver.content(&c.layer);
        let mut usage = DiskUsage::default();
        let mut seen = HashSet::new();
        walk(&dir, &mut usage, &mut seen)?;
        Ok(usage)
    }
}

/// Add `path` (never following a symlink) and what is under it.
fn walk(path: &Path, usage: &mut DiskUsage, seen: &mut HashSet<(u64, u64)>) -> Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).ctx("stat", path),
    };
    // A hard link's inode counts once.
    if meta.nlink() > 1 && !meta.is_dir() && !seen.insert((meta.dev(), meta.ino())) {
        return Ok(());
    }
    usage.bytes += meta.blocks() * 512;
    usage.inodes += 1;
    if !meta.is_dir() {
        return Ok(());
    }
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).ctx("read", path),
    };
    for entry in entries {
        let entry = entry.ctx("read", path)?;
        walk(&entry.path(), usage, seen)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_counts_blocks_and_inodes_and_hard_links_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/a"), vec![1u8; 64 * 1024]).unwrap();
        std::fs::hard_link(d.join("sub/a"), d.join("b")).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", d.join("link")).unwrap();
        let mut u = DiskUsage::default();
        walk(d, &mut u, &mut HashSet::new()).unwrap();
        // top, sub, a (b is the same inode), link
        assert_eq!(u.inodes, 4);
        assert!(u.bytes >= 64 * 1024, "{u:?}");
        assert!(
            u.bytes < 2 * 64 * 1024 + 64 * 1024,
            "hard link counted twice: {u:?}"
        );
        let mut missing = DiskUsage::default();
        walk(&d.join("gone"), &mut missing, &mut HashSet::new()).unwrap();
        assert_eq!(missing, DiskUsage::default());
    }
}
