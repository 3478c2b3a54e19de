//! `pause`, `unpause` and `rename`, as podman 4.3 has them: the names are
//! all looked up before anything is done (one missing name changes
//! nothing), each is printed as given once done; `--all` prints ids.

use crate::Cli;
use clap::Args;

#[derive(Args)]
pub struct PauseArgs {
    /// Every running container (every paused one for `unpause`).
    #[arg(short, long, conflicts_with = "containers")]
    pub all: bool,
    /// Containers.
    #[arg(required_unless_present = "all")]
    pub containers: Vec<String>,
}

pub fn pause(cli: &Cli, a: &PauseArgs) -> anyhow::Result<()> {
    freeze(cli, a, true)
}

pub fn unpause(cli: &Cli, a: &PauseArgs) -> anyhow::Result<()> {
    freeze(cli, a, false)
}

fn freeze(cli: &Cli, a: &PauseArgs, paused: bool) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let names: Vec<String> = if a.all {
        engine
            .list()?
            .into_iter()
            .filter(|i| i.state.status == berth_engine::Status::Running)
            .filter(|i| i.state.paused != paused)
            .map(|i| i.id)
            .collect()
    } else {
        for n in &a.containers {
            engine.inspect(n)?;
        }
        a.containers.clone()
    };
    for n in &names {
        if paused {
            engine.pause(n)?;
        } else {
            engine.unpause(n)?;
        }
        println!("{n}");
    }
    Ok(())
}

#[derive(Args)]
pub struct RenameArgs {
    /// The container.
    pub container: String,
    /// Its new name.
    pub name: String,
}

/// `rename`: silent on success, as podman's.
pub fn rename(cli: &Cli, a: &RenameArgs) -> anyhow::Result<()> {
    Ok(cli.engine()?.rename(&a.container, &a.name)?)
}
