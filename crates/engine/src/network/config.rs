//! berth's default network, `berth`: a CNI list of Debian's
//! containernetworking-plugins — `bridge` (bridge `berth0`, gateway,
//! hairpin) with `host-local` addresses from 10.90.0.0/16, then `portmap`
//! (DNAT for `-p`, with `snat` so 127.0.0.1:PORT reaches the container).
//!
//! NAT out is one masquerade rule for the whole subnet, made with the
//! bridge, instead of the bridge plugin's `ipMasq` (a chain per container:
//! five iptables-nft runs, ~50 ms on ADD and as much on DEL). netavark
//! does the same per network.

use super::NetError;
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;

/// The network's name (podman's is `podman`).
pub const NAME: &str = "berth";
/// The bridge on the host.
pub const BRIDGE: &str = "berth0";
/// The addresses containers get.
pub const SUBNET: &str = "10.90.0.0/16";
/// The bridge's own address, the containers' default route.
pub const GATEWAY: &str = "10.90.0.1";

/// The conflist, with host-local keeping its leases under `ipam_dir`.
pub fn conflist(ipam_dir: &Path) -> Value {
    json!({
        "cniVersion": super::cni::VERSION,
        "name": NAME,
        "plugins": [
            {
                "type": "bridge",
                // `--ip`: host-local, run by bridge with the same config,
                // reads `runtimeConfig.ips`.
                "capabilities": {"ips": true},
                "bridge": BRIDGE,
                "isGateway": true,
                "ipMasq": false,
                "hairpinMode": true,
                "ipam": {
                    "type": "host-local",
                    "dataDir": ipam_dir,
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "ranges": [[{"subnet": SUBNET, "gateway": GATEWAY}]]
                }
            },
            {
                "type": "portmap",
                "capabilities": {"portMappings": true},
                "snat": true
            }
        ]
    })
}

/// The list as run for a container: without `portmap` when nothing is
/// published (it would do nothing, and each plugin is a process).
pub fn for_ports(list: &Value, publishing: bool) -> Value {
    let mut l = list.clone();
    if !publishing {
        if let Some(p) = l["plugins"].as_array_mut() {
            p.retain(|p| p["type"] != "portmap");
        }
    }
    l
}

/// Whether the bridge exists yet (made by the bridge plugin on first ADD).
pub fn bridge_exists() -> bool {
    Path::new("/sys/class/net").join(BRIDGE).exists()
}

fn iptables(args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new("iptables").arg("-w").args(args).output()
}

/// Make sure traffic from the subnet to elsewhere is masqueraded. Called
/// (under the network lock) when the bridge is missing, i.e. on the first
/// container after boot, so the common path runs no iptables at all.
pub fn ensure_masquerade() -> Result<(), NetError> {
    let rule = [
        "POSTROUTING",
        "-s",
        SUBNET,
        "!",
        "-d",
        SUBNET,
        "-m",
        "comment",
        "--comment",
        "berth network berth",
        "-j",
        "MASQUERADE",
    ];
    let fail = |m: String| NetError::Plugin {
        plugin: "iptables".into(),
        command: "masquerade".into(),
        message: m,
    };
    let mut check = vec!["-t", "nat", "-C"];
    check.extend(rule);
    if iptables(&check).is_ok_and(|o| o.status.success()) {
        return Ok(());
    }
    let mut add = vec!["-t", "nat", "-A"];
    add.extend(rule);
    let out = iptables(&add).map_err(|e| fail(e.to_string()))?;
    if !out.status.success() {
        return Err(fail(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portmap_only_when_publishing() {
        let l = conflist(Path::new("/x"));
        assert_eq!(l["plugins"][0]["ipam"]["dataDir"], "/x");
        assert_eq!(for_ports(&l, true)["plugins"].as_array().unwrap().len(), 2);
        assert_eq!(for_ports(&l, false)["plugins"].as_array().unwrap().len(), 1);
    }
}
