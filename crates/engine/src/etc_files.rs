//! `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf` for a container,
//! written next to its bundle and bind-mounted in.

use crate::error::{IoContext, Result};
use crate::life_options::LifeOptions;
use crate::options::NetworkMode;
use std::path::Path;

pub(crate) fn host_resolv_conf(private_net: bool) -> String {
    let main = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    // systemd-resolved's stub (127.0.0.53) is unreachable from another
    // network namespace: use the upstream servers it lists, as podman does.
    if private_net && main.contains("127.0.0.53") {
        if let Ok(up) = std::fs::read_to_string("/run/systemd/resolve/resolv.conf") {
            return up;
        }
    }
    main
}

/// Write `hosts`, `hostname` and `resolv.conf` into `dir`: `--add-host`
/// entries first (as podman), the container's own line last (the network
/// puts its address there); `--dns*` options replace the host's lines.
pub fn write_etc_files(
    dir: &Path,
    hostname: &str,
    name: &str,
    net: NetworkMode,
    life: &LifeOptions,
) -> Result<()> {
    let mut hosts = life.hosts_lines();
    hosts.push_str(&match net {
        NetworkMode::Host => std::fs::read_to_string("/etc/hosts").unwrap_or_default(),
        _ => "127.0.0.1\tlocalhost localhost.localdomain\n::1\tlocalhost localhost.localdomain ip6-localhost ip6-loopback\n".to_string(),
    });
    if !hosts.is_empty() && !hosts.ends_with('\n') {
        hosts.push('\n');
    }
    hosts.push_str(&format!("127.0.1.1\t{hostname} {name}\n"));
    let files = [
        ("hosts", hosts),
        ("hostname", format!("{hostname}\n")),
        (
            "resolv.conf",
            life.resolv_conf(&host_resolv_conf(net != NetworkMode::Host)),
        ),
    ];
    for (file, text) in files {
        let p = dir.join(file);
        std::fs::write(&p, text).ctx("write", &p)?;
    }
    Ok(())
}
