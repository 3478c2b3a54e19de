//! `--ip ADDR`: an address asked for on the bridge network. It must lie
//! in the network's subnet, be none of the subnet's own addresses (the
//! network, the gateway, the broadcast), and not be leased already;
//! host-local then hands out exactly it (the `ips` capability), and
//! refuses it if someone took it in between.

use super::{config, NetError};
use std::net::Ipv4Addr;
use std::path::Path;

fn bad(ip: &str, reason: String) -> NetError {
    NetError::RequestedIp {
        ip: ip.to_string(),
        reason,
    }
}

/// Check `ip` against the default network's subnet and the leases kept
/// under `ipam_dir` (host-local's `dataDir`: one file per leased
/// address). Returns it parsed.
pub(crate) fn check(ip: &str, ipam_dir: &Path) -> Result<Ipv4Addr, NetError> {
    check_on(ip, ipam_dir, config::NAME, config::SUBNET, config::GATEWAY)
}

/// [`check`] on the network `name` with `subnet` and `gateway`.
pub(crate) fn check_on(
    ip: &str,
    ipam_dir: &Path,
    name: &str,
    subnet: &str,
    gateway: &str,
) -> Result<Ipv4Addr, NetError> {
    let addr: Ipv4Addr = ip
        .parse()
        .map_err(|_| bad(ip, "not an IPv4 address".into()))?;
    let sub =
        super::subnet::Subnet::parse(subnet).unwrap_or(super::subnet::Subnet { net: 0, len: 32 });
    let (net, mask) = (sub.net, sub.mask());
    let a = u32::from(addr);
    if a & mask != net {
        return Err(bad(ip, format!("not in network {name}'s subnet {subnet}")));
    }
    let gateway = gateway.parse::<Ipv4Addr>().map(u32::from).ok();
    if a == net || a == net | !mask || Some(a) == gateway {
        return Err(bad(
            ip,
            format!("is the network, broadcast or gateway address of {subnet}"),
        ));
    }
    if ipam_dir.join(name).join(ip).exists() {
        return Err(bad(ip, "already in use by another container".into()));
    }
    Ok(addr)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_free_outside_and_taken() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            check("10.90.3.4", d.path()).unwrap(),
            Ipv4Addr::new(10, 90, 3, 4)
        );
        for (ip, why) in [
            ("10.91.0.5", "not in network"),
            ("bogus", "not an IPv4"),
            ("10.90.0.1", "gateway"),
            ("10.90.0.0", "network"),
            ("10.90.255.255", "broadcast"),
        ] {
            let e = check(ip, d.path()).unwrap_err().to_string();
            assert!(e.contains(ip) && e.contains(why), "{ip}: {e}");
        }
        std::fs::create_dir_all(d.path().join(config::NAME)).unwrap();
        std::fs::write(d.path().join(config::NAME).join("10.90.3.4"), "x").unwrap();
        let e = check("10.90.3.4", d.path()).unwrap_err().to_string();
        assert!(e.contains("already in use"), "{e}");
    }
}
