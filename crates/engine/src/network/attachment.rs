//! What a namespace got from the network, as `inspect` shows it.

use super::cni::{CniResult, Interface, IpConfig};
use super::ports::PortMapping;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::path::PathBuf;

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
    pub(crate) fn from_result(
        network: &str,
        netns: &Path,
        r: &CniResult,
        ports: &[PortMapping],
    ) -> Self {
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
