//! `berth network create|ls|inspect|rm|exists|prune`: user-defined bridge
//! networks, podman's commands, output and exit codes.

use crate::Cli;
use berth_engine::network::{NetworkCreate, NetworkInfo};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

#[derive(Args)]
pub struct NetworkArgs {
    #[command(subcommand)]
    pub command: NetworkCommand,
}

#[derive(Subcommand)]
pub enum NetworkCommand {
    /// Create a bridge network.
    Create(CreateArgs),
    /// List networks.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show networks as JSON.
    Inspect(InspectArgs),
    /// Remove networks.
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Exit 0 if the network exists, 1 if not.
    Exists(ExistsArgs),
    /// Remove every user-defined network no container is on.
    Prune(PruneArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// Subnet in CIDR form (else a free 10.89.N.0/24).
    #[arg(long)]
    pub subnet: Option<String>,
    /// Gateway (else the subnet's first address).
    #[arg(long)]
    pub gateway: Option<String>,
    /// Hand out addresses only from this CIDR range of the subnet.
    #[arg(long)]
    pub ip_range: Option<String>,
    /// No way out: no gateway, no NAT, no default route.
    #[arg(long)]
    pub internal: bool,
    /// KEY=VALUE labels.
    #[arg(long)]
    pub label: Vec<String>,
    /// The driver: only bridge.
    #[arg(short, long)]
    pub driver: Option<String>,
    /// Succeed without a word when the network exists.
    #[arg(long)]
    pub ignore: bool,
    /// The name (else berthN).
    pub name: Option<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Only names.
    #[arg(short, long)]
    pub quiet: bool,
    /// `json`, or a Go template (`table …` for a header and columns).
    #[arg(long)]
    pub format: Option<String>,
    /// Keep only networks that match: name=, label=, driver=.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// No header line.
    #[arg(long)]
    pub noheading: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Networks.
    #[arg(required = true)]
    pub names: Vec<String>,
    /// `json`, or a Go template (`{{.Name}}`).
    #[arg(short, long)]
    pub format: Option<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Remove the containers on it first.
    #[arg(short, long)]
    pub force: bool,
    /// Networks.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args)]
pub struct ExistsArgs {
    /// The name.
    pub name: String,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask (berth never asks; accepted for podman's scripts).
    #[arg(short, long)]
    pub force: bool,
}

pub fn network(cli: &Cli, a: &NetworkArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let nets = engine.networks();
    match &a.command {
        NetworkCommand::Create(c) => {
            let name = match &c.name {
                Some(n) => n.clone(),
                None => free_name(&nets.list_networks()?),
            };
            let mut labels = std::collections::BTreeMap::new();
            for l in &c.label {
                let (k, v) = l.split_once('=').unwrap_or((l, ""));
                labels.insert(k.to_string(), v.to_string());
            }
            let req = NetworkCreate {
                name: name.clone(),
                driver: c.driver.clone(),
                subnet: c.subnet.clone(),
                gateway: c.gateway.clone(),
                ip_range: c.ip_range.clone(),
                internal: c.internal,
                labels,
            };
            match nets.create_network(&req) {
                Ok(_) => println!("{name}"),
                Err(berth_engine::network::NetError::NetworkExists(_)) if c.ignore => {
                    println!("{name}")
                }
                Err(e) => return Err(e.into()),
            }
        }
        NetworkCommand::Ls(l) => {
            let list = filtered(nets.list_networks()?, &l.filter)?;
            if l.quiet {
                for n in &list {
                    println!("{}", n.name);
                }
                return Ok(());
            }
            let views = list.iter().map(view).collect();
            crate::report::print_list(
                l.format.as_deref(),
                "table {{.ID}}\t{{.Name}}\t{{.Driver}}",
                &[("ID", "NETWORK ID")],
                !l.noheading,
                &crate::report::Rows { json: list, views },
            )?;
        }
        NetworkCommand::Inspect(i) => {
            let mut list = Vec::new();
            let mut failed = None;
            for n in &i.names {
                match nets.network(n) {
                    Ok(info) => list.push(info),
                    Err(e) => {
                        eprintln!("Error: {e}");
                        failed = Some(e);
                    }
                }
            }
            match i.format.as_deref() {
                Some(f) if !crate::template::table::is_json_format(f) => {
                    let views: Vec<Value> = list.iter().map(view).collect();
                    crate::report::print_inspect(Some(f), &views)?;
                }
                _ => crate::report::print_inspect(None, &list)?,
            }
            if failed.is_some() {
                return Err(crate::exit_code::Reported(125).into());
            }
        }
        NetworkCommand::Rm(r) => {
            crate::each::each(&r.names, false, |n| {
                engine.remove_network(n, r.force)?;
                Ok(n.clone())
            })?;
        }
        NetworkCommand::Exists(e) => {
            if let Err(err) = nets.network(&e.name) {
                if matches!(err, berth_engine::network::NetError::NetworkNotFound(_)) {
                    return Err(crate::exit_code::Reported(1).into());
                }
                return Err(err.into());
            }
        }
        NetworkCommand::Prune(_) => {
            for n in engine.prune_networks()? {
                println!("{n}");
            }
        }
    }
    Ok(())
}

/// `run/create --network`: a mode (none, host, bridge, …), berth's
/// default network by name, or a user-defined network (a bridge
/// container on it). One network only.
pub fn network_flag(s: &str) -> anyhow::Result<(berth_engine::NetworkMode, Option<String>)> {
    use berth_engine::NetworkMode;
    if s == berth_engine::network::config::NAME {
        return Ok((NetworkMode::Bridge, None));
    }
    match NetworkMode::parse(s) {
        Ok(m) => Ok((m, None)),
        Err(_) if s.contains(',') => anyhow::bail!(
            "--network {s}: berth attaches a container to one network (several are not supported)"
        ),
        Err(e) if s.contains(':') || s.is_empty() => Err(e.into()),
        Err(_) => Ok((NetworkMode::Bridge, Some(s.to_string()))),
    }
}

/// podman's name for a network created without one: the first free berthN.
fn free_name(known: &[NetworkInfo]) -> String {
    (1..)
        .map(|n| format!("berth{n}"))
        .find(|n| !known.iter().any(|k| &k.name == n))
        .unwrap_or_default()
}

/// What a template sees: podman's Go field names.
fn view(n: &NetworkInfo) -> Value {
    json!({
        "Name": n.name,
        "ID": &n.id[..12.min(n.id.len())],
        "Id": n.id,
        "Driver": n.driver,
        "NetworkInterface": n.network_interface,
        "Created": n.created,
        "Subnets": n.subnets.iter().map(|s| json!({
            "Subnet": s.subnet, "Gateway": s.gateway,
        })).collect::<Vec<_>>(),
        "IPv6Enabled": n.ipv6_enabled,
        "Internal": n.internal,
        "DNSEnabled": n.dns_enabled,
        "Labels": n.labels,
    })
}

/// `ls --filter`: name= (a regular expression, as podman's), label=KEY or KEY=VALUE, driver=;
/// one value of each key must match.
fn filtered(list: Vec<NetworkInfo>, filters: &[String]) -> anyhow::Result<Vec<NetworkInfo>> {
    let mut parsed = Vec::new();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: must be KEY=VALUE"))?;
        if !["name", "label", "driver"].contains(&k) {
            anyhow::bail!("invalid network filter {k:?} (name, label, driver)");
        }
        if k == "name" {
            regex::Regex::new(v).map_err(|e| anyhow::anyhow!("invalid name filter {v:?}: {e}"))?;
        }
        parsed.push((k, v));
    }
    let hit = |n: &NetworkInfo, k: &str, v: &str| match k {
        "name" => regex::Regex::new(v).is_ok_and(|r| r.is_match(&n.name)),
        "driver" => n.driver == v,
        _ => match v.split_once('=') {
            Some((lk, lv)) => n.labels.get(lk).is_some_and(|x| x == lv),
            None => n.labels.contains_key(v),
        },
    };
    Ok(list
        .into_iter()
        .filter(|n| {
            ["name", "label", "driver"].iter().all(|key| {
                let mut of_key = parsed.iter().filter(|(k, _)| k == key).peekable();
                of_key.peek().is_none() || of_key.any(|(k, v)| hit(n, k, v))
            })
        })
        .collect())
}
