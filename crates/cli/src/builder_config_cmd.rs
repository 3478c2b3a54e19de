//! `berth builder config`: buildah config's flags onto a working
//! container's image config.

use anyhow::Context as _;
use berth_build::{Builder, Healthcheck, WorkingConfig};
use clap::Args;

#[derive(Args)]
pub struct ConfigArgs {
    /// The working container.
    pub container: String,
    /// Entrypoint: a JSON array, or a command run by /bin/sh -c.
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Cmd: a JSON array, or words split on spaces.
    #[arg(long)]
    pub cmd: Option<String>,
    /// NAME=VALUE to set, NAME- to remove.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// KEY=VALUE to set, KEY- to remove.
    #[arg(short, long)]
    pub label: Vec<String>,
    /// user[:group] the image runs as.
    #[arg(short, long)]
    pub user: Option<String>,
    /// The working directory.
    #[arg(long)]
    pub workingdir: Option<String>,
    /// A port to expose (PORT[/PROTO]).
    #[arg(short, long)]
    pub port: Vec<String>,
    /// A volume (absolute path).
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// The signal that stops it.
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// The shell of shell-form instructions (JSON array or words;
    /// docker format).
    #[arg(long)]
    pub shell: Option<String>,
    /// The health check command: `CMD-SHELL command`, `CMD arg…` (or a
    /// JSON array), or `NONE` (docker format).
    #[arg(long)]
    pub healthcheck: Option<String>,
    /// Between health checks (Go duration, e.g. 30s).
    #[arg(long)]
    pub healthcheck_interval: Option<String>,
    /// Failures in a row that make it unhealthy.
    #[arg(long)]
    pub healthcheck_retries: Option<i64>,
    /// Failures before this has passed do not count.
    #[arg(long)]
    pub healthcheck_start_period: Option<String>,
    /// How long one check may take.
    #[arg(long)]
    pub healthcheck_timeout: Option<String>,
    /// An ONBUILD trigger (docker format).
    #[arg(long)]
    pub onbuild: Vec<String>,
    /// The image's author.
    #[arg(short, long)]
    pub author: Option<String>,
    /// A history entry for what made the next layer.
    #[arg(long)]
    pub created_by: Option<String>,
}

pub fn config(b: &Builder, a: &ConfigArgs) -> anyhow::Result<()> {
    b.configure(&a.container, |c| {
        apply(c, a).map_err(|e| berth_build::Error::InvalidOption {
            option: "config",
            value: a.container.clone(),
            reason: format!("{e:#}"),
        })
    })?;
    Ok(())
}

fn apply(c: &mut WorkingConfig, a: &ConfigArgs) -> anyhow::Result<()> {
    if let Some(e) = &a.entrypoint {
        c.set_entrypoint(argv(e, true)?);
    }
    if let Some(cmd) = &a.cmd {
        c.set_cmd(argv(cmd, false)?);
    }
    for e in &a.env {
        match e.split_once('=') {
            Some((k, v)) => c.set_env(k, v),
            None => match e.strip_suffix('-') {
                Some(k) => c.unset_env(k),
                None => anyhow::bail!("--env {e}: must be NAME=VALUE or NAME-"),
            },
        }
    }
    for l in &a.label {
        match l.split_once('=') {
            Some((k, v)) => c.set_label(k, v),
            None => match l.strip_suffix('-') {
                Some(k) => c.remove_label(k),
                None => c.set_label(l, ""),
            },
        }
    }
    if let Some(u) = &a.user {
        c.set_user(u);
    }
    if let Some(w) = &a.workingdir {
        c.set_workdir(w);
    }
    for p in &a.port {
        c.add_port(p)?;
    }
    for v in &a.volume {
        c.add_volume(v)?;
    }
    if let Some(s) = &a.stop_signal {
        c.set_stop_signal(s);
    }
    if let Some(s) = &a.shell {
        c.shell = Some(argv(s, false)?);
    }
    if let Some(h) = &a.healthcheck {
        let mut check = c.healthcheck.clone().unwrap_or_default();
        check.test = health_test(h)?;
        c.healthcheck = Some(check);
    }
    let dur = |flag: &str, v: &Option<String>| -> anyhow::Result<Option<i64>> {
        v.as_deref()
            .map(|d| {
                berth_engine::health::parse_go_duration(d)
                    .with_context(|| format!("--{flag} {d}: not a duration"))
            })
            .transpose()
    };
    let interval = dur("healthcheck-interval", &a.healthcheck_interval)?;
    let timeout = dur("healthcheck-timeout", &a.healthcheck_timeout)?;
    let start = dur("healthcheck-start-period", &a.healthcheck_start_period)?;
    if interval.is_some() || timeout.is_some() || start.is_some() || a.healthcheck_retries.is_some()
    {
        let check: &mut Healthcheck = c
            .healthcheck
            .as_mut()
            .context("--healthcheck-* need a --healthcheck")?;
        check.interval = interval.unwrap_or(check.interval);
        check.timeout = timeout.unwrap_or(check.timeout);
        check.start_period = start.unwrap_or(check.start_period);
        check.retries = a.healthcheck_retries.unwrap_or(check.retries);
    }
    c.onbuild.extend(a.onbuild.iter().cloned());
    if let Some(au) = &a.author {
        c.set_author(au);
    }
    if let Some(by) = &a.created_by {
        c.add_history(by, true);
    }
    Ok(())
}

/// A JSON array as is; otherwise `/bin/sh -c TEXT` (entrypoint, as
/// buildah) or the words (cmd, shell).
fn argv(s: &str, shell: bool) -> anyhow::Result<Vec<String>> {
    if s.trim_start().starts_with('[') {
        return serde_json::from_str(s)
            .with_context(|| format!("{s}: not a JSON array of strings"));
    }
    if s.is_empty() {
        return Ok(Vec::new());
    }
    Ok(if shell {
        vec!["/bin/sh".into(), "-c".into(), s.into()]
    } else {
        s.split_whitespace().map(String::from).collect()
    })
}

/// `--healthcheck`'s test as docker keeps it.
fn health_test(s: &str) -> anyhow::Result<Vec<String>> {
    if s.trim_start().starts_with('[') {
        return serde_json::from_str(s).with_context(|| format!("{s}: not a JSON array"));
    }
    if s == "NONE" {
        return Ok(vec!["NONE".into()]);
    }
    if let Some(rest) = s.strip_prefix("CMD-SHELL ") {
        return Ok(vec!["CMD-SHELL".into(), rest.into()]);
    }
    if let Some(rest) = s.strip_prefix("CMD ") {
        let mut v = vec!["CMD".to_string()];
        v.extend(rest.split_whitespace().map(String::from));
        return Ok(v);
    }
    Ok(vec!["CMD-SHELL".into(), s.into()])
}
