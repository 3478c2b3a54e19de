//! The network of a `berth run` container, over the engine's
//! [`Networks`]: at each start its published host ports are reserved, its
//! namespace pinned at `<runroot>/netns/<id>` (the `path` of the network
//! namespace in its config.json) and attached to the default bridge; when
//! the run is released (its end, `stop`, `rm -f`, or [`Engine::refresh`]
//! after a killed waiter) all of it is undone.
//!
//! The reserving sockets belong to whoever waits for the container — the
//! foreground `berth` or the monitor — so they live exactly as long as
//! someone watches the container, and die with that process if it is
//! killed (the rules are then removed by the next `refresh`).

use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::image_config::ImageConfig;
use crate::network::ports::PortMapping;
use crate::network::{self, Attachment, Networks};
use crate::options::{CreateOptions, NetworkMode};
use crate::records::State;
use std::path::PathBuf;

impl Engine {
    /// The engine's attachments to the bridge, and the host ports they hold.
    pub fn networks(&self) -> &Networks {
        &self.networks
    }

    /// Where the container's network namespace is pinned.
    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.networks.netns_path(id)
    }

    /// Options as the container keeps them: `-P` turned into mappings of
    /// the image's exposed ports (those not published already). Refuses
    /// `-p`, `--ip` and `--network-alias` without a bridge, a fixed host
    /// port someone holds and an `--ip` the network cannot give, before
    /// anything is made.
    pub(crate) fn network_options(
        &self,
        opts: &CreateOptions,
        image: &ImageConfig,
    ) -> Result<CreateOptions> {
        let mut opts = opts.clone();
        if opts.publish_all {
            for key in &crate::image_config::exposed_ports(image) {
                if let Some(m) = PortMapping::exposed(key) {
                    let published = opts
                        .ports
                        .iter()
                        .any(|p| p.container_port == m.container_port && p.protocol == m.protocol);
                    if !published {
                        opts.ports.push(m);
                    }
                }
            }
        }
        if opts.network == NetworkMode::Bridge && crate::rootless::is_rootless() {
            return Err(Error::InvalidOption {
                option: "--network",
                value: "bridge".into(),
                reason: "an unprivileged user has no bridge: use pasta (the default where \
                         it is installed), none or host"
                    .into(),
            });
        }
        if !opts.ports.is_empty() && !opts.network.pins_netns() {
            return Err(Error::InvalidOption {
                option: "--publish",
                value: format!("{}", opts.ports[0].container_port),
                reason: "ports can only be published with --network bridge or pasta".into(),
            });
        }
        let bridge_only = |option: &'static str, value: String| Error::InvalidOption {
            option,
            value,
            reason: "can only be set when the network mode is bridge".into(),
        };
        if let Some(ip) = &opts.ip {
            if opts.network != NetworkMode::Bridge {
                return Err(bridge_only("--ip", ip.clone()));
            }
        }
        if opts.network == NetworkMode::Bridge {
            // The network exists (and the address fits it) now, not at start.
            self.networks
                .check_ip_on(opts.network_name.as_deref(), opts.ip.as_deref())?;
        }
        if let Some(alias) = opts.network_aliases.first() {
            if opts.network != NetworkMode::Bridge {
                return Err(bridge_only("--network-alias", alias.clone()));
            }
        }
        if opts.network == NetworkMode::Bridge {
            self.networks.check_ports(&opts.ports)?;
        }
        Ok(opts)
    }

    /// Attach the container (see [`Networks::attach`]); record the
    /// attachment in `state` and the address in the container's
    /// `/etc/hosts`. On an error nothing of it is left.
    pub(crate) fn network_up(
        &self,
        id: &str,
        opts: &CreateOptions,
        state: &mut State,
    ) -> Result<()> {
        if opts.network == NetworkMode::Pasta {
            let a = crate::rootless::pasta::up(&self.netns_path(id), &opts.ports)
                .map_err(crate::rootless::Error::from)?;
            state.network = Some(a);
            return Ok(());
        }
        if opts.network != NetworkMode::Bridge {
            return Ok(());
        }
        let a = self.networks.attach_on(
            opts.network_name.as_deref(),
            id,
            &opts.ports,
            opts.ip.as_deref(),
        )?;
        if let Err(e) = self.hosts_address(id, &a) {
            let _ = self.networks.detach(id);
            return Err(e);
        }
        state.network = Some(a);
        Ok(())
    }

    /// Undo [`Engine::network_up`] (see [`Networks::detach`]), from this
    /// process or any other.
    pub(crate) fn network_down(&self, id: &str, state: &mut State) -> Result<()> {
        if state
            .network
            .as_ref()
            .is_some_and(|a| a.network == crate::rootless::pasta::NETWORK)
        {
            crate::rootless::pasta::down(&self.netns_path(id))
                .map_err(crate::rootless::Error::from)?;
            state.network = None;
            return Ok(());
        }
        if state.network.is_none() && !self.networks.is_attached(id) {
            return Ok(());
        }
        self.networks.detach(id)?;
        state.network = None;
        Ok(())
    }

    /// Put the container's address in front of its own line of `hosts`
    /// (the last one, written with 127.0.1.1 at create time).
    fn hosts_address(&self, id: &str, a: &Attachment) -> Result<()> {
        if a.ip.is_empty() {
            return Ok(());
        }
        let path = self.record(id).path().join("hosts");
        let text = std::fs::read_to_string(&path).ctx("read", &path)?;
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        if let Some(last) = lines.last_mut() {
            let names = last.split_once('\t').map_or("", |(_, n)| n).to_string();
            *last = format!("{}\t{names}", a.ip);
        }
        let mut out = lines.join("\n");
        out.push('\n');
        std::fs::write(&path, out).ctx("write", &path)
    }
}

/// The published ports of a container: the live ones while it runs on the
/// network, else the configured ones (random host ports shown as 0).
pub fn published_ports(opts: &CreateOptions, state: &State) -> Vec<PortMapping> {
    match &state.network {
        Some(a) => a.ports.clone(),
        None => opts.ports.clone(),
    }
}

/// `--network` when none is given: `bridge` as root (as podman), pasta
/// for an unprivileged user where it is installed, else `none` (see
/// [`network::bridge_possible`]).
pub fn default_network_mode() -> NetworkMode {
    if network::bridge_possible() {
        NetworkMode::Bridge
    } else if crate::rootless::pasta::available() {
        NetworkMode::Pasta
    } else {
        NetworkMode::None
    }
}
