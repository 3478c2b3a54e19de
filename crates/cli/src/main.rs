//! `berth`: the daemonless container CLI. A thin shell over the libraries:
//! each command group lives in its own module.

mod images;
mod login;
mod progress;
mod transfer;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// berth: images and containers with no daemon.
#[derive(Parser)]
#[command(name = "berth", version, about)]
pub struct Cli {
    /// Storage root.
    #[arg(
        long,
        global = true,
        default_value = "/var/lib/berth/storage",
        env = "BERTH_ROOT"
    )]
    pub root: PathBuf,
    /// Run state root.
    #[arg(
        long,
        global = true,
        default_value = "/run/berth",
        env = "BERTH_RUNROOT"
    )]
    pub runroot: PathBuf,
    /// Log level (error, warn, info, debug, trace); RUST_LOG overrides.
    #[arg(long, global = true, default_value = "warn")]
    pub log_level: String,
    /// registries.conf to read instead of /etc/berth/registries.conf and
    /// /etc/containers/registries.conf.
    #[arg(long, global = true, env = "BERTH_REGISTRIES_CONF")]
    pub registries_conf: Option<PathBuf>,
    /// The auth file (default: podman's, $XDG_RUNTIME_DIR/containers/auth.json).
    #[arg(long, global = true)]
    pub authfile: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of commands that talk to registries.
#[derive(Args, Clone, Default)]
pub struct RegistryArgs {
    /// Require HTTPS and verify certificates (false: allow plain HTTP and
    /// unverified TLS).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, default_missing_value = "true")]
    pub tls_verify: Option<bool>,
    /// A directory of HOST/*.crt CA certificates.
    #[arg(long)]
    pub cert_dir: Option<PathBuf>,
    /// Credentials USER:PASSWORD for the registry.
    #[arg(long)]
    pub creds: Option<String>,
    /// Platform to choose from a multi-platform image (os/arch[/variant]).
    #[arg(long)]
    pub platform: Option<String>,
}

#[derive(Subcommand)]
pub enum Command {
    /// Pull an image from a registry into storage.
    Pull(images::PullArgs),
    /// List images in storage.
    Images(images::ImagesArgs),
    /// Remove images from storage.
    Rmi(images::RmiArgs),
    /// Add a name to an image.
    Tag(images::TagArgs),
    /// Show an image: local, or docker://REF from a registry without pulling.
    Inspect(images::InspectArgs),
    /// Mount an image read-only and print the path.
    Mount(images::MountArgs),
    /// Unmount an image mounted with `berth mount`.
    Umount(images::MountArgs),
    /// Push an image from storage to a registry or other transport.
    Push(transfer::PushArgs),
    /// Copy an image between transports, like skopeo copy.
    Copy(transfer::CopyArgs),
    /// Save an image from storage to an archive.
    Save(transfer::SaveArgs),
    /// Load an image archive into storage.
    Load(transfer::LoadArgs),
    /// Log in to a registry.
    Login(login::LoginArgs),
    /// Log out of a registry.
    Logout(login::LogoutArgs),
}

impl Cli {
    /// The image library's context for these options.
    pub fn context(&self, reg: &RegistryArgs) -> anyhow::Result<berth_image::Context> {
        let conf = berth_image::RegistriesConf::load(self.registries_conf.as_deref())?;
        let mut ctx = berth_image::Context {
            conf,
            ..Default::default()
        };
        if let Some(a) = &self.authfile {
            ctx.auth_file = a.clone();
        }
        ctx.tls_verify = reg.tls_verify;
        ctx.certs_dir = reg.cert_dir.clone();
        if let Some(p) = &reg.platform {
            ctx.platform = berth_image::Platform::parse(p)?;
        }
        if let Some(c) = &reg.creds {
            let (u, p) = c.split_once(':').context("--creds must be USER:PASSWORD")?;
            ctx.credentials = Some(berth_image::auth::Credentials {
                username: u.into(),
                password: p.into(),
            });
        }
        Ok(ctx)
    }

    /// Open the store at `--root`.
    pub fn store(&self) -> anyhow::Result<berth_storage::Store> {
        berth_storage::Store::open(berth_storage::StoreOptions::at(&self.root))
            .with_context(|| format!("opening storage at {}", self.root.display()))
    }
}

fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Pull(a) => images::pull(cli, a),
        Command::Images(a) => images::list(cli, a),
        Command::Rmi(a) => images::rmi(cli, a),
        Command::Tag(a) => images::tag(cli, a),
        Command::Inspect(a) => images::inspect(cli, a),
        Command::Mount(a) => images::mount(cli, a),
        Command::Umount(a) => images::umount(cli, a),
        Command::Push(a) => transfer::push(cli, a),
        Command::Copy(a) => transfer::copy(cli, a),
        Command::Save(a) => transfer::save(cli, a),
        Command::Load(a) => transfer::load(cli, a),
        Command::Login(a) => login::login(cli, a),
        Command::Logout(a) => login::logout(cli, a),
    }
}

fn main() {
    let cli = Cli::parse();
    init_logging(&cli.log_level);
    if let Err(e) = run(&cli) {
        eprintln!("Error: {e:#}");
        std::process::exit(125);
    }
}
