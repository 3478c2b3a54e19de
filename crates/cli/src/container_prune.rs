//! `berth container prune`: remove every container that is not running
//! (created or exited; a paused one is still running), through the
//! engine, printing each id; `--filter until=` and `label=`/`label!=` as
//! podman 4.3 takes them.

use crate::Cli;
use berth_engine::{ContainerInfo, Status};
use clap::Args;
use std::io::{BufRead, Write};
use std::time::{Duration, SystemTime};

#[derive(Args)]
pub struct ContainerPruneArgs {
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// Only containers that match: until=TIME, label=KEY[=VALUE],
    /// label!=KEY[=VALUE].
    #[arg(long)]
    pub filter: Vec<String>,
}

enum Filter {
    Until(SystemTime),
    Label {
        key: String,
        value: Option<String>,
        want: bool,
    },
}

fn parse_filter(f: &str) -> anyhow::Result<Filter> {
    let (k, v) = f.split_once('=').unwrap_or((f, ""));
    let label = |want: bool| {
        let (key, value) = match v.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (v.to_string(), None),
        };
        Filter::Label { key, value, want }
    };
    Ok(match k {
        "until" => Filter::Until(until(v)?),
        "label" => label(true),
        "label!" => label(false),
        _ => anyhow::bail!("{k} is an invalid filter"),
    })
}

/// A time as podman's `until` takes it: RFC 3339, Unix seconds, or a
/// duration before now.
fn until(v: &str) -> anyhow::Result<SystemTime> {
    if let Ok(t) = humantime::parse_rfc3339_weak(v) {
        return Ok(t);
    }
    if let Ok(secs) = v.parse::<u64>() {
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    }
    if let Ok(ago) = humantime::parse_duration(v) {
        return Ok(SystemTime::now() - ago);
    }
    anyhow::bail!("invalid until filter {v:?}: use RFC 3339, Unix seconds or a duration (1h)")
}

fn matches(f: &Filter, c: &ContainerInfo) -> bool {
    match f {
        Filter::Until(t) => SystemTime::UNIX_EPOCH + Duration::new(c.created, c.created_nanos) < *t,
        Filter::Label { key, value, want } => {
            let has = c
                .meta
                .options
                .labels
                .get(key)
                .is_some_and(|v| value.as_ref().is_none_or(|want| v == want));
            has == *want
        }
    }
}

pub fn prune(cli: &Cli, a: &ContainerPruneArgs) -> anyhow::Result<()> {
    let filters = a
        .filter
        .iter()
        .map(|f| parse_filter(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !a.force && !confirm()? {
        return Ok(());
    }
    let engine = cli.engine()?;
    let mut failed = false;
    for c in engine.list()?.into_iter().rev() {
        if c.state.status == Status::Running || !filters.iter().all(|f| matches(f, &c)) {
            continue;
        }
        match engine.remove(&c.id, false) {
            Ok(()) => println!("{}", c.id),
            // Removed by someone else meanwhile: what prune wanted.
            Err(berth_engine::Error::NotFound(_)) => {}
            Err(e) => {
                failed = true;
                eprintln!("Error: removing container {}: {e}", c.name);
            }
        }
    }
    if failed {
        return Err(crate::exit_code::Reported(crate::exit_code::BERTH).into());
    }
    Ok(())
}

/// podman's question; anything but y/Y keeps all.
fn confirm() -> anyhow::Result<bool> {
    let mut out = std::io::stdout();
    out.write_all(
        b"WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] ",
    )?;
    out.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
