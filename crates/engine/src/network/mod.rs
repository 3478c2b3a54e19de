//! Bridge networking through CNI plugins, shaped for pods: a caller with
//! an id, a network namespace path and port mappings — a container of
//! `berth run`, or later a pod sandbox of the CRI server — gets an
//! [`Attachment`] from [`Network::attach`] and gives it back with
//! [`Network::detach`]. The ADD result is cached on disk per id, so DEL
//! works from any process, and after the namespace is gone.
//!
//! Layout under the state directory (default `/run/berth-network`, one per
//! host, because the bridge and its addresses are host-wide: two berths
//! with different runroots must not hand out the same address):
//! `ipam/` (host-local's leases, flocked by host-local), `results/ID.json`
//! (what ADD ran and returned), `lock`.

pub mod cni;
pub mod config;
mod container;
pub mod netns;
pub mod ports;

pub use container::published;

use cni::{CniResult, Interface, Invocation, IpConfig};
use nix::fcntl::{Flock, FlockArg};
use ports::PortMapping;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The host-wide network state directory.
pub const STATE_DIR: &str = "/run/berth-network";
/// Where Debian's containernetworking-plugins live.
pub const PLUGIN_DIR: &str = "/usr/lib/cni";
/// Overrides [`PLUGIN_DIR`].
pub const PLUGIN_DIR_ENV: &str = "BERTH_CNI_PLUGIN_DIR";
/// The interface name inside the namespace.
pub const IFNAME: &str = "eth0";

/// `--network` when none is given: `bridge` as root (as podman), else
/// `none` (a bridge needs root; rootless networking is not built).
pub fn default_mode() -> crate::NetworkMode {
    if nix::unistd::geteuid().is_root() {
        crate::NetworkMode::Bridge
    } else {
        crate::NetworkMode::None
    }
}

/// What went wrong in the network layer.
#[derive(Debug, thiserror::Error)]
pub enum NetError {
    /// A `-p` value is malformed.
    #[error("invalid --publish {0:?}: {1}")]
    BadPort(String, String),
    /// A host port is taken by someone else.
    #[error("cannot publish {addr}: {errno}")]
    PortInUse {
        /// `ip:port/proto`.
        addr: String,
        /// bind(2)'s errno (EADDRINUSE: the port is taken).
        errno: nix::errno::Errno,
    },
    /// A CNI plugin (or iptables) failed.
    #[error("CNI plugin {plugin} {command}: {message}")]
    Plugin {
        /// The plugin.
        plugin: String,
        /// ADD or DEL.
        command: String,
        /// What it said.
        message: String,
    },
    /// The plugin directory lacks the bridge network's plugins.
    #[error("CNI plugins not found in {} (no {plugin} plugin): install them (Debian: apt install containernetworking-plugins; or set BERTH_CNI_PLUGIN_DIR), or run with --network none or --network host", dir.display())]
    NoPlugins {
        /// The directory looked in.
        dir: PathBuf,
        /// The first plugin missing.
        plugin: String,
    },
    /// The bridge network needs iptables for NAT and published ports.
    #[error("iptables not found in PATH: the bridge network needs it for NAT and published ports; install it (Debian: apt install iptables), or run with --network none or --network host")]
    NoIptables,
    /// A system call failed.
    #[error("{op}: {source}")]
    Sys {
        /// What was being done.
        op: String,
        /// The errno.
        #[source]
        source: nix::errno::Errno,
    },
    /// A file operation failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was being done.
        op: &'static str,
        /// On which path.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The cached result is unreadable.
    #[error("network cache {}: {source}", path.display())]
    Cache {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
}

/// A namespace's place on a network, as `inspect` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Attachment {
    /// The network's name.
    pub network: String,
    /// The namespace path.
    pub netns: PathBuf,
    /// Interfaces (the bridge, the host's veth end, the one inside).
    pub interfaces: Vec<Interface>,
    /// Addresses (CIDR).
    pub ips: Vec<IpConfig>,
    /// The first address, without its prefix.
    pub ip: String,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The gateway.
    pub gateway: String,
    /// The MAC address inside.
    pub mac: String,
    /// The published ports, host ports filled in.
    pub ports: Vec<PortMapping>,
}

impl Attachment {
    fn from_result(network: &str, netns: &Path, r: &CniResult, ports: &[PortMapping]) -> Self {
        let first = r.ips.first().cloned().unwrap_or_default();
        let (ip, prefix) = first
            .address
            .split_once('/')
            .unwrap_or((&first.address, "0"));
        let iface = first
            .interface
            .and_then(|i| r.interfaces.get(i))
            .or_else(|| r.interfaces.iter().find(|i| !i.sandbox.is_empty()));
        Attachment {
            network: network.into(),
            netns: netns.into(),
            interfaces: r.interfaces.clone(),
            ips: r.ips.clone(),
            ip: ip.into(),
            prefix_len: prefix.parse().unwrap_or(0),
            gateway: first.gateway.unwrap_or_default(),
            mac: iface.map(|i| i.mac.clone()).unwrap_or_default(),
            ports: ports.to_vec(),
        }
    }
}

/// What ADD ran, kept for DEL.
#[derive(Serialize, Deserialize)]
struct Cached {
    list: Value,
    runtime: Value,
    ifname: String,
    result: Value,
}

/// A CNI network: a conflist and where its plugins and state live.
pub struct Network {
    /// `CNI_PATH`.
    pub plugin_dir: PathBuf,
    /// Leases, cached results, the lock.
    pub state_dir: PathBuf,
    list: Value,
}

impl Network {
    /// berth's default bridge network (see [`config`]).
    pub fn default_bridge() -> Network {
        let state_dir = PathBuf::from(STATE_DIR);
        Network {
            plugin_dir: std::env::var_os(PLUGIN_DIR_ENV)
                .map(PathBuf::from)
                .unwrap_or_else(|| PLUGIN_DIR.into()),
            list: config::conflist(&state_dir.join("ipam")),
            state_dir,
        }
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        self.list["name"].as_str().unwrap_or_default()
    }

    fn cache_path(&self, id: &str) -> PathBuf {
        self.state_dir.join("results").join(format!("{id}.json"))
    }

    /// The network's lock (the state directory exists: see [`Network::attach`]).
    fn lock(&self) -> Result<Flock<std::fs::File>, NetError> {
        let p = self.state_dir.join("lock");
        let f = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|source| NetError::Io {
                op: "open",
                path: p.clone(),
                source,
            })?;
        Flock::lock(f, FlockArg::LockExclusive).map_err(|(_, source)| NetError::Sys {
            op: format!("flock {}", p.display()),
            source,
        })
    }

    /// Put the namespace at `netns` on the network as `id`, with `ports`
    /// (host ports already chosen) published. On an error nothing is left:
    /// plugins already added are deleted again.
    pub fn attach(
        &self,
        id: &str,
        netns: &Path,
        ports: &[PortMapping],
    ) -> Result<Attachment, NetError> {
        self.check_tools(!ports.is_empty())?;
        std::fs::create_dir_all(self.state_dir.join("results")).map_err(|source| NetError::Io {
            op: "create",
            path: self.state_dir.clone(),
            source,
        })?;
        if !config::bridge_exists() {
            let _held = self.lock()?;
            config::ensure_masquerade()?;
        }
        let list = config::for_ports(&self.list, !ports.is_empty());
        let runtime = json!({ "portMappings": ports });
        let inv = Invocation {
            plugin_dir: &self.plugin_dir,
            id,
            netns,
            ifname: IFNAME,
        };
        let result = cni::add_list(&inv, &list, &runtime)?;
        let cached = Cached {
            list,
            runtime,
            ifname: IFNAME.into(),
            result,
        };
        let path = self.cache_path(id);
        let written = serde_json::to_vec(&cached)
            .map_err(|source| NetError::Cache {
                path: path.clone(),
                source,
            })
            .and_then(|b| {
                std::fs::write(&path, b).map_err(|source| NetError::Io {
                    op: "write",
                    path: path.clone(),
                    source,
                })
            });
        let parsed = written.and_then(|()| {
            CniResult::deserialize(&cached.result).map_err(|source| NetError::Cache {
                path: path.clone(),
                source,
            })
        });
        match parsed {
            Ok(r) => Ok(Attachment::from_result(self.name(), netns, &r, ports)),
            Err(e) => {
                let _ = cni::del_list(&inv, &cached.list, &cached.runtime, Some(&cached.result));
                let _ = std::fs::remove_file(&path);
                Err(e)
            }
        }
    }

    /// The plugins and iptables are there, before anything is made: a
    /// newcomer's missing package is one clear line, not a plugin's error.
    fn check_tools(&self, publishing: bool) -> Result<(), NetError> {
        let list = config::for_ports(&self.list, publishing);
        for plugin in list["plugins"].as_array().into_iter().flatten() {
            let name = plugin["type"].as_str().unwrap_or_default();
            if !self.plugin_dir.join(name).is_file() {
                return Err(NetError::NoPlugins {
                    dir: self.plugin_dir.clone(),
                    plugin: name.to_string(),
                });
            }
        }
        let on_path = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("iptables").is_file()));
        if !on_path {
            return Err(NetError::NoIptables);
        }
        Ok(())
    }

    /// Whether `id` has a cached attachment to undo.
    pub fn is_attached(&self, id: &str) -> bool {
        self.cache_path(id).exists()
    }

    /// Take `id` off the network: DEL with what ADD ran and returned. The
    /// namespace at `netns` may be gone already (removed first, or lost
    /// with a reboot): the plugins then only free the address and the
    /// port rules, and the kernel took the veth with the namespace. No
    /// cached result means nothing to undo.
    pub fn detach(&self, id: &str, netns: &Path) -> Result<(), NetError> {
        let path = self.cache_path(id);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => {
                return Err(NetError::Io {
                    op: "read",
                    path,
                    source,
                })
            }
        };
        let cached: Cached = serde_json::from_slice(&bytes).map_err(|source| NetError::Cache {
            path: path.clone(),
            source,
        })?;
        let inv = Invocation {
            plugin_dir: &self.plugin_dir,
            id,
            netns,
            ifname: &cached.ifname,
        };
        cni::del_list(&inv, &cached.list, &cached.runtime, Some(&cached.result))?;
        std::fs::remove_file(&path).map_err(|source| NetError::Io {
            op: "remove",
            path,
            source,
        })
    }
}
