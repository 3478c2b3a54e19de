//! User-defined bridge networks (`berth network create`): one CNI conflist
//! per network, `NAME.conflist` in the config directory
//! ([`CONFIG_DIR`], moved by `$BERTH_CONFIG_ROOT`), written as podman's
//! CNI backend writes it (bridge `berthN` + host-local + portmap, the
//! labels under `args.podman_labels`), so the file is the whole record:
//! its mtime is the creation time, `sha256(name)` the id (as podman).
//!
//! What the file leaves to the host (the host-local `dataDir` under the
//! state directory, portmap's `snat`) is added when it is loaded. NAT out
//! is the bridge plugin's `ipMasq`, as podman's; internal networks have no
//! gateway, no masquerade and no default route. Networks are kept apart
//! by one FORWARD rule each, made with the bridge: nothing leaves the
//! bridge for another berth bridge unless it is for its own subnet.
//! Create and remove run under the network state lock. Bridges and
//! subnets are host-wide while config directories need not be (a chroot,
//! a test): each network claims its bridge in the state directory
//! (`bridges/BRIDGE` holding its subnet), and a new network takes a
//! bridge and a subnet nobody claims.

use super::subnet::{self, Subnet};
use super::{config, NetError};
use nix::fcntl::{Flock, FlockArg};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where network configs live (under `$BERTH_CONFIG_ROOT` when set).
pub const CONFIG_DIR: &str = "/etc/berth/networks";

/// What `network create` asks for.
#[derive(Debug, Clone, Default)]
pub struct NetworkCreate {
    /// The name.
    pub name: String,
    /// `-d`: only `bridge`.
    pub driver: Option<String>,
    /// `--subnet` (else a free 10.89.N.0/24).
    pub subnet: Option<String>,
    /// `--gateway` (else the subnet's first address).
    pub gateway: Option<String>,
    /// `--ip-range`: where addresses are handed out, inside the subnet.
    pub ip_range: Option<String>,
    /// `--internal`: no way out.
    pub internal: bool,
    /// `--label`.
    pub labels: BTreeMap<String, String>,
}

/// A network as `network inspect` shows it (podman's shape).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NetworkInfo {
    /// The name.
    pub name: String,
    /// sha256 of the name, hex.
    pub id: String,
    /// Always `bridge`.
    pub driver: String,
    /// The bridge on the host.
    pub network_interface: String,
    /// RFC 3339.
    pub created: String,
    /// Its one IPv4 subnet.
    pub subnets: Vec<SubnetInfo>,
    /// Always false.
    pub ipv6_enabled: bool,
    /// `--internal`.
    pub internal: bool,
    /// Always false (no DNS plugin).
    pub dns_enabled: bool,
    /// `--label`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// `{"driver": "host-local"}`.
    pub ipam_options: BTreeMap<String, String>,
}

/// A subnet of [`NetworkInfo`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SubnetInfo {
    /// CIDR.
    pub subnet: String,
    /// The gateway (empty for an internal network without one).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub gateway: String,
    /// `--ip-range`, as first and last address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_range: Option<LeaseRange>,
}

/// First and last address handed out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaseRange {
    /// First.
    pub start_ip: String,
    /// Last.
    pub end_ip: String,
}

fn bad(option: &'static str, value: &str, reason: impl Into<String>) -> NetError {
    NetError::InvalidNetwork {
        option,
        value: value.into(),
        reason: reason.into(),
    }
}

/// podman's name rule: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn check_name(name: &str) -> Result<(), NetError> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(bad(
            "network name",
            name,
            "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*",
        ))
    }
}

fn ip_of(option: &'static str, s: &str) -> Result<u32, NetError> {
    s.parse::<std::net::Ipv4Addr>()
        .map(u32::from)
        .map_err(|_| bad(option, s, "not an IPv4 address"))
}

/// The info of the default network (see [`config`]).
pub fn default_info() -> NetworkInfo {
    NetworkInfo {
        name: config::NAME.into(),
        id: berth_storage::Digest::of(config::NAME.as_bytes())
            .hex()
            .to_string(),
        driver: "bridge".into(),
        network_interface: config::BRIDGE.into(),
        created: crate::clock::now_rfc3339(),
        subnets: vec![SubnetInfo {
            subnet: config::SUBNET.into(),
            gateway: config::GATEWAY.into(),
            lease_range: None,
        }],
        ipv6_enabled: false,
        internal: false,
        dns_enabled: false,
        labels: BTreeMap::new(),
        ipam_options: [("driver".to_string(), "host-local".to_string())].into(),
    }
}

/// The conflist of `info`, as podman's CNI backend writes it (without its
/// `firewall` and `tuning` plugins: berth adds no per-container rules
/// besides NAT).
fn conflist(info: &NetworkInfo) -> Value {
    let s = &info.subnets[0];
    let mut range = json!({"subnet": s.subnet});
    if let Some(r) = &s.lease_range {
        range["rangeStart"] = json!(r.start_ip);
        range["rangeEnd"] = json!(r.end_ip);
    }
    if !s.gateway.is_empty() {
        range["gateway"] = json!(s.gateway);
    }
    let mut ipam = json!({"type": "host-local", "ranges": [[range]]});
    let mut bridge = json!({
        "type": "bridge",
        "bridge": info.network_interface,
        "isGateway": !info.internal,
        "hairpinMode": true,
        "capabilities": {"ips": true},
    });
    if !info.internal {
        bridge["ipMasq"] = json!(true);
        ipam["routes"] = json!([{"dst": "0.0.0.0/0"}]);
    }
    bridge["ipam"] = ipam;
    let mut list = json!({
        "cniVersion": "0.4.0",
        "name": info.name,
        "plugins": [bridge, {"type": "portmap", "capabilities": {"portMappings": true}}],
    });
    if !info.labels.is_empty() {
        list["args"] = json!({"podman_labels": info.labels});
    }
    list
}

/// Read a conflist back into what inspect shows.
fn from_conflist(v: &Value, created: String) -> Result<NetworkInfo, String> {
    let name = v["name"].as_str().ok_or("no name")?.to_string();
    let bridge = v["plugins"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["type"] == "bridge"))
        .ok_or("no bridge plugin")?;
    let range = &bridge["ipam"]["ranges"][0][0];
    let subnet = range["subnet"].as_str().ok_or("no subnet")?.to_string();
    let text = |k: &str| range[k].as_str().map(str::to_string);
    let lease_range = match (text("rangeStart"), text("rangeEnd")) {
        (Some(start_ip), Some(end_ip)) => Some(LeaseRange { start_ip, end_ip }),
        _ => None,
    };
    let labels = v["args"]["podman_labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    Ok(NetworkInfo {
        id: berth_storage::Digest::of(name.as_bytes()).hex().to_string(),
        name,
        driver: "bridge".into(),
        network_interface: bridge["bridge"].as_str().ok_or("no bridge")?.into(),
        created,
        subnets: vec![SubnetInfo {
            subnet,
            gateway: text("gateway").unwrap_or_default(),
            lease_range,
        }],
        ipv6_enabled: false,
        internal: bridge["isGateway"] != true,
        dns_enabled: false,
        labels,
        ipam_options: [("driver".to_string(), "host-local".to_string())].into(),
    })
}

/// The config directory's networks, with the state directory their
/// leases and lock live in.
#[derive(Debug, Clone)]
pub(crate) struct Store {
    pub dir: PathBuf,
    pub state_dir: PathBuf,
}

/// The network state lock, held while a network is made or removed (and
/// while a bridge is first set up).
pub struct NetworkLock(#[allow(dead_code)] Flock<std::fs::File>);

/// Take the state lock of `state_dir`.
pub(crate) fn lock(state_dir: &Path) -> Result<NetworkLock, NetError> {
    std::fs::create_dir_all(state_dir).map_err(|source| NetError::Io {
        op: "create",
        path: state_dir.into(),
        source,
    })?;
    let p = state_dir.join("lock");
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
    Flock::lock(f, FlockArg::LockExclusive)
        .map(NetworkLock)
        .map_err(|(_, source)| NetError::Sys {
            op: format!("flock {}", p.display()),
            source,
        })
}

impl Store {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.conflist"))
    }

    /// The network `name` and its conflist as stored.
    pub fn load(&self, name: &str) -> Result<(NetworkInfo, Value), NetError> {
        let path = self.path(name);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(NetError::NetworkNotFound(name.into()))
            }
            Err(source) => {
                return Err(NetError::Io {
                    op: "read",
                    path,
                    source,
                })
            }
        };
        let corrupt = |reason: String| NetError::NetworkConfig {
            path: path.clone(),
            reason,
        };
        let v: Value = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let created = std::fs::metadata(&path)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| crate::clock::rfc3339_of(d.as_secs() as i64))
            .unwrap_or_default();
        let info = from_conflist(&v, created).map_err(|e| corrupt(e.to_string()))?;
        if info.name != name {
            return Err(corrupt(format!("names network {:?}", info.name)));
        }
        Ok((info, v))
    }

    /// The conflist of `name` as run: host-local's leases under the state
    /// directory, portmap with `snat` (so 127.0.0.1:PORT reaches it).
    pub fn runtime_list(&self, name: &str) -> Result<(NetworkInfo, Value), NetError> {
        let (info, mut v) = self.load(name)?;
        for p in v["plugins"].as_array_mut().into_iter().flatten() {
            if p["type"] == "bridge" {
                p["ipam"]["dataDir"] = json!(self.state_dir.join("ipam"));
            }
            if p["type"] == "portmap" {
                p["snat"] = json!(true);
            }
        }
        Ok((info, v))
    }

    /// Every stored network, by name.
    pub fn list(&self) -> Result<Vec<NetworkInfo>, NetError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(NetError::Io {
                    op: "read",
                    path: self.dir.clone(),
                    source,
                })
            }
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.strip_suffix(".conflist").map(str::to_string)
            })
            .collect();
        names.sort();
        names.iter().map(|n| self.load(n).map(|(i, _)| i)).collect()
    }

    /// Make the network `req` asks for (checked whole before anything is
    /// written); under the state lock, so two creates never pick one
    /// subnet or bridge.
    pub fn create(&self, req: &NetworkCreate) -> Result<NetworkInfo, NetError> {
        check_name(&req.name)?;
        if let Some(d) = req.driver.as_deref().filter(|d| *d != "bridge") {
            return Err(bad("--driver", d, "berth supports only the bridge driver"));
        }
        let _held = lock(&self.state_dir)?;
        let known = self.list()?;
        if req.name == config::NAME || known.iter().any(|n| n.name == req.name) {
            return Err(NetError::NetworkExists(req.name.clone()));
        }
        let claims = self.claims();
        let mut used: Vec<Subnet> = known
            .iter()
            .chain(std::iter::once(&default_info()))
            .filter_map(|n| Subnet::parse(&n.subnets[0].subnet))
            .chain(claims.iter().map(|(_, s)| *s))
            .collect();
        let subnet = match &req.subnet {
            Some(s) => {
                let sub = Subnet::parse(s).filter(|s| s.len <= 30).ok_or_else(|| {
                    bad("--subnet", s, "not an IPv4 subnet A.B.C.D/LEN (LEN <= 30)")
                })?;
                if let Some(o) = known
                    .iter()
                    .find(|n| Subnet::parse(&n.subnets[0].subnet).is_some_and(|u| u.overlaps(&sub)))
                {
                    return Err(bad("--subnet", s, format!("overlaps network {}", o.name)));
                }
                if let Some((b, _)) = claims.iter().find(|(_, c)| c.overlaps(&sub)) {
                    return Err(bad(
                        "--subnet",
                        s,
                        format!("overlaps the network on bridge {b}"),
                    ));
                }
                sub
            }
            None => {
                used.extend(subnet::host_routes());
                subnet::free_24(&used)
                    .ok_or_else(|| bad("--subnet", "", "no free 10.89.N.0/24 left: give one"))?
            }
        };
        let gateway = match &req.gateway {
            Some(g) => {
                let a = ip_of("--gateway", g)?;
                if !subnet.contains(a) || a == subnet.net || a == subnet.last() {
                    return Err(bad(
                        "--gateway",
                        g,
                        format!("not a host address of {subnet}"),
                    ));
                }
                g.clone()
            }
            None if req.internal => String::new(),
            None => subnet.nth(1),
        };
        let lease_range = match &req.ip_range {
            Some(r) => {
                let range = Subnet::parse(r)
                    .ok_or_else(|| bad("--ip-range", r, "not an IPv4 range A.B.C.D/LEN"))?;
                if !subnet.contains(range.net) || range.len < subnet.len {
                    return Err(bad("--ip-range", r, format!("not inside {subnet}")));
                }
                // podman's: the range's first host to its last address.
                Some(LeaseRange {
                    start_ip: range.nth(1),
                    end_ip: std::net::Ipv4Addr::from(range.last()).to_string(),
                })
            }
            None => None,
        };
        let interface = (1..)
            .map(|n| format!("berth{n}"))
            .find(|b| {
                !known.iter().any(|k| &k.network_interface == b)
                    && !claims.iter().any(|(c, _)| c == b)
                    && !Path::new("/sys/class/net").join(b).exists()
            })
            .unwrap_or_default();
        let mut info = NetworkInfo {
            id: berth_storage::Digest::of(req.name.as_bytes())
                .hex()
                .to_string(),
            name: req.name.clone(),
            driver: "bridge".into(),
            network_interface: interface,
            created: crate::clock::now_rfc3339(),
            subnets: vec![SubnetInfo {
                subnet: subnet.to_string(),
                gateway,
                lease_range,
            }],
            ipv6_enabled: false,
            internal: req.internal,
            dns_enabled: false,
            labels: req.labels.clone(),
            ipam_options: [("driver".to_string(), "host-local".to_string())].into(),
        };
        std::fs::create_dir_all(&self.dir).map_err(|source| NetError::Io {
            op: "create",
            path: self.dir.clone(),
            source,
        })?;
        let mut text = serde_json::to_vec_pretty(&conflist(&info)).unwrap_or_default();
        text.push(b'\n');
        let claims_dir = self.state_dir.join("bridges");
        std::fs::create_dir_all(&claims_dir).map_err(|source| NetError::Io {
            op: "create",
            path: claims_dir.clone(),
            source,
        })?;
        let claim = claims_dir.join(&info.network_interface);
        berth_storage::write_atomic(&claim, subnet.to_string().as_bytes())?;
        if let Err(e) = berth_storage::write_atomic(&self.path(&req.name), &text) {
            let _ = std::fs::remove_file(&claim);
            return Err(e.into());
        }
        info.created = self.load(&req.name)?.0.created;
        Ok(info)
    }

    /// The bridges claimed host-wide, with their subnets.
    fn claims(&self) -> Vec<(String, Subnet)> {
        let dir = self.state_dir.join("bridges");
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let text = std::fs::read_to_string(e.path()).ok()?;
                let s = Subnet::parse(text.trim())?;
                Some((e.file_name().to_string_lossy().into_owned(), s))
            })
            .collect()
    }

    /// Remove `name`: its isolation rule, its bridge, its leases and its
    /// file. The caller holds the lock and has dealt with its containers.
    pub fn remove_locked(&self, name: &str) -> Result<(), NetError> {
        let (info, _) = self.load(name)?;
        remove_isolation(&info)?;
        let link = Path::new("/sys/class/net").join(&info.network_interface);
        if link.exists() {
            run_tool("ip", &["link", "del", &info.network_interface])?;
        }
        let leases = self.state_dir.join("ipam").join(name);
        if leases.exists() {
            std::fs::remove_dir_all(&leases).map_err(|source| NetError::Io {
                op: "remove",
                path: leases,
                source,
            })?;
        }
        let path = self.path(name);
        std::fs::remove_file(&path).map_err(|source| NetError::Io {
            op: "remove",
            path,
            source,
        })?;
        let claim = self.state_dir.join("bridges").join(&info.network_interface);
        match std::fs::remove_file(&claim) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetError::Io {
                op: "remove",
                path: claim,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

fn run_tool(tool: &str, args: &[&str]) -> Result<(), NetError> {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .map_err(|e| NetError::Plugin {
            plugin: tool.into(),
            command: args.join(" "),
            message: e.to_string(),
        })?;
    if !out.status.success() {
        return Err(NetError::Plugin {
            plugin: tool.into(),
            command: args.join(" "),
            message: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(())
}

/// The FORWARD rule that keeps the network apart from berth's other
/// bridges: out of its bridge to any `berth*` bridge only for its own
/// subnet (a reply to another network dies here, so neither side
/// connects).
fn isolation_rule(info: &NetworkInfo) -> Vec<String> {
    let comment = format!("berth network {} isolation", info.name);
    [
        "FORWARD",
        "-i",
        &info.network_interface,
        "-o",
        "berth+",
        "!",
        "-d",
        &info.subnets[0].subnet,
        "-m",
        "comment",
        "--comment",
        &comment,
        "-j",
        "DROP",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn iptables(op: &str, rule: &[String]) -> std::io::Result<std::process::Output> {
    std::process::Command::new("iptables")
        .args(["-w", op])
        .args(rule)
        .output()
}

/// Make the isolation rule unless it is there (called under the lock
/// when the bridge is missing: after boot, or before the first container).
pub(crate) fn ensure_isolation(info: &NetworkInfo) -> Result<(), NetError> {
    let rule = isolation_rule(info);
    if iptables("-C", &rule).is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    let mut args = vec!["-w".to_string(), "-I".into()];
    args.extend(rule);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_tool("iptables", &args)
}

fn remove_isolation(info: &NetworkInfo) -> Result<(), NetError> {
    let rule = isolation_rule(info);
    while iptables("-C", &rule).is_ok_and(|o| o.status.success()) {
        let mut args = vec!["-w".to_string(), "-D".into()];
        args.extend(rule.clone());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_tool("iptables", &args)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflist_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let store = Store {
            dir: d.path().join("nets"),
            state_dir: d.path().join("state"),
        };
        let req = NetworkCreate {
            name: "t1".into(),
            subnet: Some("10.77.5.0/24".into()),
            gateway: Some("10.77.5.1".into()),
            ip_range: Some("10.77.5.128/25".into()),
            internal: true,
            labels: [("a".to_string(), "b".to_string())].into(),
            ..Default::default()
        };
        let made = store.create(&req).unwrap();
        let (loaded, list) = store.load("t1").unwrap();
        assert_eq!(made, loaded);
        assert_eq!(list["args"]["podman_labels"]["a"], "b");
        assert_eq!(list["plugins"][0]["isGateway"], false);
        let r = loaded.subnets[0].lease_range.clone().unwrap();
        assert_eq!(
            (r.start_ip.as_str(), r.end_ip.as_str()),
            ("10.77.5.129", "10.77.5.255")
        );
        assert!(matches!(
            store.create(&req),
            Err(NetError::NetworkExists(_))
        ));
        for (req, what) in [
            (
                NetworkCreate {
                    name: "-x".into(),
                    ..Default::default()
                },
                "network name",
            ),
            (
                NetworkCreate {
                    name: "x".into(),
                    driver: Some("macvlan".into()),
                    ..Default::default()
                },
                "--driver",
            ),
            (
                NetworkCreate {
                    name: "x".into(),
                    subnet: Some("10.77.5.0/25".into()),
                    ..Default::default()
                },
                "overlaps",
            ),
            (
                NetworkCreate {
                    name: "x".into(),
                    subnet: Some("bogus".into()),
                    ..Default::default()
                },
                "--subnet",
            ),
            (
                NetworkCreate {
                    name: "x".into(),
                    subnet: Some("10.78.0.0/24".into()),
                    gateway: Some("10.79.0.1".into()),
                    ..Default::default()
                },
                "--gateway",
            ),
            (
                NetworkCreate {
                    name: "x".into(),
                    subnet: Some("10.78.0.0/24".into()),
                    ip_range: Some("10.79.0.0/25".into()),
                    ..Default::default()
                },
                "--ip-range",
            ),
        ] {
            let e = store.create(&req).unwrap_err().to_string();
            assert!(e.contains(what), "{what}: {e}");
        }
        assert_eq!(store.list().unwrap().len(), 1);
    }
}
