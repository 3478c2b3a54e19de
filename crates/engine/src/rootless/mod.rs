//! berth for an unprivileged user (docs/rootless.md): the user's
//! namespace ([`userns`]) from its subordinate ids ([`idmap`]), the
//! changes a container's config needs there ([`spec`]), and pasta for
//! its network ([`pasta`]).

mod error;
pub mod idmap;
pub mod pasta;
pub mod spec;
pub mod userns;

pub use error::{Error, Result};
pub use idmap::{IdMapping, IdRange};

use std::sync::OnceLock;

/// Whether this process runs in a user namespace other than the host's:
/// its uid_map is not the identity over every id.
pub fn in_user_namespace() -> bool {
    static IN: OnceLock<bool> = OnceLock::new();
    *IN.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map").is_ok_and(|map| {
            let fields: Vec<&str> = map.split_whitespace().collect();
            fields != ["0", "0", "4294967295"]
        })
    })
}

/// Whether berth runs for an unprivileged user: not root, or root only
/// inside a user namespace (then host files, cgroups and devices are out
/// of reach whatever the uid says).
pub fn is_rootless() -> bool {
    !nix::unistd::geteuid().is_root() || in_user_namespace()
}
