//! `berth unshare [CMD...]`: run a command in the user's namespace, where
//! the store lives, as `podman unshare` does (a shell when none is given).
//! There the user is root, files of the store show their in-image owners,
//! and `berth mount` paths can be read.

use anyhow::Context as _;
use clap::Args;
use std::os::unix::process::CommandExt as _;

/// `berth unshare`.
#[derive(Args)]
pub struct UnshareArgs {
    /// The command and its arguments (default: $SHELL, else /bin/sh).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

/// Run the command; main has joined the namespace already.
pub fn unshare(cli: &crate::Cli, a: &UnshareArgs) -> anyhow::Result<()> {
    if crate::rootless_setup::rootless_uid().is_none() {
        anyhow::bail!(
            "berth unshare is for an unprivileged user: as root berth uses no user namespace"
        );
    }
    let shell = std::env::var("SHELL").unwrap_or_else(|_| "/bin/sh".into());
    let (prog, args) = match a.command.split_first() {
        Some((p, rest)) => (p.clone(), rest.to_vec()),
        None => (shell, Vec::new()),
    };
    let err = std::process::Command::new(&prog)
        .args(&args)
        // podman's CONTAINERS_GRAPHROOT/RUNROOT under berth's names: a berth
        // started inside uses the same store.
        .env("BERTH_ROOT", &cli.root)
        .env("BERTH_RUNROOT", &cli.runroot)
        .exec();
    Err(err).with_context(|| format!("running {prog}"))
}
