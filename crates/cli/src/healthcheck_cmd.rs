//! `healthcheck run CTR`: run a container's health check once, through the
//! engine's exec, and record the result — what podman does when no
//! systemd timer drives the checks. Silent and 0 when healthy; `unhealthy`
//! and exit 1 otherwise, as podman.

use crate::exit_code::Reported;
use crate::Cli;
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct HealthcheckArgs {
    #[command(subcommand)]
    pub command: HealthcheckCommand,
}

#[derive(Subcommand)]
pub enum HealthcheckCommand {
    /// Run the container's health check once and record the result.
    Run {
        /// The container.
        container: String,
    },
}

pub fn healthcheck(cli: &Cli, a: &HealthcheckArgs) -> anyhow::Result<()> {
    match &a.command {
        HealthcheckCommand::Run { container } => {
            if cli.engine()?.healthcheck_run(container)? {
                Ok(())
            } else {
                println!("unhealthy");
                Err(Reported(1).into())
            }
        }
    }
}
