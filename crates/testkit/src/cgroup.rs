//! Cgroups made by tests live under one parent and are removed afterwards.

use std::fs;
use std::path::Path;

/// Every cgroup a test creates lives under this parent, never inside the
/// shell's own cgroup (which belongs to the machine's supervisor).
pub const TEST_CGROUP_PARENT: &str = "/berth-test";

/// An absolute `cgroupsPath` for a test container: `/berth-test/<name>`.
pub fn test_cgroup_path(name: &str) -> String {
    format!("{TEST_CGROUP_PARENT}/{name}")
}

/// Remove the cgroup at `path` (as given in `cgroupsPath`) from every
/// hierarchy mounted under `/sys/fs/cgroup`, if it still exists. Returns the
/// hierarchies where it could not be removed, so a test can assert a runtime
/// cleaned up after itself before calling this as a safety net.
pub fn remove_test_cgroup(path: &str) -> Vec<String> {
    let rel = path.trim_start_matches('/');
    let mut left = Vec::new();
    let root = Path::new("/sys/fs/cgroup");
    let mut candidates = vec![root.join(rel)];
    if let Ok(entries) = fs::read_dir(root) {
        for e in entries.flatten() {
            candidates.push(e.path().join(rel));
        }
    }
    for dir in candidates {
        if dir.is_dir() && remove_tree(&dir).is_err() {
            left.push(dir.display().to_string());
        }
    }
    left
}

/// rmdir a cgroup and its children, deepest first (engines nest their own
/// cgroups, e.g. podman's `conmon`, under the parent a test hands them).
fn remove_tree(dir: &Path) -> std::io::Result<()> {
    for e in fs::read_dir(dir)?.flatten() {
        if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            remove_tree(&e.path())?;
        }
    }
    fs::remove_dir(dir)
}
