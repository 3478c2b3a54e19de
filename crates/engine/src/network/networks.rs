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
use super::named::{self, NetworkCreate, NetworkInfo, NetworkLock, Store};
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
    /// User-defined networks' conflists (see [`super::named`]).
    pub config_dir: PathBuf,
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
            config_dir: berth_image::config_paths::system(named::CONFIG_DIR),
        }
    }
}

/// One owner's attachments to berth's bridge network.
pub struct Networks {
    bridge: Network,
    netns_dir: PathBuf,
    reservations: Reservations,
    store: Store,
    plugin_dir: PathBuf,
}

impl Networks {
    /// An owner with `config`'s directories (nothing is made until the
    /// first attach).
    pub fn new(config: NetworksConfig) -> Networks {
        Networks {
            bridge: Network::bridge(&config.state_dir, &config.plugin_dir),
            reservations: Reservations::new(config.state_dir.join("ports")),
            netns_dir: config.netns_dir,
            store: Store {
                dir: config.config_dir,
                state_dir: config.state_dir,
            },
            plugin_dir: config.plugin_dir,
        }
    }

    /// Every network, the default one too, by name.
    pub fn list_networks(&self) -> Result<Vec<NetworkInfo>, NetError> {
        let mut all = self.store.list()?;
        all.push(named::default_info());
        all.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(all)
    }

    /// The network `name` (the default one's name included).
    pub fn network(&self, name: &str) -> Result<NetworkInfo, NetError> {
        if name == self.name() {
            return Ok(named::default_info());
        }
        self.store.load(name).map(|(i, _)| i)
    }

    /// Make a user-defined network (see [`super::named`]).
    pub fn create_network(&self, req: &NetworkCreate) -> Result<NetworkInfo, NetError> {
        self.store.create(req)
    }

    /// The network state lock, for a check-and-remove of a network.
    pub fn lock_networks(&self) -> Result<NetworkLock, NetError> {
        named::lock(&self.store.state_dir)
    }

    /// Remove the user-defined network `name` (its bridge, isolation
    /// rule, leases and config); the caller holds `_lock` and removed the
    /// containers on it first. The default network is refused.
    pub fn remove_network(&self, name: &str, _lock: &NetworkLock) -> Result<(), NetError> {
        if name == self.name() {
            return Err(NetError::DefaultNetwork(name.into()));
        }
        self.store.remove_locked(name)
    }

    /// The CNI network `name` stands for (None: the default).
    fn pick(&self, name: Option<&str>) -> Result<Option<Network>, NetError> {
        match name {
            None => Ok(None),
            Some(n) if n == self.name() => Ok(None),
            Some(n) => {
                let (info, list) = self.store.runtime_list(n)?;
                Ok(Some(Network::named(
                    &self.store.state_dir,
                    &self.plugin_dir,
                    info,
                    list,
                )))
            }
        }
    }

    /// [`Networks::check_ip`] on the network `name` (None: the default),
    /// which must exist.
    pub fn check_ip_on(&self, name: Option<&str>, ip: Option<&str>) -> Result<(), NetError> {
        let info = match name {
            Some(n) => self.network(n)?,
            None => return ip.map_or(Ok(()), |ip| self.check_ip(ip)),
        };
        let Some(ip) = ip else { return Ok(()) };
        let s = &info.subnets[0];
        super::requested_ip::check_on(
            ip,
            &self.bridge.ipam_dir(),
            &info.name,
            &s.subnet,
            &s.gateway,
        )
        .map(|_| ())
    }

    /// [`Networks::attach_at`] on the network `name` (None: the default).
    pub fn attach_on(
        &self,
        name: Option<&str>,
        id: &str,
        maps: &[PortMapping],
        ip: Option<&str>,
    ) -> Result<Attachment, NetError> {
        match self.pick(name)? {
            None => self.attach_at(id, maps, ip),
            Some(net) => {
                self.check_ip_on(name, ip)?;
                let ip = ip.and_then(|ip| ip.parse().ok());
                self.attach_with(&net, id, maps, ip)
            }
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
        self.attach_with(&self.bridge, id, maps, ip)
    }

    fn attach_with(
        &self,
        net: &Network,
        id: &str,
        maps: &[PortMapping],
        ip: Option<std::net::Ipv4Addr>,
    ) -> Result<Attachment, NetError> {
        let bound = self.reservations.reserve(id, maps)?;
        let path = self.netns_path(id);
        // Each step undoes its own half: create removes a pin it failed to
        // finish (and leaves one it did not make, EEXIST, alone), the
        // bridge deletes plugins it added.
        if let Err(e) = netns::create(&path) {
            let _ = self.reservations.release(id);
            return Err(e);
        }
        match net.attach(id, &path, &bound, ip) {
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
