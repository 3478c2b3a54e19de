//! Where overlayfs keeps its bookkeeping xattrs. The host's root mounts
//! with `trusted.overlay.*`; in a user namespace (rootless berth) trusted
//! xattrs are out of reach, so mounts there take `userxattr` and overlayfs
//! reads `user.overlay.*` instead. Layers written in one place are read
//! with the same prefix, as each user's store is its own.

use std::sync::OnceLock;

/// Whether this process runs in a user namespace other than the host's.
pub(crate) fn in_user_namespace() -> bool {
    static IN: OnceLock<bool> = OnceLock::new();
    *IN.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|map| map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
    })
}

/// The opaque-directory marker (`<prefix>opaque`).
pub(crate) fn opaque() -> &'static str {
    if in_user_namespace() {
        "user.overlay.opaque"
    } else {
        "trusted.overlay.opaque"
    }
}

/// Whether `name` is overlayfs bookkeeping under either prefix: never part
/// of a layer, and never accepted from an archive.
pub(crate) fn is_overlay_xattr(name: &str) -> bool {
    name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.")
}
