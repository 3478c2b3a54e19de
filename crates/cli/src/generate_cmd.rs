//! `berth generate systemd`: a unit for a container, as podman's.

use crate::Cli;
use anyhow::Context as _;
use clap::{Args, Subcommand};

/// `berth generate`.
#[derive(Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: GenerateWhat,
}

/// What `generate` writes.
#[derive(Subcommand)]
pub enum GenerateWhat {
    /// A systemd unit that starts and stops a container.
    Systemd(SystemdArgs),
}

/// `generate systemd`'s flags (podman's).
#[derive(Args)]
pub struct SystemdArgs {
    /// Create the container afresh on every start and remove it on stop.
    #[arg(long)]
    pub new: bool,
    /// Use the container's name rather than its id.
    #[arg(short, long)]
    pub name: bool,
    /// Write the unit to ./PREFIX-NAME.service rather than stdout.
    #[arg(short, long)]
    pub files: bool,
    /// The unit's Restart= (no, on-success, on-failure, on-abnormal,
    /// on-watchdog, on-abort, always).
    #[arg(long, default_value = "on-failure")]
    pub restart_policy: String,
    /// Stop timeout in seconds (default: the container's).
    #[arg(short, long)]
    pub time: Option<u64>,
    /// The unit name's prefix.
    #[arg(long, default_value = "container")]
    pub container_prefix: String,
    /// Between the prefix and the name.
    #[arg(long, default_value = "-")]
    pub separator: String,
    /// No comment header at the top of the unit.
    #[arg(long)]
    pub no_header: bool,
    /// Add a Wants= dependency on this unit (repeatable).
    #[arg(long)]
    pub wants: Vec<String>,
    /// Add an After= ordering on this unit (repeatable).
    #[arg(long)]
    pub after: Vec<String>,
    /// Add a Requires= dependency on this unit (repeatable).
    #[arg(long)]
    pub requires: Vec<String>,
    /// Set KEY=VALUE in the unit's environment (KEY alone: our value).
    #[arg(short, long)]
    pub env: Vec<String>,
    /// The unit's RestartSec= in seconds.
    #[arg(long)]
    pub restart_sec: Option<u64>,
    /// The unit's TimeoutStartSec= in seconds.
    #[arg(long)]
    pub start_timeout: Option<u64>,
    /// The container.
    pub container: String,
}

/// `berth generate …`.
pub fn generate(cli: &Cli, a: &GenerateArgs) -> anyhow::Result<()> {
    match &a.what {
        GenerateWhat::Systemd(s) => systemd(cli, s),
    }
}

/// The global flags a unit's commands need to find this container.
fn global_args(cli: &Cli) -> Vec<String> {
    let mut out = vec![
        "--root".to_string(),
        cli.root.display().to_string(),
        "--runroot".to_string(),
        cli.runroot.display().to_string(),
    ];
    if let Some(r) = &cli.runtime {
        out.extend(["--runtime".to_string(), r.display().to_string()]);
    }
    if cli.cgroup_parent != "/berth" {
        out.extend(["--cgroup-parent".to_string(), cli.cgroup_parent.clone()]);
    }
    out
}

fn systemd(cli: &Cli, a: &SystemdArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let info = engine.inspect(&a.container)?;
    let berth = std::env::current_exe().context("finding the berth binary")?;
    let mut o = berth_system::GenerateOptions::new(berth.display().to_string());
    o.global_args = global_args(cli);
    o.new = a.new;
    o.use_name = a.name;
    o.restart_policy = a.restart_policy.clone();
    o.stop_timeout = a.time;
    o.prefix = a.container_prefix.clone();
    o.separator = a.separator.clone();
    o.no_header = a.no_header;
    o.wants = a.wants.clone();
    o.after = a.after.clone();
    o.requires = a.requires.clone();
    // podman: a KEY without a value takes ours (dropped when we have none).
    o.env = a
        .env
        .iter()
        .filter_map(|e| berth_engine::options::expand_env(e))
        .collect();
    o.restart_sec = a.restart_sec;
    o.start_timeout = a.start_timeout;
    let (unit, text) = berth_system::container_unit(
        &berth_system::UnitContainer {
            id: &info.id,
            name: &info.name,
            create_command: &info.meta.options.create_command,
            stop_timeout: info
                .meta
                .options
                .spec
                .stop_timeout
                .unwrap_or(berth_engine::DEFAULT_STOP_TIMEOUT),
        },
        &o,
    )?;
    if a.files {
        let path = std::env::current_dir()?.join(format!("{unit}.service"));
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        println!("{}", path.display());
    } else {
        print!("{text}");
    }
    Ok(())
}
