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
    /// Exit 0 if the volume exists, 1 if not.
    Exists(ExistsArgs),
}

#[derive(Args)]
pub struct ExistsArgs {
    /// The name.
    pub name: String,
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
    /// `json`, or a Go template (`table …` for a header and columns).
    #[arg(long)]
    pub format: Option<String>,
    /// Keep only volumes that match: name=, label=, driver=, dangling=.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// No header line.
    #[arg(long)]
    pub noheading: bool,
}

#[derive(Args)]
pub struct InspectArgs {
    /// Volumes.
    #[arg(required_unless_present = "all")]
    pub names: Vec<String>,
    /// Every volume.
    #[arg(short, long)]
    pub all: bool,
    /// `json`, or a Go template (`{{.Mountpoint}}`).
    #[arg(short, long)]
    pub format: Option<String>,
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
            let list = crate::volume_list::filtered(&engine, &l.filter)?;
            if l.quiet {
                for v in &list {
                    println!("{}", v.name);
                }
                return Ok(());
            }
            let list: Vec<crate::volume_list::VolumeJson> =
                list.into_iter().map(Into::into).collect();
            let views = list
                .iter()
                .map(|v| serde_json::to_value(v).unwrap_or_default())
                .collect();
            crate::report::print_list(
                l.format.as_deref(),
                "table {{.Driver}}\t{{.Name}}",
                &[("Name", "VOLUME NAME")],
                !l.noheading,
                &crate::report::Rows { json: list, views },
            )?;
        }
        VolumeCommand::Inspect(i) => {
            let list = if i.all {
                engine.volumes()?
            } else {
                i.names
                    .iter()
                    .map(|n| engine.volume(n))
                    .collect::<Result<Vec<_>, _>>()?
            };
            let list: Vec<crate::volume_list::VolumeJson> =
                list.into_iter().map(Into::into).collect();
            crate::report::print_inspect(i.format.as_deref(), &list)?;
        }
        VolumeCommand::Rm(r) => {
            crate::each::each(&r.names, r.force, |n| {
                engine.volume_remove(n, r.force)?;
                Ok(n.clone())
            })?;
        }
        VolumeCommand::Exists(e) => {
            if let Err(err) = engine.volume(&e.name) {
                let err = anyhow::Error::from(err);
                if crate::exit_code::is_missing(&err) {
                    return Err(crate::exit_code::Reported(1).into());
                }
                return Err(err);
            }
        }
        VolumeCommand::Prune(_) => {
            for n in engine.volume_prune()? {
                println!("{n}");
            }
        }
    }
    Ok(())
}
