//! The pod's cgroup parent (cgroupfs driver): the runtime makes it, with
//! each container's cgroup under it. The pod removes, once empty, only
//! the directories that were not there when it was made — a parent the
//! kubelet made (`/kubepods/.../pod<uid>`) stays the kubelet's.

use std::path::{Path, PathBuf};

/// The directories of cgroup `parent` (absolute, cgroupfs) and of its
/// ancestors, in every hierarchy mounted under /sys/fs/cgroup (v1's
/// controllers, v2's root), that do not exist yet; deepest first.
pub(crate) fn missing(parent: &str) -> Vec<PathBuf> {
    let rel = parent.trim_matches('/');
    if rel.is_empty() {
        return Vec::new();
    }
    let root = Path::new("/sys/fs/cgroup");
    let mut hierarchies = vec![root.to_path_buf()];
    if let Ok(d) = std::fs::read_dir(root) {
        // v1: one directory per controller (symlinks to combined ones
        // such as cpu -> cpu,cpuacct name the same place).
        hierarchies.extend(
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir() && !p.is_symlink() && p.join("cgroup.procs").exists()),
        );
    }
    if !root.join("cgroup.controllers").exists() {
        hierarchies.retain(|h| h != root);
    }
    let mut out = Vec::new();
    for h in hierarchies {
        let mut d = h;
        for part in rel.split('/').filter(|p| !p.is_empty()) {
            d = d.join(part);
            if !d.exists() {
                out.push(d.clone());
            }
        }
    }
    // Deepest first, the order they can be removed in.
    out.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    out
}

/// rmdir each of `dirs` in order (deepest first); one that is gone already,
/// or still holds a cgroup of someone else's, is left as it is.
pub(crate) fn remove(dirs: &[PathBuf]) {
    for d in dirs {
        // A cgroup directory is removed by rmdir alone (its files are the
        // kernel's); ENOTEMPTY and EBUSY mean it is still in use.
        let _ = std::fs::remove_dir(d);
    }
}
