//! One CNI network list run for namespaces: ADD with the result cached
//! on disk per id (`results/ID.json` under the state directory), so DEL
//! works from any process and after the namespace is gone.

use super::cni::{self, CniResult, Invocation};
use super::ports::PortMapping;
use super::{config, Attachment, NetError, IFNAME};
use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

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
    /// A user-defined network (None: the default one).
    named: Option<super::named::NetworkInfo>,
}

impl Network {
    /// berth's bridge network (see [`config`]), its state under
    /// `state_dir`, its plugins in `plugin_dir`.
    pub fn bridge(state_dir: &Path, plugin_dir: &Path) -> Network {
        Network {
            plugin_dir: plugin_dir.into(),
            list: config::conflist(&state_dir.join("ipam")),
            state_dir: state_dir.into(),
            named: None,
        }
    }

    /// A user-defined network: its conflist as run (see
    /// [`super::named`]).
    pub fn named(
        state_dir: &Path,
        plugin_dir: &Path,
        info: super::named::NetworkInfo,
        list: Value,
    ) -> Network {
        Network {
            plugin_dir: plugin_dir.into(),
            list,
            state_dir: state_dir.into(),
            named: Some(info),
        }
    }

    /// The network's name.
    pub fn name(&self) -> &str {
        self.list["name"].as_str().unwrap_or_default()
    }

    /// Where host-local keeps its leases (its `dataDir`).
    pub fn ipam_dir(&self) -> PathBuf {
        self.state_dir.join("ipam")
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
        ip: Option<std::net::Ipv4Addr>,
    ) -> Result<Attachment, NetError> {
        self.check_tools(!ports.is_empty())?;
        std::fs::create_dir_all(self.state_dir.join("results")).map_err(|source| NetError::Io {
            op: "create",
            path: self.state_dir.clone(),
            source,
        })?;
        match &self.named {
            None if !config::bridge_exists() => {
                let _held = self.lock()?;
                config::ensure_masquerade()?;
            }
            Some(info)
                if !Path::new("/sys/class/net")
                    .join(&info.network_interface)
                    .exists() =>
            {
                let _held = self.lock()?;
                super::named::ensure_isolation(info)?;
            }
            _ => {}
        }
        let list = config::for_ports(&self.list, !ports.is_empty());
        let mut runtime = json!({ "portMappings": ports });
        if let Some(ip) = ip {
            runtime["ips"] = json!([ip.to_string()]);
        }
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
