//! `berth login` / `berth logout`: credentials in the auth file.

use crate::{Cli, RegistryArgs};
use anyhow::Context as _;
use clap::Args;
use std::io::BufRead as _;

#[derive(Args)]
pub struct LoginArgs {
    /// Registry host (optionally with a repository path).
    pub registry: String,
    /// User name.
    #[arg(short, long)]
    pub username: Option<String>,
    /// Password (prefer --password-stdin).
    #[arg(short, long)]
    pub password: Option<String>,
    /// Read the password from standard input.
    #[arg(long)]
    pub password_stdin: bool,
    #[command(flatten)]
    pub registry_args: RegistryArgs,
}

pub fn login(cli: &Cli, a: &LoginArgs) -> anyhow::Result<()> {
    let mut ctx = cli.context(&a.registry_args)?;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let username = match &a.username {
        Some(u) => u.clone(),
        None => {
            eprint!("Username: ");
            lines.next().context("no username given")??
        }
    };
    let password = match (&a.password, a.password_stdin) {
        (Some(p), false) => p.clone(),
        (None, _) | (_, true) => {
            if !a.password_stdin {
                eprint!("Password: ");
            }
            lines.next().context("no password given")??
        }
    };
    let creds = berth_image::auth::Credentials { username, password };
    let key = a
        .registry
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let host = key.split('/').next().unwrap_or(key);
    ctx.credentials = Some(creds.clone());
    let ep_insecure = ctx.conf.is_insecure(host);
    let client = ctx.client_for(host, "", ep_insecure)?;
    client
        .ping()
        .with_context(|| format!("logging in to {host}"))?;
    berth_image::auth::store(&ctx.auth_file, key, &creds)?;
    println!("Login Succeeded!");
    Ok(())
}

#[derive(Args)]
pub struct LogoutArgs {
    /// Registry host.
    pub registry: String,
}

pub fn logout(cli: &Cli, a: &LogoutArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&RegistryArgs::default())?;
    let key = a
        .registry
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_end_matches('/');
    if !berth_image::auth::remove(&ctx.auth_file, key)? {
        anyhow::bail!("not logged in to {key}");
    }
    println!("Removed login credentials for {key}");
    Ok(())
}
