//! What one berthd holds while it serves: its configuration, the engine
//! over the shared store (the CLI's, with the same file locks), the image
//! context pulls use, and the little state kubelet sets at run time. All
//! of it per instance, nothing in a `static`.

use crate::config::Config;
use crate::status_codes;
use anyhow::Context as _;
use berth_engine::{Engine, EngineOptions};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tonic::Status;

/// One running berthd.
pub struct Daemon {
    /// Its configuration.
    pub config: Config,
    /// The engine over the shared store.
    pub engine: Engine,
    /// How images are found and pulled (registries.conf, auth, policy).
    pub ctx: berth_image::Context,
    /// The OCI runtime binary.
    pub runtime: PathBuf,
    /// The pod CIDR kubelet last gave `UpdateRuntimeConfig`.
    pub pod_cidr: Mutex<String>,
    /// The streaming server (Exec, Attach, PortForward), bound at open.
    pub streaming: crate::streaming::Streaming,
    /// berthd's own counters for the Prometheus endpoint.
    pub metrics: crate::prometheus::Metrics,
}

impl Daemon {
    /// Open the store and build the engine as `config` says.
    pub fn open(config: Config) -> anyhow::Result<Daemon> {
        let store = berth_storage::Store::open(berth_storage::StoreOptions {
            driver: config.driver(),
            ..berth_storage::StoreOptions::at(&config.root)
        })
        .with_context(|| format!("opening storage at {}", config.root.display()))?;
        let conf = berth_image::RegistriesConf::load(
            Some(config.registries_conf.as_path()).filter(|p| !p.as_os_str().is_empty()),
        )?;
        let mut ctx = berth_image::Context {
            conf,
            ..Default::default()
        };
        if !config.auth_file.as_os_str().is_empty() {
            ctx.auth_file = config.auth_file.clone();
            ctx.auth_file_named = true;
        }
        if !config.tls_verify {
            ctx.tls_verify = Some(false);
        }
        let runtime = runtime_path(&config);
        let streaming =
            crate::streaming::Streaming::bind(&config.streaming_address).with_context(|| {
                format!(
                    "binding the streaming server on {}",
                    config.streaming_address
                )
            })?;
        let engine = Engine::new(
            store,
            ctx.clone(),
            EngineOptions {
                runroot: config.runroot.clone(),
                runtime: runtime.clone(),
                cgroup_parent: config.cgroup_parent.clone(),
                monitor: monitor_command(&config, &runtime)?,
            },
        );
        Ok(Daemon {
            config,
            engine,
            ctx,
            runtime,
            pod_cidr: Mutex::new(String::new()),
            streaming,
            metrics: Default::default(),
        })
    }
}

/// The runtime binary: the configured one, else berth-runtime next to
/// berthd, else from PATH.
fn runtime_path(config: &Config) -> PathBuf {
    if !config.runtime.as_os_str().is_empty() {
        return config.runtime.clone();
    }
    std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(|d| d.join("berth-runtime")))
        .filter(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("berth-runtime"))
}

/// Each container gets its own monitor (berth-monitor, next to berthd or
/// in PATH), as `berth run -d` does: containers outlive berthd.
fn monitor_command(
    config: &Config,
    runtime: &std::path::Path,
) -> anyhow::Result<Vec<std::ffi::OsString>> {
    let exe = std::env::current_exe().context("finding the berthd binary")?;
    let beside = exe.with_file_name("berth-monitor");
    let monitor = if beside.exists() {
        beside
    } else {
        PathBuf::from("berth-monitor")
    };
    Ok(vec![
        monitor.into_os_string(),
        "--root".into(),
        config.root.clone().into_os_string(),
        "--runroot".into(),
        config.runroot.clone().into_os_string(),
        "--runtime".into(),
        runtime.as_os_str().to_owned(),
        "--cgroup-parent".into(),
        config.cgroup_parent.clone().into(),
    ])
}

/// Run `f` on the blocking pool: the engine's calls fork runtimes and
/// wait on file locks, which must not stall the one async thread.
pub async fn blocking<T, F>(daemon: &Arc<Daemon>, f: F) -> Result<T, Status>
where
    T: Send + 'static,
    F: FnOnce(&Daemon) -> Result<T, Status> + Send + 'static,
{
    let d = Arc::clone(daemon);
    tokio::task::spawn_blocking(move || f(&d))
        .await
        .map_err(status_codes::join)?
}
