//! `berth`: the daemonless container CLI. A thin shell over the libraries:
//! each command group lives in its own module.

mod ago;
mod attach_cmd;
mod build_cmd;
mod builder_cmd;
mod builder_config_cmd;
mod commit_cmd;
mod config;
mod container_host_json;
mod container_json;
mod container_prune;
mod containers;
mod cp_cmd;
mod create_life_flags;
mod create_mount_flags;
mod create_spec_flags;
mod ctr_tools;
mod diff_cmd;
mod docs_gen;
mod each;
mod events_cmd;
mod exec_flags;
mod exit_code;
mod export_import;
mod generate_cmd;
mod groups;
mod healthcheck_cmd;
mod history_cmd;
mod image_json;
mod image_out_flags;
mod image_prune;
mod images;
mod images_list;
mod inspect_cmd;
mod login;
mod logs_cmd;
mod network;
mod network_cmd;
mod newcomer;
mod package_diff_cmd;
mod pause_rename;
mod progress;
mod ps;
mod report;
mod rootless_setup;
mod run_pull;
mod save_load;
mod sbom_cmd;
mod scan_cmd;
mod stats_cmd;
mod system;
mod system_containers;
mod tar_rewrite;
mod template;
mod transfer;
mod unshare_cmd;
mod volume_list;
mod volumes;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand};
use std::path::PathBuf;

/// berth: images and containers with no daemon.
#[derive(Parser)]
#[command(name = "berth", version, about)]
pub struct Cli {
    /// Storage root (default: graphroot in /etc/berth/storage.conf, else
    /// /var/lib/berth/storage).
    #[arg(
        long,
        global = true,
        default_value = "/var/lib/berth/storage",
        env = "BERTH_ROOT"
    )]
    pub root: PathBuf,
    /// Run state root (default: runroot in /etc/berth/storage.conf, else
    /// /run/berth).
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
    /// Storage driver, overlay or vfs (default: /etc/berth/storage.conf's,
    /// else /etc/containers/storage.conf's, else overlay where it works).
    #[arg(long, global = true, env = "BERTH_STORAGE_DRIVER")]
    pub storage_driver: Option<String>,
    /// The only registries.conf to read, instead of the containers files,
    /// their registries.conf.d drop-ins and /etc/berth/registries.conf.
    #[arg(long, global = true, env = "BERTH_REGISTRIES_CONF")]
    pub registries_conf: Option<PathBuf>,
    /// The auth file, the only one read (default: $REGISTRY_AUTH_FILE,
    /// else podman's $XDG_RUNTIME_DIR/containers/auth.json, then
    /// ~/.config/containers/auth.json and ~/.docker/config.json).
    #[arg(long, global = true)]
    pub authfile: Option<PathBuf>,
    /// The signature policy to use instead of ~/.config/containers/policy.json
    /// and /etc/containers/policy.json.
    #[arg(long, global = true, env = "BERTH_SIGNATURE_POLICY")]
    pub signature_policy: Option<PathBuf>,
    /// The store's driver as resolved from the flags and storage.conf files.
    #[arg(skip)]
    pub storage: config::StorageSettings,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of commands that talk to registries.
#[derive(Args, Clone, Default)]
pub struct RegistryArgs {
    /// Require HTTPS and verify certificates (false: allow plain HTTP and
    /// unverified TLS).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
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
    /// Save images from storage to an archive (stdout by default).
    Save(save_load::SaveArgs),
    /// Load the images of an archive (stdin by default) into storage.
    Load(save_load::LoadArgs),
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
    Ps(ps::PsArgs),
    /// Print a container's log.
    Logs(logs_cmd::LogsArgs),
    /// Wait for containers to exit and print their exit codes.
    Wait(containers::WaitArgs),
    /// Run a process in a running container.
    Exec(containers::ExecArgs),
    /// Attach to a running container's streams.
    Attach(attach_cmd::AttachArgs),
    /// Stop containers and start them again.
    Restart(ctr_tools::RestartArgs),
    /// Show the processes of a container.
    Top(ctr_tools::TopArgs),
    /// Run a container's health check.
    Healthcheck(healthcheck_cmd::HealthcheckArgs),
    /// Copy files between a container and the host (or a tar on stdin/stdout).
    Cp(cp_cmd::CpArgs),
    /// Show what a container (or an image's top layer) changed: A, C, D;
    /// with --packages, which packages changed between two.
    Diff(diff_cmd::DiffArgs),
    /// List what an image or container holds (OS, packages, layers)
    /// without running it.
    Scan(scan_cmd::ScanArgs),
    /// Write an image's software bill of materials (SPDX or CycloneDX JSON).
    Sbom(sbom_cmd::SbomArgs),
    /// Write a container's filesystem as a tar.
    Export(export_import::ExportArgs),
    /// Make an image from a tarball of a filesystem.
    Import(export_import::ImportArgs),
    /// Make an image from a container's changes.
    Commit(commit_cmd::CommitArgs),
    /// Show an image's history.
    History(history_cmd::HistoryArgs),
    /// `image prune`, once the group is opened.
    #[command(skip)]
    ImagePrune(image_prune::ImagePruneArgs),
    /// Pause all the processes of containers.
    Pause(pause_rename::PauseArgs),
    /// Unpause the processes of containers.
    Unpause(pause_rename::PauseArgs),
    /// Rename a container.
    Rename(pause_rename::RenameArgs),
    /// Show containers' CPU, memory, network, block I/O and pids.
    Stats(stats_cmd::StatsArgs),
    /// Show lifecycle events of containers and images.
    Events(events_cmd::EventsArgs),
    /// Manage named volumes.
    Volume(volumes::VolumeArgs),
    /// Manage bridge networks.
    Network(network_cmd::NetworkArgs),
    /// List a container's published ports.
    Port(network::PortArgs),
    /// Show the host, the store and the registries berth uses.
    Info(system::FormatArgs),
    /// Show berth's version.
    Version(system::FormatArgs),
    /// Disk use and clean-up: `system df`, `system prune`.
    System(system::SystemArgs),
    /// Install an image as a system container (`--system`): a systemd unit
    /// that runs it with berth-runtime, no daemon.
    Install(system_containers::InstallArgs),
    /// Deploy a system container's image again (or a new one) and switch to it.
    Update(system_containers::UpdateArgs),
    /// Switch a system container back to its previous deployment.
    Rollback(system_containers::RollbackArgs),
    /// Remove a system container: unit, deployments, tmpfiles snippet.
    Uninstall(system_containers::UninstallArgs),
    /// List installed system containers (`--system`).
    Containers(system_containers::ContainersArgs),
    /// Generate files for other tools: `generate systemd`.
    Generate(generate_cmd::GenerateArgs),
    /// Container commands as a group: `container ls`, `container rm`, …,
    /// and `container exists`.
    Container(groups::ContainerGroup),
    /// Working containers for building images: buildah's from, run, copy,
    /// add, config, mount, umount, commit, containers and rm.
    Builder(builder_cmd::BuilderGroup),
    /// Build an image from a Containerfile (podman build).
    Build(build_cmd::BuildArgs),
    /// Image commands as a group: `image ls`, `image rm`, …, and
    /// `image exists`.
    Image(groups::ImageGroup),
    /// `container prune`, once the group is opened.
    #[command(skip)]
    ContainerPrune(container_prune::ContainerPruneArgs),
    /// `container exists` / `image exists`, once the group is opened.
    #[command(skip)]
    Exists(groups::Exists),
    /// The monitor of a detached container (started by berth itself).
    #[command(hide = true)]
    Monitor(containers::MonitorArgs),
    /// Run a command (default: a shell) in the user namespace where a
    /// rootless user's store lives, as podman unshare.
    Unshare(unshare_cmd::UnshareArgs),
    /// Print a shell completion script (bash, zsh, fish, ...).
    Completion(docs_gen::CompletionArgs),
    /// Write the man pages of berth and every subcommand into a directory.
    #[command(hide = true)]
    GenerateManpages(docs_gen::ManpagesArgs),
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
            ctx.auth_file_named = true;
        }
        if let Some(p) = &self.signature_policy {
            ctx.policy = berth_image::PolicySource::File(p.clone());
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
        self.engine_over(self.store()?, self.context(&RegistryArgs::default())?)
    }

    /// [`Cli::engine`] over a store and registries' context already open.
    pub fn engine_over(
        &self,
        store: berth_storage::Store,
        ctx: berth_image::Context,
    ) -> anyhow::Result<berth_engine::Engine> {
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
        config::open_store(&self.root, &self.storage).map_err(|e| {
            let explained = e
                .downcast_ref::<berth_storage::Error>()
                .and_then(|se| newcomer::explain_store_error(&self.root, se));
            match explained {
                Some(line) => anyhow::anyhow!(line),
                None => e,
            }
        })
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
        Command::Inspect(a) => inspect_cmd::inspect(cli, a),
        Command::Mount(a) => ctr_tools::mount(cli, a),
        Command::Umount(a) => ctr_tools::umount(cli, a),
        Command::Push(a) => transfer::push(cli, a),
        Command::Copy(a) => transfer::copy(cli, a),
        Command::Save(a) => save_load::save(cli, a),
        Command::Load(a) => save_load::load(cli, a),
        Command::Login(a) => login::login(cli, a),
        Command::Logout(a) => login::logout(cli, a),
        Command::Run(a) => containers::run(cli, a),
        Command::Create(a) => containers::create(cli, a),
        Command::Start(a) => containers::start(cli, a),
        Command::Attach(a) => attach_cmd::attach(cli, a),
        Command::Stop(a) => containers::stop(cli, a),
        Command::Kill(a) => containers::kill(cli, a),
        Command::Rm(a) => containers::rm(cli, a),
        Command::Ps(a) => ps::ps(cli, a),
        Command::Logs(a) => logs_cmd::logs(cli, a),
        Command::Wait(a) => containers::wait(cli, a),
        Command::Exec(a) => containers::exec(cli, a),
        Command::Restart(a) => ctr_tools::restart(cli, a),
        Command::Top(a) => ctr_tools::top(cli, a),
        Command::Cp(a) => cp_cmd::cp(cli, a),
        Command::Diff(a) => diff_cmd::diff(cli, a),
        Command::Scan(a) => scan_cmd::scan(cli, a),
        Command::Sbom(a) => sbom_cmd::sbom(cli, a),
        Command::Export(a) => export_import::export(cli, a),
        Command::Import(a) => export_import::import(cli, a),
        Command::Commit(a) => commit_cmd::commit(cli, a),
        Command::History(a) => history_cmd::history(cli, a),
        Command::ImagePrune(a) => image_prune::prune(cli, a),
        Command::Pause(a) => pause_rename::pause(cli, a),
        Command::Unpause(a) => pause_rename::unpause(cli, a),
        Command::Rename(a) => pause_rename::rename(cli, a),
        Command::Stats(a) => stats_cmd::stats(cli, a),
        Command::Events(a) => events_cmd::events(cli, a),
        Command::Volume(a) => volumes::volume(cli, a),
        Command::Healthcheck(a) => healthcheck_cmd::healthcheck(cli, a),
        Command::Network(a) => network_cmd::network(cli, a),
        Command::Port(a) => network::port(cli, a),
        Command::Info(a) => system::info(cli, a),
        Command::Version(a) => system::version(cli, a),
        Command::System(a) => system::system(cli, a),
        Command::Install(a) => system_containers::install(cli, a),
        Command::Update(a) => system_containers::update(cli, a),
        Command::Rollback(a) => system_containers::rollback(cli, a),
        Command::Uninstall(a) => system_containers::uninstall(cli, a),
        Command::Containers(a) => system_containers::containers(cli, a),
        Command::Generate(a) => generate_cmd::generate(cli, a),
        Command::Monitor(a) => containers::monitor(cli, a),
        Command::ContainerPrune(a) => container_prune::prune(cli, a),
        Command::Exists(what) => groups::exists(cli, what),
        Command::Builder(g) => builder_cmd::builder(cli, g),
        Command::Build(a) => build_cmd::build(cli, a),
        Command::Container(_) | Command::Image(_) => {
            unreachable!("groups are opened into their commands before run")
        }
        Command::Unshare(a) => unshare_cmd::unshare(cli, a),
        Command::Completion(a) => docs_gen::completion(a),
        Command::GenerateManpages(a) => docs_gen::manpages(a),
    }
}

fn main() {
    // The rootless pause process is berth itself, started with this
    // argument: it only keeps the user's namespace alive.
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(
            berth_engine::rootless::userns::PAUSE_ARG,
        ))
    {
        berth_engine::rootless::userns::pause_main();
    }
    // A closed stdout (`berth ps | head -1`) ends berth quietly, as it does
    // every Unix tool, instead of a panic in println!. Commands that relay
    // a container's streams ignore SIGPIPE again and handle EPIPE.
    // SAFETY: no other thread exists yet; SIG_DFL is a valid disposition.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // Before anything opens a file or starts a thread.
    if let Err(e) = berth_engine::listen_fds::adopt_socket_activation() {
        eprintln!("Error: {e}");
        std::process::exit(125);
    }
    let matches = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|cli| (m, cli)));
    let (matches, mut cli) = match matches {
        Ok(m) => m,
        Err(e) => usage_error(e),
    };
    init_logging(&cli.log_level);
    cli.command = match cli.command {
        Command::Container(g) => g.command.into_command(),
        Command::Image(g) => g.command.into_command(),
        other => other,
    };
    // storage.conf fills in what the command line left to defaults; the
    // generated docs read no config (a broken file must not stop them).
    let docs = matches!(
        cli.command,
        Command::Completion(_) | Command::GenerateManpages(_)
    );
    let conf = if docs {
        Ok(())
    } else {
        config::apply_storage_conf(&mut cli, &matches)
            .and_then(|()| rootless_setup::enter_for(&cli))
    };
    if let Err(e) = conf.and_then(|()| run(&cli)) {
        if e.downcast_ref::<exit_code::Reported>().is_none() {
            eprintln!("Error: {e:#}");
        }
        std::process::exit(exit_code::of(&e));
    }
}

/// A command line clap refused: help and version exit 0 as they do
/// everywhere; a bad flag or argument is berth's error, 125, as podman's.
fn usage_error(e: clap::Error) -> ! {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => e.exit(),
        _ => {
            let _ = e.print();
            std::process::exit(exit_code::BERTH);
        }
    }
}
