//! The network of a `berth run` container: at each start, its published
//! host ports are reserved, its namespace pinned at
//! `<runroot>/netns/<id>` (the `path` of the network namespace in its
//! config.json) and attached to the default bridge; when the run is
//! released (its end, `stop`, `rm -f`, or [`Engine::refresh`] after a
//! killed waiter) the namespace is unpinned and the attachment undone.
//!
//! The reserving sockets belong to whoever waits for the container — the
//! foreground `berth` or the monitor — so they live exactly as long as
//! someone watches the container, and die with that process if it is
//! killed (the rules are then removed by the next `refresh`).

use super::ports::{self, PortMapping, Reservation};
use super::{netns, Attachment, Network};
use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::image_config::ImageConfig;
use crate::options::{CreateOptions, NetworkMode};
use crate::record::State;
use std::path::PathBuf;
use std::sync::Mutex;

/// Host ports this process holds, by container id.
static HELD: Mutex<Vec<(String, Reservation)>> = Mutex::new(Vec::new());

impl Engine {
    /// Where the container's network namespace is pinned.
    pub(crate) fn netns_path(&self, id: &str) -> PathBuf {
        self.opts.runroot.join("netns").join(id)
    }

    /// Options as the container keeps them: `-P` turned into mappings of
    /// the image's exposed ports (those not published already). Refuses
    /// `-p` without a bridge and a fixed host port someone holds, before
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
        if !opts.ports.is_empty() && opts.network != NetworkMode::Bridge {
            return Err(Error::InvalidOption {
                option: "--publish",
                value: format!("{}", opts.ports[0].container_port),
                reason: "ports can only be published with --network bridge".into(),
            });
        }
        ports::check_free(&opts.ports)?;
        Ok(opts)
    }

    /// Reserve the ports, pin a namespace and attach it; record the
    /// attachment in `state` and the address in the container's
    /// `/etc/hosts`. On an error nothing of it is left.
    pub(crate) fn network_up(
        &self,
        id: &str,
        opts: &CreateOptions,
        state: &mut State,
    ) -> Result<()> {
        if opts.network != NetworkMode::Bridge {
            return Ok(());
        }
        let (maps, hold) = ports::reserve(&opts.ports)?;
        let path = self.netns_path(id);
        netns::create(&path)?;
        let attached = Network::default_bridge()
            .attach(id, &path, &maps)
            .map_err(Error::from)
            .and_then(|a| self.hosts_address(id, &a).map(|()| a));
        match attached {
            Ok(a) => {
                state.network = Some(a);
                if let Ok(mut held) = HELD.lock() {
                    held.push((id.to_string(), hold));
                }
                Ok(())
            }
            Err(e) => {
                let _ = Network::default_bridge().detach(id, &path);
                let _ = netns::remove(&path);
                Err(e)
            }
        }
    }

    /// Undo [`Engine::network_up`]: unpin the namespace first (the kernel
    /// then drops the container's veth with it, cheaper than deleting it
    /// inside), then DEL, which tolerates the namespace being gone (as it
    /// is after a reboot), then free the host ports.
    pub(crate) fn network_down(&self, id: &str, state: &mut State) -> Result<()> {
        let path = self.netns_path(id);
        let net = Network::default_bridge();
        if state.network.is_none() && !net.is_attached(id) && !path.exists() {
            return Ok(());
        }
        netns::remove(&path)?;
        net.detach(id, &path)?;
        state.network = None;
        if let Ok(mut held) = HELD.lock() {
            held.retain(|(i, _)| i != id);
        }
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
pub fn published(opts: &CreateOptions, state: &State) -> Vec<PortMapping> {
    match &state.network {
        Some(a) => a.ports.clone(),
        None => opts.ports.clone(),
    }
}
