//! [`Networks`]: what one owner (an engine, a CRI server) holds of the
//! host's bridge network. Each id it attaches gets its host ports
//! reserved, a network namespace pinned at `<netns_dir>/<id>` and a place
//! on the bridge; [`Networks::detach`] gives all of it back, from this
//! owner or from any other process configured alike.
//!
//! Reservations belong to the instance, never to the process: two owners
//! in one process keep their sockets apart, and a port one holds is
//! refused to the other as to anyone else.

use super::bridge::Network;
use super::ports::{self, PortMapping};
use super::reservations::{PortRecord, Reservations};
use super::{netns, Attachment, NetError, PLUGIN_DIR, PLUGIN_DIR_ENV, STATE_DIR};
use std::path::PathBuf;

/// Where a [`Networks`] keeps its state and finds its plugins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworksConfig {
    /// Host-wide network state: leases, cached results, port records, the
    /// lock (see the module's layout).
    pub state_dir: PathBuf,
    /// Where namespaces are pinned, one file per id.
    pub netns_dir: PathBuf,
    /// The CNI plugins (`CNI_PATH`).
    pub plugin_dir: PathBuf,
}

impl NetworksConfig {
    /// berth's defaults with namespaces pinned in `netns_dir`: state in
    /// [`STATE_DIR`], plugins in `$BERTH_CNI_PLUGIN_DIR` or [`PLUGIN_DIR`].
    pub fn with_netns_dir(netns_dir: PathBuf) -> NetworksConfig {
        NetworksConfig {
            state_dir: STATE_DIR.into(),
            netns_dir,
            plugin_dir: std::env::var_os(PLUGIN_DIR_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| PLUGIN_DIR.into()),
        }
    }
}

/// One owner's attachments to berth's bridge network.
pub struct Networks {
    bridge: Network,
    netns_dir: PathBuf,
    reservations: Reservations,
}

impl Networks {
    /// An owner with `config`'s directories (nothing is made until the
    /// first attach).
    pub fn new(config: NetworksConfig) -> Networks {
        Networks {
            bridge: Network::bridge(&config.state_dir, &config.plugin_dir),
            reservations: Reservations::new(config.state_dir.join("ports")),
            netns_dir: config.netns_dir,
        }
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        self.bridge.name()
    }

    /// Where `id`'s namespace is pinned while it is attached.
    pub fn netns_path(&self, id: &str) -> PathBuf {
        self.netns_dir.join(id)
    }

    /// Fail now if a fixed host port of `maps` is taken (before anything
    /// is made for it); the real hold is taken by [`Networks::attach`].
    pub fn check_ports(&self, maps: &[PortMapping]) -> Result<(), NetError> {
        ports::check_free(maps)
    }

    /// Reserve `maps`' host ports (random ones where the port is 0), pin a
    /// namespace for `id` and put it on the bridge with those ports
    /// published. On an error nothing of it is left.
    pub fn attach(&self, id: &str, maps: &[PortMapping]) -> Result<Attachment, NetError> {
        self.attach_at(id, maps, None)
    }

    /// Fail now if `ip` (`--ip`) is outside the network, one of its own
    /// addresses, or leased; the address is taken by [`Networks::attach_at`].
    pub fn check_ip(&self, ip: &str) -> Result<(), NetError> {
        super::requested_ip::check(ip, &self.bridge.ipam_dir()).map(|_| ())
    }

    /// [`Networks::attach`] at the address `ip` when one is asked for
    /// (checked as [`Networks::check_ip`]; host-local refuses it if it
    /// was taken since).
    pub fn attach_at(
        &self,
        id: &str,
        maps: &[PortMapping],
        ip: Option<&str>,
    ) -> Result<Attachment, NetError> {
        let ip = ip
            .map(|ip| super::requested_ip::check(ip, &self.bridge.ipam_dir()))
            .transpose()?;
        let bound = self.reservations.reserve(id, maps)?;
        let path = self.netns_path(id);
        // Each step undoes its own half: create removes a pin it failed to
        // finish (and leaves one it did not make, EEXIST, alone), the
        // bridge deletes plugins it added.
        if let Err(e) = netns::create(&path) {
            let _ = self.reservations.release(id);
            return Err(e);
        }
        match self.bridge.attach(id, &path, &bound, ip) {
            Ok(a) => Ok(a),
            Err(e) => {
                let _ = netns::remove(&path);
                let _ = self.reservations.release(id);
                Err(e)
            }
        }
    }

    /// Take `id` off the network: unpin its namespace first (the kernel
    /// then drops the container's veth with it, cheaper than deleting it
    /// inside), then DEL, which tolerates the namespace being gone (as it
    /// is after a reboot), then free the host ports. Whatever is already
    /// undone is skipped.
    pub fn detach(&self, id: &str) -> Result<(), NetError> {
        let path = self.netns_path(id);
        netns::remove(&path)?;
        self.bridge.detach(id, &path)?;
        self.reservations.release(id)
    }

    /// Whether `id` has anything to detach: a pinned namespace, a place on
    /// the bridge or recorded ports.
    pub fn is_attached(&self, id: &str) -> bool {
        self.bridge.is_attached(id)
            || self.reservations.recorded(id)
            || self.netns_path(id).exists()
    }

    /// The host ports `id` holds as recorded on disk (by this or another
    /// process), with the holder; None when it holds none. A corrupt
    /// record is an error naming it.
    pub fn ports_held(&self, id: &str) -> Result<Option<PortRecord>, NetError> {
        self.reservations.record(id)
    }
}
