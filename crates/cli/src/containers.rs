//! Container commands over the engine: run, create, start, stop, kill, rm,
//! ps, logs, wait, inspect, and the hidden monitor of detached containers.

use crate::Cli;
use anyhow::Context as _;
use berth_engine::{CreateOptions, Engine, Volume};
use clap::Args;

/// Options of `create` and `run`.
#[derive(Args)]
pub struct CreateArgs {
    #[command(flatten)]
    pub pull: crate::run_pull::PullFlags,
    /// Name of the container.
    #[arg(long)]
    pub name: Option<String>,
    /// Set environment variables (NAME=VALUE, or NAME to pass ours on).
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Read environment variables from a file.
    #[arg(long)]
    pub env_file: Vec<std::path::PathBuf>,
    /// Working directory inside the container.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// user[:group], names resolved in the image.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Replace the image's entrypoint ("" for none).
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// The container's hostname.
    #[arg(long)]
    pub hostname: Option<String>,
    /// Mount the root filesystem read-only.
    #[arg(long)]
    pub read_only: bool,
    /// Mount a tmpfs: PATH[:OPTIONS].
    #[arg(long)]
    pub tmpfs: Vec<String>,
    /// Bind mount HOST-DIR:CONTAINER-DIR[:ro].
    #[arg(short, long)]
    pub volume: Vec<String>,
    /// Memory limit (e.g. 512m).
    #[arg(short, long)]
    pub memory: Option<String>,
    /// CPUs (e.g. 1.5).
    #[arg(long)]
    pub cpus: Option<f64>,
    /// Most processes in the container.
    #[arg(long)]
    pub pids_limit: Option<i64>,
    /// `enabled` (the default) or `disabled`: no cgroup, and limits
    /// dropped (a rootless user without a delegated cgroup needs it to
    /// accept them).
    #[arg(long, value_parser = ["enabled", "disabled"])]
    pub cgroups: Option<String>,
    /// A resource limit NAME=SOFT[:HARD] (e.g. nofile=1024:2048); replaces
    /// containers.conf's default_ulimits entry of that name.
    #[arg(long)]
    pub ulimit: Vec<String>,
    /// Every capability, no seccomp, no masked paths.
    #[arg(long)]
    pub privileged: bool,
    /// Add capabilities.
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Drop capabilities.
    #[arg(long)]
    pub cap_drop: Vec<String>,
    /// no-new-privileges, seccomp=unconfined|PROFILE.json, mask=PATHS,
    /// unmask=PATHS|ALL, label=…, apparmor=unconfined.
    #[arg(long)]
    pub security_opt: Vec<String>,
    /// none, host, bridge or container:NAME (default: bridge as root, else
    /// none).
    #[arg(long, alias = "net")]
    pub network: Option<String>,
    /// Publish a port: [hostIP:][hostPort:]containerPort[/proto].
    #[arg(short, long)]
    pub publish: Vec<String>,
    /// Publish the image's exposed ports on random host ports.
    #[arg(short = 'P', long)]
    pub publish_all: bool,
    /// The container's IPv4 address on the bridge network.
    #[arg(long)]
    pub ip: Option<String>,
    /// Another name of the container on the bridge network.
    #[arg(long)]
    pub network_alias: Vec<String>,
    /// Keep stdin open.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// Remove the container once it exited.
    #[arg(long)]
    pub rm: bool,
    /// Signal to stop the container with.
    #[arg(long)]
    pub stop_signal: Option<String>,
    /// Run an init as pid 1 that forwards signals and reaps zombies.
    #[arg(long)]
    pub init: bool,
    /// Set a label: KEY=VALUE (KEY alone: an empty value).
    #[arg(short, long)]
    pub label: Vec<String>,
    #[command(flatten)]
    pub life: crate::create_life_flags::LifeFlags,
    #[command(flatten)]
    pub mounts: crate::create_mount_flags::MountFlags,
    #[command(flatten)]
    pub spec: crate::create_spec_flags::SpecFlags,
    /// The image.
    pub image: String,
    /// The command and its arguments.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

impl CreateArgs {
    /// The engine's options; `conf` gives the defaults of what the
    /// command line leaves out.
    fn options(&self, conf: &crate::config::ContainersConf) -> anyhow::Result<CreateOptions> {
        let mut env = Vec::new();
        for f in &self.env_file {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("reading --env-file {}", f.display()))?;
            env.extend(berth_engine::options::parse_env_file(&text));
        }
        env.extend(
            self.env
                .iter()
                .filter_map(|e| berth_engine::options::expand_env(e)),
        );
        let mut opts = CreateOptions {
            image: self.image.clone(),
            name: self.name.clone(),
            command: self.command.clone(),
            entrypoint: self.entrypoint.clone(),
            env,
            workdir: self.workdir.clone(),
            user: self.user.clone(),
            hostname: self.hostname.clone(),
            read_only: self.read_only,
            tmpfs: self.tmpfs.clone(),
            volumes: self
                .volume
                .iter()
                .map(|v| Volume::parse(v))
                .collect::<Result<_, _>>()?,
            memory: self
                .memory
                .as_deref()
                .map(berth_engine::options::parse_size)
                .transpose()?,
            cpus: self.cpus,
            pids_limit: self.pids_limit,
            cgroups_disabled: self.cgroups.as_deref() == Some("disabled"),
            privileged: self.privileged,
            cap_add: self.cap_add.clone(),
            cap_drop: self.cap_drop.clone(),
            // With the rest of --security-opt, by the spec flags below.
            seccomp_unconfined: false,
            network: match &self.network {
                // Its own namespace, replaced by the other's (below).
                Some(n) if n.starts_with("container:") => berth_engine::NetworkMode::None,
                Some(n) => crate::network_cmd::network_flag(n)?.0,
                None => crate::config::network_default::default_network_mode(conf)?,
            },
            ports: self
                .publish
                .iter()
                .map(|p| berth_engine::PortMapping::parse(p))
                .collect::<Result<_, _>>()?,
            publish_all: self.publish_all,
            ip: self.ip.clone(),
            network_aliases: self.network_alias.clone(),
            network_name: match &self.network {
                Some(n) if n.starts_with("container:") => None,
                Some(n) => crate::network_cmd::network_flag(n)?.1,
                None => None,
            },
            interactive: self.interactive,
            tty: self.tty,
            remove: self.rm,
            stop_signal: self.stop_signal.clone(),
            init: self.init,
            ulimits: self
                .ulimit
                .iter()
                .map(|u| berth_engine::options::Ulimit::parse(u))
                .collect::<Result<_, _>>()?,
            labels: self
                .label
                .iter()
                .map(|l| match l.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (l.clone(), String::new()),
                })
                .collect(),
            // containers.conf, read only by the commands that create.
            defaults: crate::config::container_defaults(conf)?,
            life: self.life.options()?,
            spec: Default::default(),
            // Pods are made through the engine's API (berthd) only.
            pod: None,
            log_path: None,
            create_command: std::env::args().collect(),
        };
        self.spec.apply(&mut opts, &self.security_opt)?;
        if let Some(n) = self
            .network
            .as_deref()
            .filter(|n| n.starts_with("container:"))
        {
            opts.spec.net = Some(berth_engine::spec_options::NamespaceMode::parse(
                "--network",
                n,
            )?);
        }
        Ok(opts)
    }
}

#[derive(Args)]
pub struct RunArgs {
    /// Run in the background and print the id.
    #[arg(short, long)]
    pub detach: bool,
    /// Pass descriptors 3..3+N on to the container.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    /// Attach only these streams: stdin, stdout, stderr (repeatable).
    #[arg(short = 'a', long = "attach")]
    pub attach: Vec<String>,
    #[command(flatten)]
    pub attach_flags: crate::attach_cmd::AttachFlags,
    #[command(flatten)]
    pub create: CreateArgs,
}

/// What `create` and `run` share: the options checked first (bad input
/// pulls nothing), then the image pulled per `--pull`, then the container.
fn create_container(cli: &Cli, a: &CreateArgs) -> anyhow::Result<(Engine, String)> {
    // Read once: the defaults, the network mode and the pull policy.
    let conf = crate::config::ContainersConf::load()?;
    let mut opts = a.options(&conf)?;
    let engine = crate::run_pull::image_and_engine(cli, &a.pull, &a.image, &conf)?;
    a.mounts.apply(&engine, &mut opts)?;
    a.life.before_create(&engine, opts.name.as_deref())?;
    let id = engine.create(&opts)?;
    a.life.after_create(&engine, &id)?;
    Ok((engine, id))
}

pub fn create(cli: &Cli, a: &CreateArgs) -> anyhow::Result<()> {
    let (_, id) = create_container(cli, a)?;
    println!("{id}");
    Ok(())
}

pub fn run(cli: &Cli, a: &RunArgs) -> anyhow::Result<()> {
    berth_engine::listen_fds::preserve(a.preserve_fds)?;
    // Checked before anything is made.
    let mut attach = a.attach_flags.options(true)?;
    crate::attach_cmd::streams(&mut attach, &a.attach)?;
    let (engine, id) = create_container(cli, &a.create)?;
    if a.detach {
        if let Err(e) = engine.start_detached(&id) {
            if a.create.rm {
                let _ = engine.remove_with_volumes(&id, true);
            }
            return Err(e.into());
        }
        println!("{id}");
        return Ok(());
    }
    match engine.run_attached(&id, &attach) {
        // Returned, not exited, so the engine (and its store's writer
        // marker) is dropped first.
        Ok(end) => crate::attach_cmd::ended(end),
        Err(e) => {
            if a.create.rm {
                let _ = engine.remove_with_volumes(&id, true);
            }
            Err(e.into())
        }
    }
}

#[derive(Args)]
pub struct StartArgs {
    /// Attach: stdio of the container is ours, exit with its code.
    #[arg(short, long)]
    pub attach: bool,
    /// Attach stdin too (with -a).
    #[arg(short, long)]
    pub interactive: bool,
    #[command(flatten)]
    pub attach_flags: crate::attach_cmd::AttachFlags,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn start(cli: &Cli, a: &StartArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    // podman: -i attaches as well.
    if a.attach || a.interactive {
        anyhow::ensure!(a.containers.len() == 1, "start -a takes one container");
        let opts = a.attach_flags.options(a.interactive)?;
        return crate::attach_cmd::ended(engine.run_attached(&a.containers[0], &opts)?);
    }
    for c in &a.containers {
        match engine.start_detached(c) {
            // podman: starting a running container is done already.
            Err(berth_engine::Error::State { state, .. }) if state == "running" => {}
            other => other?,
        }
        println!("{c}");
    }
    Ok(())
}

#[derive(Args)]
pub struct StopArgs {
    /// Seconds to wait before SIGKILL (default: the container's
    /// --stop-timeout, else 10).
    #[arg(short, long)]
    pub time: Option<u64>,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn stop(cli: &Cli, a: &StopArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    for c in &a.containers {
        let time = match a.time {
            Some(t) => t,
            None => engine.stop_timeout(c)?,
        };
        engine.stop(c, time)?;
        println!("{c}");
    }
    Ok(())
}

#[derive(Args)]
pub struct KillArgs {
    /// The signal.
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn kill(cli: &Cli, a: &KillArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    for c in &a.containers {
        engine.kill(c, &a.signal)?;
        println!("{c}");
    }
    Ok(())
}

#[derive(Args)]
pub struct RmArgs {
    /// Kill a running container first.
    #[arg(short, long)]
    pub force: bool,
    /// Remove its anonymous volumes too.
    #[arg(short, long)]
    pub volumes: bool,
    /// A missing container is no error.
    #[arg(short, long)]
    pub ignore: bool,
    /// Every container.
    #[arg(short, long)]
    pub all: bool,
    /// Containers.
    #[arg(required_unless_present = "all")]
    pub containers: Vec<String>,
}

pub fn rm(cli: &Cli, a: &RmArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let mut names = a.containers.clone();
    if a.all {
        names.extend(engine.list()?.into_iter().map(|i| i.id));
    }
    // With --all one may go with --rm meanwhile: no error.
    crate::each::each(&names, a.force || a.ignore || a.all, |c| {
        if a.volumes {
            engine.remove_with_volumes(c, a.force)?;
        } else {
            engine.remove(c, a.force)?;
        }
        Ok(c.clone())
    })
}

#[derive(Args)]
pub struct WaitArgs {
    /// The state to wait for: stopped/exited (the default), running or
    /// created; repeatable (any of them).
    #[arg(long)]
    pub condition: Vec<String>,
    /// Containers.
    #[arg(required = true)]
    pub containers: Vec<String>,
}

pub fn wait(cli: &Cli, a: &WaitArgs) -> anyhow::Result<()> {
    use berth_engine::Status;
    let mut wanted = Vec::new();
    for c in &a.condition {
        wanted.push(match c.as_str() {
            "stopped" | "exited" => Status::Exited,
            "running" => Status::Running,
            "created" | "configured" => Status::Created,
            _ => anyhow::bail!("invalid --condition {c:?} (stopped, exited, running, created)"),
        });
    }
    let engine = cli.engine()?;
    for c in &a.containers {
        if wanted.is_empty() || wanted == [Status::Exited] {
            println!("{}", engine.wait(c)?.unwrap_or(-1));
            continue;
        }
        // Another state: poll for it, as podman does.
        let info = loop {
            let info = engine.inspect(c)?;
            if wanted.contains(&info.state.status) {
                break info;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        println!("{}", info.state.exit_code.unwrap_or(-1));
    }
    Ok(())
}

/// A container's `inspect` (podman's shape), if `key` names one.
pub fn container_value(
    cli: &Cli,
    engine: &Engine,
    store: &berth_storage::Store,
    key: &str,
) -> anyhow::Result<Option<crate::report::Inspected>> {
    let info = match engine.inspect(key) {
        Ok(i) => i,
        Err(berth_engine::Error::NotFound(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let facts = crate::container_json::ImageFacts::of(store, &info);
    let spec = engine.container_spec(&info)?;
    let runtime = cli.runtime_path();
    let runtime = runtime
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let out = crate::container_json::inspect(
        engine,
        &info,
        &facts,
        spec.as_ref(),
        &runtime,
        store.driver_kind().name(),
    );
    Ok(Some(crate::report::Inspected::of(&out)?))
}

#[derive(Args)]
pub struct ExecArgs {
    /// Pass stdin on.
    #[arg(short, long)]
    pub interactive: bool,
    /// Allocate a terminal.
    #[arg(short, long)]
    pub tty: bool,
    /// user[:group], names resolved in the container.
    #[arg(short, long)]
    pub user: Option<String>,
    /// Set environment variables.
    #[arg(short, long)]
    pub env: Vec<String>,
    /// Working directory.
    #[arg(short, long)]
    pub workdir: Option<String>,
    /// Pass descriptors 3..3+N on to the process.
    #[arg(long, default_value_t = 0)]
    pub preserve_fds: u32,
    #[command(flatten)]
    pub more: crate::exec_flags::ExecFlags,
    /// The container.
    pub container: String,
    /// The command and its arguments.
    #[arg(required = true, trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

pub fn exec(cli: &Cli, a: &ExecArgs) -> anyhow::Result<()> {
    berth_engine::listen_fds::preserve(a.preserve_fds)?;
    let engine = cli.engine()?;
    let opts = berth_engine::ExecOptions {
        command: a.command.clone(),
        env: a.more.env_files(&a.env)?,
        user: a.user.clone(),
        workdir: a.workdir.clone(),
        interactive: a.interactive,
        tty: a.tty,
        privileged: a.more.privileged,
    };
    if a.more.detach {
        println!("{}", engine.exec_detached(&a.container, &opts)?);
        return Ok(());
    }
    let keys = berth_engine::detach_keys::parse(&a.more.detach_keys)?;
    crate::attach_cmd::ended(engine.exec_attached(&a.container, &opts, keys)?)
}

#[derive(Args)]
pub struct MonitorArgs {
    /// The container.
    pub id: String,
}

/// The hidden `monitor` command: leave the CLI, then watch the container.
pub fn monitor(cli: &Cli, a: &MonitorArgs) -> ! {
    // The monitor outlives the CLI's pipe and writes to the container's
    // streams: EPIPE is an error it handles, never its death.
    // SAFETY: single-threaded; SIG_IGN is a valid disposition.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
    if let Err(e) = berth_engine::monitor::detach() {
        println!("error: {e}");
        std::process::exit(1);
    }
    let engine: anyhow::Result<Engine> = cli.engine();
    match engine {
        Ok(engine) => {
            let code = berth_engine::monitor::run(&engine, &a.id);
            drop(engine);
            std::process::exit(code)
        }
        Err(e) => {
            println!("error: {e:#}");
            std::process::exit(1);
        }
    }
}
