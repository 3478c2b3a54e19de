//! `berth volume create|ls|inspect|rm|prune`: named volumes, podman's
//! commands and output.

use crate::Cli;
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct VolumeArgs {
    #[command(subcommand)]
    pub command: VolumeCommand,
}

#[derive(Subcommand)]
pub enum VolumeCommand {
    /// Create a volume (a random name when none is given).
    Create(CreateArgs),
    /// List volumes.
    #[command(alias = "list")]
    Ls(LsArgs),
    /// Show volumes as JSON.
    Inspect(InspectArgs),
    /// Remove volumes.
    #[command(alias = "remove")]
    Rm(RmArgs),
    /// Remove every volume no container uses.
    Prune(PruneArgs),
}

#[derive(Args)]
pub struct CreateArgs {
    /// The name.
    pub name: Option<String>,
}

#[derive(Args)]
pub struct LsArgs {
    /// Only names.
    #[arg(short, long)]
    pub quiet: bool,
    /// `json` for machine-readable output.
    #[arg(long)]
    pub format: Option<String>,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Volumes.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args)]
pub struct RmArgs {
    /// Remove the containers using it first.
    #[arg(short, long)]
    pub force: bool,
    /// Volumes.
    #[arg(required = true)]
    pub names: Vec<String>,
}

#[derive(Args)]
pub struct PruneArgs {
    /// Do not ask (berth never asks; accepted for podman's scripts).
    #[arg(short, long)]
    pub force: bool,
}

pub fn volume(cli: &Cli, a: &VolumeArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    match &a.command {
        VolumeCommand::Create(c) => {
            println!("{}", engine.volume_create(c.name.as_deref())?.name);
        }
        VolumeCommand::Ls(l) => {
            let list = engine.volumes()?;
            if l.quiet {
                for v in &list {
                    println!("{}", v.name);
                }
                return Ok(());
            }
            match l.format.as_deref() {
                Some("json") => println!("{}", serde_json::to_string_pretty(&list)?),
                Some(f) => anyhow::bail!("unknown --format {f:?} (json)"),
                None => {
                    println!("{:<16}VOLUME NAME", "DRIVER");
                    for v in &list {
                        println!("{:<16}{}", v.driver, v.name);
                    }
                }
            }
        }
        VolumeCommand::Inspect(i) => {
            let list = i
                .names
                .iter()
                .map(|n| engine.volume(n))
                .collect::<Result<Vec<_>, _>>()?;
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        VolumeCommand::Rm(r) => {
            crate::each::each(&r.names, r.force, |n| {
                engine.volume_remove(n, r.force)?;
                Ok(n.clone())
            })?;
        }
        VolumeCommand::Prune(_) => {
            for n in engine.volume_prune()? {
                println!("{n}");
            }
        }
    }
    Ok(())
}

/// `Mounts` of a container's `inspect`: its bind mounts and volumes.
pub fn mounts_json(
    engine: &berth_engine::Engine,
    opts: &berth_engine::CreateOptions,
) -> serde_json::Value {
    let list: Vec<serde_json::Value> = opts
        .volumes
        .iter()
        .map(|v| {
            if v.source.starts_with('/') {
                serde_json::json!({"Type": "bind", "Source": v.source,
                    "Destination": v.destination, "RW": !v.readonly})
            } else {
                let source = engine.volume(&v.source).map(|i| i.mountpoint).ok();
                serde_json::json!({"Type": "volume", "Name": v.source, "Source": source,
                    "Destination": v.destination, "RW": !v.readonly, "Anonymous": v.anonymous})
            }
        })
        .collect();
    serde_json::Value::Array(list)
}
