//! What a pod is made from: the CRI's `PodSandboxConfig` in the engine's
//! terms, and the checks that refuse a bad one before anything is made.

use crate::error::{Error, Result};
use crate::network::ports::PortMapping;
use crate::spec_options::sysctl_namespace;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// A pod sandbox as the CRI's `PodSandboxConfig` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodOptions {
    /// The pod's name (metadata.name).
    pub name: String,
    /// Its uid (metadata.uid).
    pub uid: String,
    /// Its Kubernetes namespace (metadata.namespace).
    pub namespace: String,
    /// Which attempt at this pod it is (metadata.attempt).
    pub attempt: u32,
    /// Labels, kept and given back.
    pub labels: BTreeMap<String, String>,
    /// Annotations, kept and given back.
    pub annotations: BTreeMap<String, String>,
    /// The hostname in its UTS namespace (default: the pod's name); with
    /// `host_network` the host's.
    pub hostname: Option<String>,
    /// Its `resolv.conf`; None is the host's.
    pub dns: Option<PodDns>,
    /// hostPort -> containerPort through CNI's portmap. A mapping with no
    /// host port (0) publishes nothing, as in the CRI.
    pub port_mappings: Vec<PortMapping>,
    /// The host's network (and UTS) namespace: no CNI.
    pub host_network: bool,
    /// The host's PID namespace for its containers.
    pub host_pid: bool,
    /// The host's IPC namespace.
    pub host_ipc: bool,
    /// Sysctls of the pod's namespaces (`net.*` in its network namespace,
    /// `kernel.shm*`, `kernel.msg*`, `kernel.sem`, `fs.mqueue.*` in its
    /// IPC one); any other, or one of a namespace shared with the host, is
    /// refused.
    pub sysctls: BTreeMap<String, String>,
    /// The cgroup its containers' cgroups go under (cgroupfs driver,
    /// absolute); None is the engine's.
    pub cgroup_parent: Option<String>,
    /// Where the CRI wants its containers' logs (kept, given back).
    pub log_directory: Option<PathBuf>,
    /// Pin the namespaces with an infra container of this image instead
    /// of bind-mounted namespace files (see the `infra` module).
    pub pause_image: Option<String>,
    /// The infra container's command (CRI-O's `pause_command`); empty is
    /// the image's.
    pub pause_command: Vec<String>,
}

/// The pod's DNS, written to its `resolv.conf`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PodDns {
    /// `nameserver` lines.
    pub servers: Vec<String>,
    /// The `search` line.
    pub searches: Vec<String>,
    /// The `options` line.
    pub options: Vec<String>,
}

fn invalid(option: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidOption {
        option,
        value: value.into(),
        reason: reason.into(),
    }
}

/// The namespace a pod sysctl belongs to: `net`, `ipc` or `uts`.
pub(crate) fn sysctl_kind(name: &str) -> Option<&'static str> {
    sysctl_namespace(&name.replace('/', "."))
}

impl PodOptions {
    /// Refuse what cannot be made: a missing name, a sysctl of no
    /// namespace or of one the pod shares with the host, a port that is
    /// not tcp or udp, a relative cgroup parent, the pause mode.
    pub(crate) fn check(&self) -> Result<()> {
        if self.pause_image.as_deref() == Some("") {
            return Err(invalid("pause image", "", "an image name is needed"));
        }
        if self.name.is_empty() {
            return Err(invalid("pod name", "", "a pod needs a name"));
        }
        for field in [&self.name, &self.namespace, &self.uid] {
            if field.contains('/') || field.contains('\0') {
                return Err(invalid(
                    "pod metadata",
                    field.as_str(),
                    "no '/' or NUL allowed",
                ));
            }
        }
        if let Some(h) = &self.hostname {
            if h.is_empty() || h.len() > 64 || h.contains(['/', '\0', ' ']) {
                return Err(invalid("pod hostname", h.as_str(), "not a valid hostname"));
            }
        }
        for (name, value) in &self.sysctls {
            let shown = format!("{name}={value}");
            match sysctl_kind(name) {
                None => {
                    return Err(invalid(
                        "sysctl",
                        shown,
                        "not a namespaced sysctl (net.*, kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, kernel.hostname, kernel.domainname)",
                    ))
                }
                Some("net") | Some("uts") if self.host_network => {
                    return Err(invalid("sysctl", shown, "the pod uses the host's network"))
                }
                Some("ipc") if self.host_ipc => {
                    return Err(invalid("sysctl", shown, "the pod uses the host's IPC"))
                }
                Some(_) => {}
            }
            if name.contains("..") || value.contains('\n') {
                return Err(invalid("sysctl", shown, "malformed"));
            }
        }
        for m in &self.port_mappings {
            if m.protocol != "tcp" && m.protocol != "udp" {
                return Err(invalid(
                    "port mapping",
                    format!("{}/{}", m.container_port, m.protocol),
                    "the protocol is tcp or udp",
                ));
            }
            if m.host_port != 0 && self.host_network {
                return Err(invalid(
                    "port mapping",
                    m.host_port.to_string(),
                    "a pod on the host's network publishes no ports",
                ));
            }
        }
        if let Some(c) = &self.cgroup_parent {
            if !c.starts_with('/') || c.split('/').any(|p| p == "..") {
                return Err(invalid(
                    "cgroup parent",
                    c.as_str(),
                    "must be an absolute cgroupfs path",
                ));
            }
        }
        Ok(())
    }

    /// The mappings that publish something (a host port is given).
    pub(crate) fn published(&self) -> Vec<PortMapping> {
        self.port_mappings
            .iter()
            .filter(|m| m.host_port != 0)
            .cloned()
            .collect()
    }

    /// The hostname in the pod's own UTS namespace.
    pub(crate) fn own_hostname(&self) -> String {
        self.hostname.clone().unwrap_or_else(|| self.name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named() -> PodOptions {
        PodOptions {
            name: "p".into(),
            ..Default::default()
        }
    }

    #[test]
    fn sysctls_of_the_pods_namespaces_only() {
        let mut o = named();
        o.sysctls
            .insert("net.ipv4.ip_unprivileged_port_start".into(), "0".into());
        o.sysctls.insert("kernel.shmmax".into(), "1000".into());
        o.check().unwrap();
        o.sysctls.insert("vm.swappiness".into(), "1".into());
        let e = o.check().unwrap_err().to_string();
        assert!(
            e.contains("vm.swappiness") && e.contains("namespaced"),
            "{e}"
        );
        let mut o = named();
        o.host_network = true;
        o.sysctls.insert("net.ipv4.ip_forward".into(), "1".into());
        assert!(o
            .check()
            .unwrap_err()
            .to_string()
            .contains("host's network"));
    }

    #[test]
    fn other_refusals() {
        assert!(PodOptions::default().check().is_err());
        let mut o = named();
        o.cgroup_parent = Some("relative".into());
        assert!(o.check().is_err());
        let mut o = named();
        o.pause_image = Some(String::new());
        assert!(o.check().is_err());
    }
}
