//! `berth builder`: buildah's working-container commands (`from`, `run`,
//! `copy`, `add`, `config`, `mount`, `umount`, `commit`, `containers`,
//! `rm`) over the build crate. docs/build.md maps buildah's names.

use crate::builder_config_cmd::ConfigArgs;
use crate::image_out_flags::ImageOutFlags;
use crate::run_pull::PullFlags;
use crate::{Cli, RegistryArgs};
use anyhow::Context as _;
use berth_build::{Builder, CommitOptions, CopyOptions, FromOptions, RunMount, RunOptions};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Args)]
pub struct BuilderGroup {
    #[command(subcommand)]
    pub command: BuilderCommand,
}

#[derive(Subcommand)]
pub enum BuilderCommand {
    /// Make a working container from an image or `scratch` (buildah from).
    From(FromArgs),
    /// Run a command in a working container (buildah run).
    Run(RunArgs),
    /// Copy files into a working container (buildah copy).
    Copy(CopyArgs),
    /// Copy files, unpack local tars and fetch URLs into a working
    /// container (buildah add).
    Add(CopyArgs),
    /// Set a working container's image config (buildah config).
    Config(ConfigArgs),
    /// Mount a working container's root and print its path (buildah mount).
    Mount(CtrArg),
    /// Unmount a working container's root (buildah umount).
    #[command(alias = "unmount")]
    Umount(CtrArg),
    /// Commit a working container to an image (buildah commit).
    Commit(CommitArgs),
    /// List working containers (buildah containers).
    #[command(alias = "ls")]
    Containers(ContainersArgs),
    /// Remove working containers (buildah rm).
    Rm(RmArgs),
}

#[derive(Args)]
pub struct FromArgs {
    /// The base image, or `scratch`.
    pub image: String,
    /// The working container's name (default <image>-working-container[-N]).
    #[arg(long)]
    pub name: Option<String>,
    #[command(flatten)]
    pub pull: PullFlags,
}

#[derive(Args)]
pub struct RunArgs {
    /// The working container.
    pub container: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
    /// NAME=VALUE for the command's environment.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// user[:group] to run as.
    #[arg(long)]
    pub user: Option<String>,
    /// The working directory (made when missing).
    #[arg(long)]
    pub workingdir: Option<String>,
    /// none, host or bridge.
    #[arg(long, default_value = "none")]
    pub network: String,
    /// Add a capability.
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop a capability.
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// HOST-DIR:CONTAINER-DIR[:ro] bound for this run only.
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// type=bind|cache|tmpfs|secret,… for this run only (buildah's RUN
    /// --mount keys: src/source, target/dst/destination, ro, id, size).
    #[arg(long)]
    pub mount: Vec<String>,
    /// The hostname inside.
    #[arg(long)]
    pub hostname: Option<String>,
}

#[derive(Args)]
pub struct CopyArgs {
    /// The working container.
    pub container: String,
    /// Sources, then the destination.
    #[arg(required = true, num_args = 2..)]
    pub paths: Vec<String>,
    /// user[:group] to own what is copied.
    #[arg(long)]
    pub chown: Option<String>,
    /// Octal permission bits for what is copied.
    #[arg(long)]
    pub chmod: Option<String>,
    /// Sources must be inside this directory.
    #[arg(long)]
    pub contextdir: Option<PathBuf>,
    /// Print nothing.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct CtrArg {
    /// The working container.
    pub container: String,
}

#[derive(Args)]
pub struct CommitArgs {
    /// The working container.
    pub container: String,
    /// The new image's name.
    pub image: Option<String>,
    #[command(flatten)]
    pub out: ImageOutFlags,
    /// buildah commit's short `-f` for `--format`.
    #[arg(short = 'f', hide = true, conflicts_with = "format")]
    pub format_short: Option<berth_engine::ImageFormat>,
    /// Remove the working container once committed.
    #[arg(long)]
    pub rm: bool,
    /// The history entry's created-by.
    #[arg(long)]
    pub created_by: Option<String>,
    /// Print nothing.
    #[arg(short, long)]
    pub quiet: bool,
}

#[derive(Args)]
pub struct ContainersArgs {
    /// Only the ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// As JSON.
    #[arg(long)]
    pub json: bool,
    /// No heading.
    #[arg(short, long)]
    pub noheading: bool,
}

#[derive(Args)]
pub struct RmArgs {
    /// Working containers.
    pub containers: Vec<String>,
    /// All of them.
    #[arg(short, long)]
    pub all: bool,
}

pub fn builder(cli: &Cli, g: &BuilderGroup) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let tls_verify = match &g.command {
        BuilderCommand::From(a) => a.pull.tls_verify,
        _ => None,
    };
    let ctx = cli.context(&RegistryArgs {
        tls_verify,
        ..RegistryArgs::default()
    })?;
    let b = Builder::new(&engine, &ctx);
    match &g.command {
        BuilderCommand::From(a) => from(cli, &b, a),
        BuilderCommand::Run(a) => run(&b, a),
        BuilderCommand::Copy(a) => copy(&b, a, false),
        BuilderCommand::Add(a) => copy(&b, a, true),
        BuilderCommand::Config(a) => crate::builder_config_cmd::config(&b, a),
        BuilderCommand::Mount(a) => {
            println!("{}", b.mount(&a.container)?.display());
            Ok(())
        }
        BuilderCommand::Umount(a) => {
            b.unmount(&a.container)?;
            Ok(())
        }
        BuilderCommand::Commit(a) => commit(&b, a),
        BuilderCommand::Containers(a) => containers(&b, a),
        BuilderCommand::Rm(a) => rm(&b, a),
    }
}

fn from(cli: &Cli, b: &Builder, a: &FromArgs) -> anyhow::Result<()> {
    if a.image != berth_build::working::SCRATCH {
        // The engine's store: opening another would read every record again.
        crate::run_pull::ensure_image_into(cli, b.engine().store(), &a.pull, &a.image)?;
    }
    let wc = b.from(&FromOptions {
        image: a.image.clone(),
        name: a.name.clone(),
        pull: berth_image::PullPolicy::Never,
        config: None,
    })?;
    println!("{}", wc.name);
    Ok(())
}

fn run(b: &Builder, a: &RunArgs) -> anyhow::Result<()> {
    let mut mounts = Vec::new();
    for v in &a.volume {
        let v = berth_engine::Volume::parse(v)?;
        anyhow::ensure!(
            v.source.starts_with('/'),
            "--volume {}: a build volume is a host path",
            v.source
        );
        mounts.push(RunMount::Bind {
            source: v.source.into(),
            target: v.destination,
            readonly: v.readonly,
        });
    }
    for m in &a.mount {
        mounts.push(RunMount::parse(m)?);
    }
    let env = a
        .env
        .iter()
        .filter_map(|e| berth_engine::options::expand_env(e))
        .collect();
    b.run(
        &a.container,
        &RunOptions {
            command: a.command.clone(),
            env,
            user: a.user.clone(),
            workdir: a.workingdir.clone(),
            network: berth_engine::NetworkMode::parse(&a.network)?,
            cap_add: a.cap_add.clone(),
            cap_drop: a.cap_drop.clone(),
            mounts,
            hostname: a.hostname.clone(),
        },
    )
    .map_err(|e| match e {
        // The command's own code is berth's, as `berth run` passes it on.
        berth_build::Error::RunFailed { code, .. } => {
            eprintln!("Error: {e}");
            crate::exit_code::Reported(code).into()
        }
        e => e.into(),
    })
}

fn copy(b: &Builder, a: &CopyArgs, add: bool) -> anyhow::Result<()> {
    let (dest, sources) = a
        .paths
        .split_last()
        .context("a source and a destination are needed")?;
    let chmod = a
        .chmod
        .as_deref()
        .map(|m| u32::from_str_radix(m, 8).with_context(|| format!("--chmod {m}: not octal")))
        .transpose()?;
    b.copy(
        &a.container,
        &CopyOptions {
            sources: sources.to_vec(),
            dest: dest.clone(),
            context: a.contextdir.clone(),
            chown: a.chown.clone(),
            chmod,
            add,
        },
    )?;
    Ok(())
}

fn commit(b: &Builder, a: &CommitArgs) -> anyhow::Result<()> {
    let id = b.commit(
        &a.container,
        &CommitOptions {
            name: a.image.clone(),
            format: a.format_short.unwrap_or(a.out.format),
            squash: a.out.squash,
            rm: a.rm,
            timestamp: a.out.timestamp()?,
            created_by: a.created_by.clone(),
            message: None,
            annotations: Vec::new(),
        },
    )?;
    a.out.write_iidfile(&id)?;
    if !a.quiet {
        println!("{id}");
    }
    Ok(())
}

fn containers(b: &Builder, a: &ContainersArgs) -> anyhow::Result<()> {
    let list = b.containers()?;
    if a.json {
        let v: Vec<_> = list
            .iter()
            .map(|wc| {
                serde_json::json!({
                    "id": wc.id,
                    "builder": true,
                    "imageid": wc.from_id.clone().unwrap_or_default(),
                    "imagename": wc.from,
                    "containername": wc.name,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    if a.quiet {
        for wc in &list {
            println!("{}", &wc.id[..12]);
        }
        return Ok(());
    }
    if !a.noheading {
        println!(
            "{:<14}{:<9}{:<14}{:<33}CONTAINER NAME",
            "CONTAINER ID", "BUILDER", "IMAGE ID", "IMAGE NAME"
        );
    }
    for wc in &list {
        let image_id = wc.from_id.as_deref().map(|i| &i[..12]).unwrap_or("");
        println!(
            "{:<14}{:<9}{:<14}{:<33}{}",
            &wc.id[..12],
            "*",
            image_id,
            wc.from,
            wc.name
        );
    }
    Ok(())
}

fn rm(b: &Builder, a: &RmArgs) -> anyhow::Result<()> {
    let keys: Vec<String> = if a.all {
        b.containers()?.into_iter().map(|wc| wc.id).collect()
    } else {
        anyhow::ensure!(
            !a.containers.is_empty(),
            "name a working container, or --all"
        );
        a.containers.clone()
    };
    let mut failed = None;
    for k in &keys {
        match b.remove(k) {
            Ok(()) => println!("{k}"),
            Err(e) => {
                eprintln!("Error: {e}");
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
