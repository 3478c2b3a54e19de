//! Test fixtures shared by berth's test suites and benchmarks.
//!
//! Almost everything here is built from the host's static busybox, so no
//! test needs the network: a root filesystem with the applet links, an OCI
//! runtime bundle around it, and an OCI image layout holding it as one
//! layer. The one exception is [`debian_tree`], a debootstrapped Debian
//! tree for the scanners, fetched from Debian's mirror once and cached.
#![deny(missing_docs)]

mod bundle;
mod cgroup;
mod debian_tree;
mod layout;
mod rootfs;
mod workspace_bins;

pub use bundle::{default_config, Bundle};
pub use cgroup::{remove_test_cgroup, test_cgroup_path, TEST_CGROUP_PARENT};
pub use debian_tree::{debian_tree, DEBIAN_TREE_CACHE};
pub use layout::{write_oci_layout, OciLayout};
pub use rootfs::{busybox_path, populate_busybox_rootfs};
pub use workspace_bins::{bin_dir, build_workspace_bins};

use std::sync::atomic::{AtomicU32, Ordering};

/// A name unique within this machine for the life of the test run:
/// `prefix-<pid>-<counter>`. Container ids, cgroup names and temp dirs use it
/// so parallel tests never collide.
pub fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}-{}-{n}", std::process::id())
}

/// True when the tests run as root, which every real-container test needs.
pub fn is_root() -> bool {
    // Reading the effective uid from /proc keeps this crate free of libc.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// Skip a test with a visible reason, unless running in CI where every
/// feature this machine kind has must be exercised (`CI=true` fails instead).
#[macro_export]
macro_rules! require {
    ($cond:expr, $why:expr) => {
        if !$cond {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!("required in CI but unavailable: {}", $why);
            }
            eprintln!("SKIP {}: {}", module_path!(), $why);
            return;
        }
    };
}
