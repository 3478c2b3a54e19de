//! `berth port`, and the network parts of `berth inspect` in podman's
//! shape (`NetworkSettings`, `Config.ExposedPorts`).

use crate::Cli;
use berth_engine::{ContainerInfo, PortMapping};
use clap::Args;
use serde_json::{json, Map, Value};

#[derive(Args)]
pub struct PortArgs {
    /// Every running container's ports.
    #[arg(short, long)]
    pub all: bool,
    /// The container.
    #[arg(required_unless_present = "all")]
    pub container: Option<String>,
    /// Only this container port: PORT[/PROTO].
    pub port: Option<String>,
}

/// `berth port CTR [PORT[/PROTO]]`: `80/tcp -> 127.0.0.1:8080` per
/// mapping, or only `127.0.0.1:8080` for the port asked about (podman's).
pub fn port(cli: &Cli, a: &PortArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    if a.all {
        // podman: a line per mapping of each running container.
        for info in engine.list()?.into_iter().rev() {
            let maps = berth_engine::published_ports(&info.meta.options, &info.state);
            if info.state.status != berth_engine::Status::Running || maps.is_empty() {
                continue;
            }
            for m in &maps {
                let (id, host) = (&info.id[..12], m.host_ip_text());
                println!(
                    "{id}\t{}/{} -> {host}:{}",
                    m.container_port, m.protocol, m.host_port
                );
            }
        }
        return Ok(());
    }
    let Some(name) = &a.container else {
        anyhow::bail!("port needs a container or --all");
    };
    let info = engine.inspect(name)?;
    let maps = berth_engine::published_ports(&info.meta.options, &info.state);
    let Some(want) = &a.port else {
        for m in &maps {
            println!(
                "{}/{} -> {}:{}",
                m.container_port,
                m.protocol,
                m.host_ip_text(),
                m.host_port
            );
        }
        return Ok(());
    };
    let (num, proto) = want.split_once('/').unwrap_or((want, "tcp"));
    let num: u16 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("invalid port {want:?}: PORT[/PROTO]"))?;
    let hits: Vec<&PortMapping> = maps
        .iter()
        .filter(|m| m.container_port == num && m.protocol == proto)
        .collect();
    anyhow::ensure!(!hits.is_empty(), "failed to find published port {want:?}");
    for m in hits {
        println!("{}:{}", m.host_ip_text(), m.host_port);
    }
    Ok(())
}

/// podman's `Ports`: every exposed or published `port/proto`, with its host
/// bindings (null when only exposed).
fn ports_json(info: &ContainerInfo) -> Value {
    let mut ports = Map::new();
    for key in &info.meta.exposed_ports {
        ports.insert(key.clone(), Value::Null);
    }
    for m in berth_engine::published_ports(&info.meta.options, &info.state) {
        let key = format!("{}/{}", m.container_port, m.protocol);
        let bind = json!({"HostIp": m.host_ip_text(), "HostPort": m.host_port.to_string()});
        match ports.get_mut(&key) {
            Some(Value::Array(v)) => v.push(bind),
            _ => {
                ports.insert(key, json!([bind]));
            }
        }
    }
    Value::Object(ports)
}

/// The PORTS column of `ps`: `127.0.0.1:8080->80/tcp, …` as podman's.
pub fn ports_column(info: &ContainerInfo) -> String {
    berth_engine::published_ports(&info.meta.options, &info.state)
        .iter()
        .map(|m| {
            format!(
                "{}:{}->{}/{}",
                m.host_ip_text(),
                m.host_port,
                m.container_port,
                m.protocol
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `NetworkSettings` of `inspect`.
pub fn settings(info: &ContainerInfo) -> Value {
    let a = info.state.network.clone().unwrap_or_default();
    let mode = info.meta.options.network;
    let mut networks = Map::new();
    // podman's order: the --network-alias names, then the short id.
    let mut aliases = info.meta.options.network_aliases.clone();
    aliases.push(info.id[..12].to_string());
    if mode == berth_engine::NetworkMode::Bridge {
        let name = info
            .meta
            .options
            .network_name
            .as_deref()
            .unwrap_or(berth_engine::network::config::NAME);
        networks.insert(
            name.into(),
            json!({
                "EndpointID": "",
                "Gateway": a.gateway,
                "IPAddress": a.ip,
                "IPPrefixLen": a.prefix_len,
                "IPv6Gateway": "",
                "GlobalIPv6Address": "",
                "GlobalIPv6PrefixLen": 0,
                "MacAddress": a.mac,
                "NetworkID": name,
                "DriverOpts": null,
                "IPAMConfig": null,
                "Links": null,
                "Aliases": aliases,
            }),
        );
    }
    json!({
        "Mode": mode,
        "EndpointID": "",
        "Gateway": a.gateway,
        "IPAddress": a.ip,
        "IPPrefixLen": a.prefix_len,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "MacAddress": a.mac,
        "Bridge": "",
        "SandboxID": "",
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "Ports": ports_json(info),
        "SandboxKey": a.netns,
        "Networks": networks,
    })
}

/// `Config.ExposedPorts` of `inspect`: `{"80/tcp": {}}`.
pub fn exposed_ports(info: &ContainerInfo) -> Value {
    Value::Object(
        info.meta
            .exposed_ports
            .iter()
            .map(|k| (k.clone(), json!({})))
            .collect(),
    )
}
