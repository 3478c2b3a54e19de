//! The default network mode of `run`/`create` from containers.conf, as
//! podman 4.3 reads it: `[containers] netns` is `bridge`, `private` (a
//! network namespace of its own: the bridge for root, as podman), `host`
//! or `none`; `[network] default_network` names the bridge network, and
//! berth has one (podman's `podman`), so the name is accepted as it is.
//! The same files as the other defaults ([`super::containers_conf::files`]),
//! a later file's key overriding an earlier one's.

use super::ContainersConf;
use berth_engine::NetworkMode;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Default, Deserialize)]
struct FileFormat {
    #[serde(default)]
    containers: Containers,
}

#[derive(Debug, Default, Deserialize)]
struct Containers {
    netns: Option<String>,
}

/// The network mode for a container without `--network`.
pub fn default_network_mode(conf: &ContainersConf) -> anyhow::Result<NetworkMode> {
    let mut netns = None;
    for (f, path) in conf.each::<FileFormat>()? {
        if let Some(n) = f.containers.netns {
            netns = Some((n, path));
        }
    }
    match netns {
        Some((n, path)) => mode(&n, path),
        None => Ok(berth_engine::default_network_mode()),
    }
}

fn mode(netns: &str, path: &Path) -> anyhow::Result<NetworkMode> {
    Ok(match netns {
        "" | "private" => berth_engine::default_network_mode(),
        "bridge" => NetworkMode::Bridge,
        "host" => NetworkMode::Host,
        "none" => NetworkMode::None,
        other => anyhow::bail!(
            "{}: [containers] netns {other:?}: berth supports bridge, private, host and none",
            path.display()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podmans_netns_values() {
        let p = Path::new("/c.conf");
        assert_eq!(mode("host", p).unwrap(), NetworkMode::Host);
        assert_eq!(mode("none", p).unwrap(), NetworkMode::None);
        assert_eq!(mode("bridge", p).unwrap(), NetworkMode::Bridge);
        assert_eq!(
            mode("private", p).unwrap(),
            berth_engine::default_network_mode()
        );
        let err = mode("slirp4netns", p).unwrap_err().to_string();
        assert!(
            err.contains("/c.conf") && err.contains("slirp4netns"),
            "{err}"
        );
    }
}
