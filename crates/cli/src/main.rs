//! `berth`: the daemonless container CLI. A thin shell over the libraries:
//! each command group lives in its own module.

mod ago;
mod containers;
mod ctr_tools;
mod each;
mod images;
mod login;
mod network;
mod progress;
mod transfer;
mod volumes;

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
    /// The OCI runtime binary (default: berth-runtime next to berth, else in PATH).
    #[arg(long, global = true, env = "BERTH_RUNTIME")]
    pub runtime: Option<PathBuf>,
    /// The cgroup containers' cgroups go under.
    #[arg(
        long,
        global = true,
        default_value = "/berth",
        env = "BERTH_CGROUP_PARENT"
    )]
    pub cgroup_parent: String,
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
    /// Take names away from an image (all when none is given); the image stays.
    Untag(images::UntagArgs),
    /// Show a container, or an image: local, or docker://REF from a registry without pulling.
    Inspect(images::InspectArgs),
    /// Mount containers (read-write) or images (read-only) and print the
    /// paths; with no argument, list mounted containers.
    Mount(ctr_tools::MountArgs),
    /// Unmount containers or images mounted with `berth mount`.
    Umount(ctr_tools::MountArgs),
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
    /// Run a command in a new container.
    Run(containers::RunArgs),
    /// Create a container without starting it.
    Create(containers::CreateArgs),
    /// Start containers.
    Start(containers::StartArgs),
    /// Stop containers: their stop signal, then SIGKILL.
    Stop(containers::StopArgs),
    /// Send a signal to containers.
    Kill(containers::KillArgs),
    /// Remove containers.
    Rm(containers::RmArgs),
    /// List containers.
    Ps(containers::PsArgs),
    /// Print a container's log.
    Logs(containers::LogsArgs),
    /// Wait for containers to exit and print their exit codes.
    Wait(containers::WaitArgs),
    /// Run a process in a running container.
    Exec(containers::ExecArgs),
    /// Stop containers and start them again.
    Restart(ctr_tools::RestartArgs),
    /// Show the processes of a container.
    Top(ctr_tools::TopArgs),
    /// Manage named volumes.
    Volume(volumes::VolumeArgs),
    /// List a container's published ports.
    Port(network::PortArgs),
    /// The monitor of a detached container (started by berth itself).
    #[command(hide = true)]
    Monitor(containers::MonitorArgs),
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

    /// The runtime binary: `--runtime`, else berth-runtime next to this
    /// binary, else from PATH.
    pub fn runtime_path(&self) -> PathBuf {
        if let Some(r) = &self.runtime {
            return r.clone();
        }
        std::env::current_exe()
            .ok()
            .and_then(|e| e.parent().map(|d| d.join("berth-runtime")))
            .filter(|p| p.exists())
            .unwrap_or_else(|| PathBuf::from("berth-runtime"))
    }

    /// The engine over the store at `--root` and the run state at `--runroot`.
    pub fn engine(&self) -> anyhow::Result<berth_engine::Engine> {
        let store = self.store()?;
        let ctx = self.context(&RegistryArgs::default())?;
        let runtime = self.runtime_path();
        let exe = std::env::current_exe().context("finding the berth binary")?;
        // berth-monitor next to berth stays smallest; `berth monitor` does
        // the same job where it is missing.
        let small = exe.with_file_name("berth-monitor");
        let use_small = small.exists();
        let mut monitor = vec![
            if use_small { small } else { exe }.into_os_string(),
            "--root".into(),
            self.root.clone().into_os_string(),
            "--runroot".into(),
            self.runroot.clone().into_os_string(),
            "--runtime".into(),
            runtime.clone().into_os_string(),
            "--cgroup-parent".into(),
            self.cgroup_parent.clone().into(),
        ];
        if !use_small {
            monitor.extend([
                "--log-level".into(),
                self.log_level.clone().into(),
                "monitor".into(),
            ]);
        }
        Ok(self.engine_with(store, ctx, runtime, monitor))
    }

    fn engine_with(
        &self,
        store: berth_storage::Store,
        ctx: berth_image::Context,
        runtime: PathBuf,
        monitor: Vec<std::ffi::OsString>,
    ) -> berth_engine::Engine {
        berth_engine::Engine::new(
            store,
            ctx,
            berth_engine::EngineOptions {
                runroot: self.runroot.clone(),
                runtime,
                cgroup_parent: self.cgroup_parent.clone(),
                monitor,
            },
        )
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
        Command::Untag(a) => images::untag(cli, a),
        Command::Inspect(a) => {
            let plain = !(a.image.contains("://") || a.raw || a.config);
            if plain && containers::inspect(cli, &a.image)? {
                return Ok(());
            }
            images::inspect(cli, a)
        }
        Command::Mount(a) => ctr_tools::mount(cli, a),
        Command::Umount(a) => ctr_tools::umount(cli, a),
        Command::Push(a) => transfer::push(cli, a),
        Command::Copy(a) => transfer::copy(cli, a),
        Command::Save(a) => transfer::save(cli, a),
        Command::Load(a) => transfer::load(cli, a),
        Command::Login(a) => login::login(cli, a),
        Command::Logout(a) => login::logout(cli, a),
        Command::Run(a) => containers::run(cli, a),
        Command::Create(a) => containers::create(cli, a),
        Command::Start(a) => containers::start(cli, a),
        Command::Stop(a) => containers::stop(cli, a),
        Command::Kill(a) => containers::kill(cli, a),
        Command::Rm(a) => containers::rm(cli, a),
        Command::Ps(a) => containers::ps(cli, a),
        Command::Logs(a) => containers::logs(cli, a),
        Command::Wait(a) => containers::wait(cli, a),
        Command::Exec(a) => containers::exec(cli, a),
        Command::Restart(a) => ctr_tools::restart(cli, a),
        Command::Top(a) => ctr_tools::top(cli, a),
        Command::Volume(a) => volumes::volume(cli, a),
        Command::Port(a) => network::port(cli, a),
        Command::Monitor(a) => containers::monitor(cli, a),
    }
}

fn main() {
    // Before anything opens a file or starts a thread.
    if let Err(e) = berth_engine::listen_fds::adopt_socket_activation() {
        eprintln!("Error: {e}");
        std::process::exit(125);
    }
    let cli = Cli::parse();
    init_logging(&cli.log_level);
    if let Err(e) = run(&cli) {
        eprintln!("Error: {e:#}");
        std::process::exit(125);
    }
}
