//! Bridge networking through CNI plugins, shaped for pods and free of the
//! engine: an owner — the engine of `berth run`, later the CRI server
//! with its sandboxes — builds a [`Networks`] from a [`NetworksConfig`],
//! and for each id gets an [`Attachment`] from [`Networks::attach`] (host
//! ports reserved, a namespace pinned, CNI ADD) and gives it back with
//! [`Networks::detach`]. The ADD result and the reserved ports are kept on
//! disk per id, so detach works from any process, and after the namespace
//! is gone.
//!
//! Layout under the state directory (default `/run/berth-network`, one per
//! host, because the bridge and its addresses are host-wide: two berths
//! with different runroots must not hand out the same address):
//! `ipam/` (host-local's leases, flocked by host-local), `results/ID.json`
//! (what ADD ran and returned), `ports/ID.json` (the host ports held and
//! by which process), `lock`.

mod attachment;
mod bridge;
pub mod cni;
pub mod config;
mod error;
pub mod named;
pub mod netns;
mod networks;
pub mod ports;
mod requested_ip;
mod reservations;
pub mod subnet;

pub use attachment::Attachment;
pub use error::NetError;
pub use named::{NetworkCreate, NetworkInfo, NetworkLock};
pub use networks::{Networks, NetworksConfig};
pub use reservations::PortRecord;

/// The host-wide network state directory.
pub const STATE_DIR: &str = "/run/berth-network";
/// Where Debian's containernetworking-plugins live.
pub const PLUGIN_DIR: &str = "/usr/lib/cni";
/// Overrides [`PLUGIN_DIR`].
pub const PLUGIN_DIR_ENV: &str = "BERTH_CNI_PLUGIN_DIR";
/// The interface name inside the namespace.
pub const IFNAME: &str = "eth0";

/// Whether this process may make a bridge network (it needs root;
/// an unprivileged user's containers use pasta instead, see
/// `crate::rootless::pasta`).
pub fn bridge_possible() -> bool {
    !crate::rootless::is_rootless()
}
