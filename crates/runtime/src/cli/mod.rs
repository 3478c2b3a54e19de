//! runc's command line: global flags, one subcommand per verb.

mod checkpoint;
mod exec;
mod features;
mod info;
mod log;
mod manage;
mod signal;
mod spec;

use berth_runtime::container::{self, CreateOptions};
use berth_runtime::state::StateRoot;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

// pub(crate): examples/berth-runtime-docs.rs generates the completions and
// man pages from it.
#[derive(Parser)]
#[command(
    name = "berth-runtime",
    version,
    about = "berth's OCI runtime, a drop-in for runc"
)]
pub(crate) struct Cli {
    /// Directory holding container state.
    /// (default /run/berth-runtime, or $XDG_RUNTIME_DIR/berth-runtime when
    /// not run as root).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Write log lines (and errors) to this file.
    #[arg(long, global = true)]
    log: Option<PathBuf>,
    /// Format of log lines: text or json.
    #[arg(long, global = true, default_value = "text")]
    log_format: log::Format,
    /// Verbose logging.
    #[arg(long, global = true)]
    debug: bool,
    /// Accepted for runc compatibility: cgroupsPath is read as slice:prefix:name.
    #[arg(long)]
    systemd_cgroup: bool,
    /// Accepted for runc compatibility (rootless mode is detected).
    #[arg(long = "rootless", id = "global_rootless", num_args = 0..=1, default_missing_value = "true")]
    rootless: Option<String>,
    /// Path to the criu binary (default: criu from PATH).
    #[arg(long)]
    criu: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct CreateArgs {
    /// Path to the bundle directory.
    #[arg(short, long, default_value = ".")]
    bundle: PathBuf,
    /// Unix socket to send the pty master to.
    #[arg(long)]
    console_socket: Option<PathBuf>,
    /// File to write the init's pid to.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Use MS_MOVE and chroot instead of pivot_root.
    #[arg(long)]
    no_pivot: bool,
    /// Accepted for runc compatibility.
    #[arg(long)]
    no_new_keyring: bool,
    /// Pass this many extra descriptors (3..) to the container.
    #[arg(long, default_value_t = 0)]
    preserve_fds: u32,
    /// The container id.
    id: String,
}

#[derive(Subcommand)]
enum Command {
    /// Create a container; its process waits for `start`.
    Create(CreateArgs),
    /// Start the process of a created container.
    Start {
        /// The container id.
        id: String,
    },
    /// Create and start a container, and wait for it unless detached.
    Run {
        #[command(flatten)]
        create: CreateArgs,
        /// Return once the process has started.
        #[arg(short, long)]
        detach: bool,
        /// Accepted for runc compatibility.
        #[arg(long)]
        keep: bool,
    },
    /// Print the state of a container as JSON.
    State {
        /// The container id.
        id: String,
    },
    /// Send a signal (default SIGTERM) to a container.
    Kill {
        /// Signal every process of the container.
        #[arg(short, long)]
        all: bool,
        /// The container id.
        id: String,
        /// Signal name or number.
        signal: Option<String>,
    },
    /// Delete a container and what it holds.
    Delete {
        /// Kill it first if it still runs.
        #[arg(short, long)]
        force: bool,
        /// The container id.
        id: String,
    },
    /// Run a new process inside a running container.
    Exec(exec::ExecArgs),
    /// List containers.
    List {
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// Print only ids.
        #[arg(short, long)]
        quiet: bool,
    },
    /// List the processes of a container.
    Ps {
        /// table or json.
        #[arg(short, long, default_value = "table")]
        format: String,
        /// The container id.
        id: String,
        /// Options passed on to ps(1) for the table format.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        ps_args: Vec<String>,
    },
    /// Write a default config.json.
    Spec {
        /// Directory to write config.json to.
        #[arg(short, long, default_value = ".")]
        bundle: PathBuf,
        /// A config for running as an unprivileged user.
        #[arg(long)]
        rootless: bool,
    },
    /// Print what this runtime supports, as JSON.
    Features,
    /// Freeze every process of a container.
    Pause {
        /// The container id.
        id: String,
    },
    /// Thaw a paused container.
    Resume {
        /// The container id.
        id: String,
    },
    /// Print container statistics as JSON lines.
    Events {
        /// Print statistics once and exit.
        #[arg(long)]
        stats: bool,
        /// How often to print them.
        #[arg(long, default_value = "5s")]
        interval: String,
        /// The container id.
        id: String,
    },
    /// Change the resources of a container.
    Update(manage::UpdateArgs),
    /// Checkpoint a running container with CRIU.
    Checkpoint(checkpoint::CheckpointArgs),
    /// Restore a container from a CRIU checkpoint.
    Restore(checkpoint::RestoreArgs),
}

/// Parse the command line, run the command, log any error, and return the
/// exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let logger = log::Logger::new(cli.log.as_deref(), cli.log_format, cli.debug);
    log::install_warning_sink(&logger);
    logger.debug(&std::env::args().collect::<Vec<_>>().join(" "));
    match dispatch(cli) {
        Ok(code) => code,
        Err(err) => {
            logger.error(&err);
            1
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<i32> {
    let root = StateRoot::new(cli.root.unwrap_or_else(default_root));
    let create_opts = |a: CreateArgs| CreateOptions {
        id: a.id,
        bundle: a.bundle,
        pid_file: a.pid_file.map(absolute),
        console_socket: a.console_socket,
        preserve_fds: a.preserve_fds + socket_activation_fds(),
        no_pivot: a.no_pivot,
        notify_dir: None,
    };
    match cli.command {
        Command::Create(a) => {
            container::create(&root, &create_opts(a), container::Launch::Create, None)?;
        }
        Command::Start { id } => container::start(&root, &id)?,
        Command::Run {
            create,
            detach,
            keep: _,
        } => return Ok(container::run(&root, &create_opts(create), detach)?),
        Command::State { id } => {
            let report = container::state(&root, &id)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::Kill { all, id, signal } => {
            let sig = signal::parse(signal.as_deref().unwrap_or("SIGTERM"))?;
            container::kill(&root, &id, sig, all)?;
        }
        Command::Delete { force, id } => container::delete(&root, &id, force)?,
        Command::Exec(a) => return exec::run(&root, a),
        Command::List { format, quiet } => info::list(&root, &format, quiet)?,
        Command::Ps {
            format,
            id,
            ps_args,
        } => info::ps(&root, &id, &format, &ps_args)?,
        Command::Spec { bundle, rootless } => spec::write(&bundle, rootless)?,
        Command::Features => features::print()?,
        Command::Pause { id } => container::manage::pause(&root, &id)?,
        Command::Resume { id } => container::manage::resume(&root, &id)?,
        Command::Events {
            stats,
            interval,
            id,
        } => manage::events(&root, &id, stats, &interval)?,
        Command::Update(a) => manage::update(&root, a)?,
        Command::Checkpoint(a) => checkpoint::run_checkpoint(&root, a, cli.criu.as_deref())?,
        Command::Restore(a) => return checkpoint::run_restore(&root, a, cli.criu.as_deref()),
    }
    Ok(0)
}

/// `path` made absolute against the working directory and cleaned by its
/// letters (`a/../b` is `b` even if `a` does not exist), as runc's
/// `filepath.Abs` treats `--pid-file`.
fn absolute(path: PathBuf) -> PathBuf {
    use std::path::Component;
    let full = match std::env::current_dir() {
        Ok(cwd) if path.is_relative() => cwd.join(&path),
        _ => path,
    };
    let mut out = PathBuf::new();
    for c in full.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Under systemd socket activation (`LISTEN_PID` is us), the listening
/// sockets 3.. are passed on like `--preserve-fds`.
fn socket_activation_fds() -> u32 {
    let ours = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        == Some(std::process::id());
    if !ours {
        return 0;
    }
    std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Where state lives when `--root` is not given: runc's choice, under
/// berth's name.
fn default_root() -> PathBuf {
    if berth_runtime::namespaces::host_root() {
        return PathBuf::from("/run/berth-runtime");
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join("berth-runtime"),
        _ => PathBuf::from(format!("/tmp/berth-runtime-{}", nix::unistd::geteuid())),
    }
}
