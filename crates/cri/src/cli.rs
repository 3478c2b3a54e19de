//! berthd's command line: read the configuration, take or bind the
//! socket, open the store and serve until SIGTERM or SIGINT.

use crate::{config, daemon, listener, service};
use anyhow::Context as _;
use clap::Parser;
use std::path::PathBuf;
use std::sync::Arc;

/// berthd: a CRI server for kubelet over berth's libraries.
#[derive(Parser)]
#[command(name = "berthd", version)]
struct Args {
    /// The configuration file (TOML).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
    /// The unix socket to serve on (overrides the file's `listen`).
    #[arg(long, value_name = "PATH")]
    listen: Option<PathBuf>,
    /// error, warn, info, debug or trace (overrides the file's `log_level`).
    #[arg(long, value_name = "LEVEL")]
    log_level: Option<String>,
}

fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// berthd's `main`.
pub fn run() -> anyhow::Result<()> {
    // Before anything opens a file that could take descriptor 3.
    let activated = listener::take_activated()?;
    let args = Args::parse();
    let (path, required) = match &args.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(config::DEFAULT_PATH), false),
    };
    let mut config = config::Config::load(&path, required)?;
    if let Some(l) = args.listen {
        config.listen = l;
    }
    if let Some(l) = args.log_level {
        config.log_level = l;
    }
    init_logging(&config.log_level);
    if config.cgroup_driver == "systemd" {
        tracing::warn!(
            "cgroup_driver = \"systemd\" is not supported: Status reports RuntimeReady false and pods are refused"
        );
    }
    // The engine's network finds its plugins here; set while berthd is
    // still one thread.
    std::env::set_var(
        berth_engine::network::PLUGIN_DIR_ENV,
        &config.cni_plugin_dir,
    );
    let (listener, bound) = match activated {
        Some(l) => (l, None),
        None => (listener::bind(&config.listen)?, Some(config.listen.clone())),
    };
    listener
        .set_nonblocking(true)
        .context("making the socket non-blocking")?;
    let daemon = Arc::new(daemon::Daemon::open(config)?);
    // One async thread and a small blocking pool whose idle threads end:
    // an idle berthd stays small.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .max_blocking_threads(16)
        .thread_keep_alive(std::time::Duration::from_secs(10))
        .build()
        .context("starting the async runtime")?;
    let served = rt.block_on(service::serve(daemon, listener));
    if let Some(p) = bound {
        let _ = std::fs::remove_file(p);
    }
    served
}
