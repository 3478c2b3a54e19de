//! `run`/`create` pull their image first when `--pull` says so, through
//! the image crate's one pull path (short names as `berth pull` resolves
//! them), with pull progress unless `--quiet`; without `--pull`, as
//! containers.conf's `pull_policy` says.

use crate::config::pull_policy_default::default_pull_policy;
use crate::config::ContainersConf;
use crate::{Cli, RegistryArgs};
use clap::Args;

/// The pull flags of `run` and `create`.
#[derive(Args, Default)]
pub struct PullFlags {
    /// Pull the image: missing (when not in storage), always, never, or
    /// newer (when the registry's digest differs from the local one).
    /// Default: containers.conf's `[engine] pull_policy`, else missing.
    #[arg(long, value_name = "POLICY")]
    pub pull: Option<String>,
    /// Require HTTPS and verify certificates when pulling (false: allow
    /// plain HTTP and unverified TLS).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// No pull progress.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Make sure the image `name` is in storage as `flags` ask, pulling it
/// when needed. The container is then created from it by name.
pub fn ensure_image(cli: &Cli, flags: &PullFlags, name: &str) -> anyhow::Result<()> {
    let policy = match &flags.pull {
        Some(p) => p.parse()?,
        None => default_pull_policy(&ContainersConf::load()?)?,
    };
    let (ctx, store) = pull_context(cli, flags)?;
    ensure_image_in(cli, flags, name, policy, &ctx, &store)
}

/// [`ensure_image`] into a store the caller has open already (an
/// engine's), so it is not opened a second time.
pub fn ensure_image_into(
    cli: &Cli,
    store: &berth_storage::Store,
    flags: &PullFlags,
    name: &str,
) -> anyhow::Result<()> {
    let policy = match &flags.pull {
        Some(p) => p.parse()?,
        None => default_pull_policy(&ContainersConf::load()?)?,
    };
    let ctx = cli.context(&RegistryArgs {
        tls_verify: flags.tls_verify,
        ..RegistryArgs::default()
    })?;
    ensure_image_in(cli, flags, name, policy, &ctx, store)
}

/// [`ensure_image`] for `run`/`create`, which read containers.conf once
/// for all their defaults; the store and registries.conf it opened for
/// the pull are the engine's it returns, not opened a second time.
pub fn image_and_engine(
    cli: &Cli,
    flags: &PullFlags,
    name: &str,
    conf: &ContainersConf,
) -> anyhow::Result<berth_engine::Engine> {
    let policy = match &flags.pull {
        Some(p) => p.parse()?,
        None => default_pull_policy(conf)?,
    };
    let (mut ctx, store) = pull_context(cli, flags)?;
    ensure_image_in(cli, flags, name, policy, &ctx, &store)?;
    // The engine finds images by name; --tls-verify was the pull's.
    ctx.tls_verify = None;
    cli.engine_over(store, ctx)
}

/// The registries' context of the pull (with `--tls-verify`) and the store.
fn pull_context(
    cli: &Cli,
    flags: &PullFlags,
) -> anyhow::Result<(berth_image::Context, berth_storage::Store)> {
    let ctx = cli.context(&RegistryArgs {
        tls_verify: flags.tls_verify,
        ..RegistryArgs::default()
    })?;
    Ok((ctx, cli.store()?))
}

fn ensure_image_in(
    cli: &Cli,
    flags: &PullFlags,
    name: &str,
    policy: berth_image::PullPolicy,
    ctx: &berth_image::Context,
    store: &berth_storage::Store,
) -> anyhow::Result<()> {
    let progress = crate::progress::for_pull(flags.quiet);
    berth_image::image_for_container(ctx, store, name, policy, progress.as_ref())?;
    // podman writes a pull event for every run and create, with the name
    // as given and no id, whether or not anything was fetched.
    crate::events_cmd::image_event(cli, "pull", "", name);
    Ok(())
}
