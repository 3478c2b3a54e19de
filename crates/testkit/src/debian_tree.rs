//! A real Debian root filesystem (`debootstrap --variant=minbase bookworm`
//! from Debian's mirror), for the scanners' tests and benchmarks. Built
//! once and kept under `/var/tmp/berth-scan-cache` (a flock serialises
//! the tests that ask at once), since it takes minutes and the network.

use std::path::PathBuf;
use std::process::Command;

/// Where the tree is kept.
pub const DEBIAN_TREE_CACHE: &str = "/var/tmp/berth-scan-cache";

/// The cached bookworm tree, built on first use; Err says why there is
/// none (no debootstrap, no network, not root).
pub fn debian_tree() -> Result<PathBuf, String> {
    let cache = PathBuf::from(DEBIAN_TREE_CACHE);
    let tree = cache.join("bookworm");
    if tree.join("var/lib/dpkg/status").is_file() {
        return Ok(tree);
    }
    std::fs::create_dir_all(&cache).map_err(|e| format!("{}: {e}", cache.display()))?;
    // Under the lock: a half-made tree from an earlier run is removed only
    // when nothing is mounted inside it (debootstrap mounts /proc and /sys
    // in its target while it works).
    let script = r#"set -e
cd "$1"
[ -f bookworm/var/lib/dpkg/status ] && exit 0
if [ -e bookworm.tmp ]; then
    if grep -q " $PWD/bookworm.tmp" /proc/mounts; then
        echo "mounts left under $PWD/bookworm.tmp: not removing it" >&2; exit 1
    fi
    rm -rf bookworm.tmp
fi
debootstrap --variant=minbase bookworm bookworm.tmp http://deb.debian.org/debian > debootstrap.log 2>&1 ||
    { echo "debootstrap failed: see $PWD/debootstrap.log" >&2; exit 1; }
mv bookworm.tmp bookworm
"#;
    let out = Command::new("flock")
        .arg(cache.join("lock"))
        .args(["sh", "-c", script, "sh"])
        .arg(&cache)
        .output()
        .map_err(|e| format!("flock: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(tree)
}
