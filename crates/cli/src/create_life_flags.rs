//! `run`/`create` flags about the container's life and name service:
//! `--restart`, `--add-host`, `--dns*`, `--no-hosts`, `--cidfile`,
//! `--replace`, `--sdnotify` and the `--health-*` flags, with podman 4.3's syntax and errors. The checks are the
//! engine's ([`berth_engine::life_options`]); `--cidfile` and `--replace`
//! are the CLI's own steps around the engine's create and remove.

use anyhow::Context as _;
use berth_engine::health::{HealthFlags, Healthcheck};
use berth_engine::health_action::HealthOnFailure;
use berth_engine::life_options::{check_add_host, check_dns, LifeOptions, RestartPolicy};
use berth_engine::sd_notify::SdNotify;
use berth_engine::Engine;
use clap::Args;
use std::io::Write as _;
use std::path::PathBuf;

/// The lifecycle and name-service flags of `create` and `run`.
#[derive(Args)]
pub struct LifeFlags {
    /// Restart policy: no, on-failure[:max-retries], always or
    /// unless-stopped (kept by the container's monitor).
    #[arg(long)]
    pub restart: Option<String>,
    /// Add an /etc/hosts entry: HOST:IP.
    #[arg(long, value_delimiter = ',')]
    pub add_host: Vec<String>,
    /// A DNS server for /etc/resolv.conf (replaces the host's).
    #[arg(long, value_delimiter = ',')]
    pub dns: Vec<String>,
    /// A DNS search domain ("." for none; replaces the host's).
    #[arg(long, value_delimiter = ',')]
    pub dns_search: Vec<String>,
    /// A resolv.conf option (replaces the host's).
    #[arg(long, alias = "dns-opt", value_delimiter = ',')]
    pub dns_option: Vec<String>,
    /// Leave the image's /etc/hosts as it is.
    #[arg(long)]
    pub no_hosts: bool,
    /// Write the container's id to this file (which must not exist).
    #[arg(long)]
    pub cidfile: Option<PathBuf>,
    /// Remove a container of the same --name first.
    #[arg(long)]
    pub replace: bool,
    /// A health check: a shell command, or a JSON array to exec.
    #[arg(long)]
    pub health_cmd: Option<String>,
    /// Time between health checks ("disable": none).
    #[arg(long, default_value = "30s")]
    pub health_interval: String,
    /// Failed checks in a row that make the container unhealthy.
    #[arg(long, default_value_t = 3, allow_negative_numbers = true)]
    pub health_retries: i64,
    /// Most time a health check may take.
    #[arg(long, default_value = "30s")]
    pub health_timeout: String,
    /// Time after the start in which failed checks do not count.
    #[arg(long, default_value = "0s")]
    pub health_start_period: String,
    /// No health check, not even the image's.
    #[arg(long)]
    pub no_healthcheck: bool,
    /// What to do once the container turns unhealthy: none, kill, restart
    /// or stop.
    #[arg(long, default_value = "none")]
    pub health_on_failure: String,
    /// How NOTIFY_SOCKET (a Type=notify unit's) is used: container (the
    /// container's own READY=1 reaches it), conmon (berth says READY once
    /// the container started) or ignore.
    #[arg(long, value_name = "container|conmon|ignore")]
    pub sdnotify: Option<String>,
}

impl LifeFlags {
    /// The engine's options from the flags, checked as podman does.
    pub fn options(&self) -> anyhow::Result<LifeOptions> {
        Ok(LifeOptions {
            restart: RestartPolicy::parse(self.restart.as_deref().unwrap_or(""))?,
            add_hosts: self
                .add_host
                .iter()
                .map(|h| check_add_host(h))
                .collect::<Result<_, _>>()?,
            dns: self
                .dns
                .iter()
                .map(|d| check_dns(d))
                .collect::<Result<_, _>>()?,
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_option.clone(),
            no_hosts: self.no_hosts,
            healthcheck: self.healthcheck()?,
            health_on_failure: HealthOnFailure::parse(&self.health_on_failure)?,
            sd_notify: SdNotify::from_flag(
                self.sdnotify.as_deref(),
                std::env::var("NOTIFY_SOCKET").ok(),
            )?,
        })
    }

    fn healthcheck(&self) -> anyhow::Result<Option<Healthcheck>> {
        if self.no_healthcheck && self.health_cmd.is_some() {
            anyhow::bail!("cannot specify both --no-healthcheck and --health-cmd");
        }
        Ok(Healthcheck::from_flags(&HealthFlags {
            cmd: self.health_cmd.as_deref(),
            interval: &self.health_interval,
            timeout: &self.health_timeout,
            start_period: &self.health_start_period,
            retries: self.health_retries,
            none: self.no_healthcheck,
        })?)
    }

    /// Before the create: `--cidfile` must not exist; `--replace` removes
    /// the container holding `name` (through the engine, volumes kept as
    /// `rm -f` does).
    pub fn before_create(&self, engine: &Engine, name: Option<&str>) -> anyhow::Result<()> {
        if let Some(f) = &self.cidfile {
            if f.exists() {
                anyhow::bail!(
                    "container id file exists. Ensure another container is not using it or delete {}",
                    f.display()
                );
            }
        }
        if self.replace {
            let Some(name) = name else {
                anyhow::bail!("cannot replace container without --name being set");
            };
            match engine.remove(name, true) {
                Ok(()) | Err(berth_engine::Error::NotFound(_)) => {}
                Err(e) => return Err(e).context(format!("replacing container {name}")),
            }
        }
        Ok(())
    }

    /// After the create: write `--cidfile` (the id, no newline, as
    /// podman); a failure removes the new container again.
    pub fn after_create(&self, engine: &Engine, id: &str) -> anyhow::Result<()> {
        let Some(f) = &self.cidfile else {
            return Ok(());
        };
        let written = std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(f)
            .and_then(|mut file| file.write_all(id.as_bytes()));
        if let Err(e) = written {
            let _ = engine.remove(id, true);
            return Err(e).context(format!("writing the container id file {}", f.display()));
        }
        Ok(())
    }
}
