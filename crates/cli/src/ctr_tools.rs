//! `restart`, `top`, and `mount`/`umount` of containers (an image when the
//! name is no container's, as before).

use crate::images;
use crate::Cli;
use clap::Args;

#[derive(Args)]
pub struct RestartArgs {
    /// Seconds to wait before SIGKILL.
    #[arg(short, long, default_value_t = 10)]
    pub time: u64,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn restart(cli: &Cli, a: &RestartArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    for c in &a.containers {
        engine.restart(c, a.time)?;
        println!("{}", engine.inspect(c)?.id);
    }
    Ok(())
}

#[derive(Args)]
pub struct TopArgs {
    /// The container.
    pub container: String,
    /// Columns: user uid group pid ppid pcpu etime tty time args comm hpid
    /// hppid state (default: user pid ppid pcpu etime tty time args).
    pub descriptors: Vec<String>,
}

pub fn top(cli: &Cli, a: &TopArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let rows = engine.top(&a.container, &a.descriptors)?;
    let cols = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..cols)
        .map(|i| rows.iter().map(|r| r[i].len()).max().unwrap_or(0))
        .collect();
    for r in &rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == cols {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        println!("{}", line.trim_end());
    }
    Ok(())
}

#[derive(Args)]
pub struct MountArgs {
    /// Containers or images; none: list mounted containers.
    pub targets: Vec<String>,
    /// Unmount even when others still hold mounts (umount only).
    #[arg(short, long)]
    pub force: bool,
}

fn is_container(engine: &berth_engine::Engine, key: &str) -> anyhow::Result<bool> {
    match engine.inspect(key) {
        Ok(_) => Ok(true),
        Err(berth_engine::Error::NotFound(_)) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

pub fn mount(cli: &Cli, a: &MountArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    if a.targets.is_empty() {
        for (id, path) in engine.mounted()? {
            println!("{}  {}", &id[..12], path.display());
        }
        return Ok(());
    }
    for t in &a.targets {
        if is_container(&engine, t)? {
            println!("{}", engine.mount(t)?.display());
        } else {
            images::mount(
                cli,
                &images::MountArgs {
                    image: t.clone(),
                    force: false,
                },
            )?;
        }
    }
    Ok(())
}

pub fn umount(cli: &Cli, a: &MountArgs) -> anyhow::Result<()> {
    anyhow::ensure!(!a.targets.is_empty(), "umount needs a container or image");
    let engine = cli.engine()?;
    for t in &a.targets {
        if is_container(&engine, t)? {
            engine.unmount(t, a.force)?;
            println!("{t}");
        } else {
            images::umount(
                cli,
                &images::MountArgs {
                    image: t.clone(),
                    force: a.force,
                },
            )?;
        }
    }
    Ok(())
}
