//! Containers in podman 4.3's JSON shapes: `ps --format json` rows and
//! `inspect`. Typed, so the keys come out in podman's order and with
//! podman's types; the templates of `--format` see the same fields.
//! Keys podman has and berth does not are listed in docs/podman-compat.md.

use crate::ago;
use berth_engine::{ContainerInfo, Engine, NetworkMode, Status};
use oci_spec::runtime::Spec;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Go's zero time, which podman prints for "never".
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";
/// Go's zero time in seconds since the epoch (`ps`'s ExitedAt when unset).
const ZERO_EPOCH: i64 = -62135596800;

/// What a container's image says, for the fields that merge it in.
#[derive(Default)]
pub struct ImageFacts {
    /// Its first name (`localhost/busybox:latest`), else the name given.
    pub name: String,
    /// The manifest digest it was pulled by, if known.
    pub digest: String,
    /// Its labels.
    pub labels: BTreeMap<String, String>,
}

impl ImageFacts {
    /// The facts of `info`'s image from storage; what is unreadable is
    /// left empty (the image may be gone with `rmi -f`).
    pub fn of(store: &berth_storage::Store, info: &ContainerInfo) -> ImageFacts {
        let image = store.image(&info.image_id).ok();
        let labels = store
            .image_config(&info.image_id)
            .ok()
            .and_then(|b| berth_engine::image_config::parse(&info.image_id, &b).ok())
            .and_then(|c| c.config().as_ref().and_then(|c| c.labels().clone()))
            .map(|l| l.into_iter().collect())
            .unwrap_or_default();
        ImageFacts {
            name: image
                .as_ref()
                .and_then(|i| i.names.first().cloned())
                .unwrap_or_else(|| info.meta.options.image.clone()),
            digest: image
                .as_ref()
                .map(|i| i.manifest_digest.to_string())
                .unwrap_or_default(),
            labels,
        }
    }
}

/// The container's labels: the image's, then `--label` over them.
fn labels(info: &ContainerInfo, image: &ImageFacts) -> BTreeMap<String, String> {
    let mut all = image.labels.clone();
    all.extend(info.meta.options.labels.clone());
    all
}

fn epoch_of(time: Option<&str>) -> i64 {
    time.and_then(|t| humantime::parse_rfc3339(t).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_secs() as i64)
        .unwrap_or(ZERO_EPOCH)
}

fn rfc3339_of_epoch(secs: u64, nanos: u32) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::new(secs, nanos);
    humantime::format_rfc3339_nanos(t).to_string()
}

/// `ps`'s STATUS column.
pub fn status_text(s: &berth_engine::State) -> String {
    match s.status {
        Status::Created => "Created".into(),
        Status::Running if s.paused => "Paused".into(),
        Status::Running => format!("Up {}", ago::since_rfc3339(s.started_at.as_deref())),
        Status::Exited => format!(
            "Exited ({}) {}",
            s.exit_code.unwrap_or(-1),
            ago::since_rfc3339(s.finished_at.as_deref())
        ),
    }
}

/// A published port as `ps --format json` lists it.
#[derive(Serialize)]
pub struct PsPort {
    host_ip: String,
    container_port: u16,
    host_port: u16,
    range: u16,
    protocol: String,
}

/// One row of `ps --format json`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PsEntry {
    pub auto_remove: bool,
    pub command: Vec<String>,
    pub created_at: String,
    pub exited: bool,
    pub exited_at: i64,
    pub exit_code: i32,
    pub id: String,
    pub image: String,
    #[serde(rename = "ImageID")]
    pub image_id: String,
    pub is_infra: bool,
    /// null when there are none, as podman's.
    pub labels: Option<BTreeMap<String, String>>,
    pub mounts: Vec<String>,
    pub names: Vec<String>,
    pub namespaces: BTreeMap<String, String>,
    pub networks: Vec<String>,
    pub pid: i32,
    pub pod: String,
    pub pod_name: String,
    pub ports: Option<Vec<PsPort>>,
    pub size: Option<Value>,
    pub started_at: i64,
    pub state: String,
    pub status: String,
    pub created: u64,
}

/// `info` as a `ps --format json` row.
pub fn ps_entry(info: &ContainerInfo, image: &ImageFacts) -> PsEntry {
    let ports: Vec<PsPort> = berth_engine::published_ports(&info.meta.options, &info.state)
        .iter()
        .map(|m| PsPort {
            host_ip: m.host_ip_text(),
            container_port: m.container_port,
            host_port: m.host_port,
            range: 1,
            protocol: m.protocol.clone(),
        })
        .collect();
    let networks = match info.meta.options.network {
        NetworkMode::Bridge => vec![info
            .meta
            .options
            .network_name
            .clone()
            .unwrap_or_else(|| berth_engine::network::config::NAME.to_string())],
        _ => Vec::new(),
    };
    PsEntry {
        auto_remove: info.meta.options.remove,
        command: info.meta.command.clone(),
        created_at: ago::since_epoch(info.created),
        exited: info.state.status == Status::Exited,
        exited_at: epoch_of(info.state.finished_at.as_deref()),
        exit_code: info.state.exit_code.unwrap_or(0),
        id: info.id.clone(),
        image: image.name.clone(),
        image_id: info.image_id.clone(),
        is_infra: false,
        labels: Some(labels(info, image)).filter(|l| !l.is_empty()),
        mounts: info
            .meta
            .options
            .volumes
            .iter()
            .map(|v| v.destination.clone())
            .collect(),
        names: vec![info.name.clone()],
        namespaces: BTreeMap::new(),
        networks,
        pid: info.state.process.map(|p| p.pid).unwrap_or(0),
        pod: String::new(),
        pod_name: String::new(),
        ports: (!ports.is_empty()).then_some(ports),
        size: None,
        started_at: epoch_of(info.state.started_at.as_deref()),
        state: info.state.shown_status(),
        status: status_text(&info.state),
        created: info.created,
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectState {
    oci_version: String,
    status: String,
    running: bool,
    paused: bool,
    restarting: bool,
    #[serde(rename = "OOMKilled")]
    oom_killed: bool,
    dead: bool,
    pid: i32,
    conmon_pid: i32,
    exit_code: i32,
    error: String,
    started_at: String,
    finished_at: String,
    cgroup_path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    health: Option<berth_engine::health::HealthState>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InspectConfig {
    #[serde(skip_serializing_if = "Option::is_none")]
    healthcheck: Option<berth_engine::health::Healthcheck>,
    healthcheck_on_failure_action: &'static str,
    hostname: String,
    domainname: String,
    user: String,
    attach_stdin: bool,
    attach_stdout: bool,
    attach_stderr: bool,
    tty: bool,
    open_stdin: bool,
    stdin_once: bool,
    env: Vec<String>,
    cmd: Vec<String>,
    image: String,
    volumes: Option<BTreeMap<String, Value>>,
    working_dir: String,
    /// A string in podman 4.3 (the entrypoint joined by spaces).
    entrypoint: String,
    on_build: Option<Value>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    /// A number in podman's inspect.
    stop_signal: i32,
    stop_timeout: u64,
    exposed_ports: Value,
}

/// `inspect` of a container, podman's shape.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContainerInspect {
    id: String,
    created: String,
    path: String,
    args: Vec<String>,
    state: InspectState,
    image: String,
    image_digest: String,
    image_name: String,
    rootfs: String,
    pod: String,
    resolv_conf_path: String,
    hostname_path: String,
    hosts_path: String,
    #[serde(rename = "OCIConfigPath")]
    oci_config_path: String,
    #[serde(rename = "OCIRuntime")]
    oci_runtime: String,
    name: String,
    restart_count: u32,
    driver: String,
    effective_caps: Vec<String>,
    bounding_caps: Vec<String>,
    #[serde(rename = "ExecIDs")]
    exec_ids: Vec<String>,
    mounts: Vec<crate::container_host_json::Mount>,
    network_settings: Value,
    is_infra: bool,
    config: InspectConfig,
    host_config: crate::container_host_json::HostConfig,
    /// berth's: the runtime's cgroup path and log (podman has them under
    /// State and HostConfig.LogConfig too).
    log_path: String,
    bundle: String,
}

/// Signal number of a name like `SIGTERM` or `TERM`, or a number
/// (podman's inspect shows StopSignal as a number).
fn signal_number(name: &str) -> i32 {
    let upper = name.trim().to_ascii_uppercase();
    let short = upper.trim_start_matches("SIG");
    if let Ok(n) = short.parse() {
        return n;
    }
    const NAMES: [(&str, i32); 12] = [
        ("HUP", libc::SIGHUP),
        ("INT", libc::SIGINT),
        ("QUIT", libc::SIGQUIT),
        ("KILL", libc::SIGKILL),
        ("USR1", libc::SIGUSR1),
        ("USR2", libc::SIGUSR2),
        ("PIPE", libc::SIGPIPE),
        ("ALRM", libc::SIGALRM),
        ("TERM", libc::SIGTERM),
        ("CONT", libc::SIGCONT),
        ("STOP", libc::SIGSTOP),
        ("WINCH", libc::SIGWINCH),
    ];
    NAMES
        .iter()
        .find(|(n, _)| *n == short)
        .map(|(_, s)| *s)
        .unwrap_or(libc::SIGTERM)
}

/// `inspect` of `info`, from its options, state, image and config.json.
pub fn inspect(
    engine: &Engine,
    info: &ContainerInfo,
    image: &ImageFacts,
    spec: Option<&Spec>,
    runtime: &str,
    driver: &str,
) -> ContainerInspect {
    let o = &info.meta.options;
    let process = spec.and_then(|s| s.process().as_ref());
    let caps = |pick: fn(&oci_spec::runtime::LinuxCapabilities) -> Option<&_>| -> Vec<String> {
        let mut v: Vec<String> = process
            .and_then(|p| p.capabilities().as_ref())
            .and_then(pick)
            .map(|set: &oci_spec::runtime::Capabilities| {
                set.iter().map(|c| format!("CAP_{c}")).collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    let effective = caps(|c| c.effective().as_ref());
    let bounding = caps(|c| c.bounding().as_ref());
    let env = process.and_then(|p| p.env().clone()).unwrap_or_default();
    let user = o.user.clone().unwrap_or_default();
    let working_dir = process
        .map(|p| p.cwd().to_string_lossy().into_owned())
        .unwrap_or_else(|| "/".into());
    let hostname = spec
        .and_then(|s| s.hostname().clone())
        .unwrap_or_else(|| info.id[..12].to_string());
    let command = &info.meta.command;
    let entrypoint = o.entrypoint.clone().unwrap_or_default();
    let cmd = if o.command.is_empty() {
        command.clone()
    } else {
        o.command.clone()
    };
    let running = info.state.status == Status::Running && !info.state.paused;
    let state = InspectState {
        oci_version: spec.map(|s| s.version().clone()).unwrap_or_default(),
        status: info.state.shown_status(),
        running,
        paused: info.state.paused,
        restarting: false,
        oom_killed: false,
        dead: false,
        pid: info.state.process.map(|p| p.pid).unwrap_or(0),
        conmon_pid: info.state.monitor.map(|p| p.pid).unwrap_or(0),
        exit_code: info.state.exit_code.unwrap_or(0),
        error: info.state.error.clone().unwrap_or_default(),
        started_at: info
            .state
            .started_at
            .clone()
            .unwrap_or_else(|| ZERO_TIME.into()),
        finished_at: info
            .state
            .finished_at
            .clone()
            .unwrap_or_else(|| ZERO_TIME.into()),
        cgroup_path: info.meta.cgroups_path.clone(),
        health: engine.health(&info.id, &info.meta),
    };
    let network_settings = crate::network::settings(info);
    let port_bindings = network_settings["Ports"].clone();
    let annotations = spec
        .and_then(|s| s.annotations().clone())
        .map(|a| a.into_iter().collect())
        .unwrap_or_default();
    ContainerInspect {
        id: info.id.clone(),
        created: rfc3339_of_epoch(info.created, info.created_nanos),
        path: command.first().cloned().unwrap_or_default(),
        args: command.iter().skip(1).cloned().collect(),
        state,
        image: info.image_id.clone(),
        image_digest: image.digest.clone(),
        image_name: image.name.clone(),
        rootfs: String::new(),
        pod: String::new(),
        resolv_conf_path: info.bundle.join("resolv.conf").display().to_string(),
        hostname_path: info.bundle.join("hostname").display().to_string(),
        hosts_path: info.bundle.join("hosts").display().to_string(),
        oci_config_path: info.bundle.join("config.json").display().to_string(),
        oci_runtime: runtime.to_string(),
        name: info.name.clone(),
        restart_count: info.state.restart_count,
        driver: driver.to_string(),
        effective_caps: effective,
        bounding_caps: bounding,
        exec_ids: Vec::new(),
        mounts: crate::container_host_json::mounts(engine, info, spec),
        network_settings,
        is_infra: false,
        config: InspectConfig {
            healthcheck: o.life.healthcheck.clone(),
            healthcheck_on_failure_action: o.life.health_on_failure.as_str(),
            hostname,
            domainname: String::new(),
            user,
            attach_stdin: false,
            attach_stdout: false,
            attach_stderr: false,
            tty: o.tty,
            open_stdin: o.interactive,
            stdin_once: false,
            env,
            cmd,
            image: image.name.clone(),
            volumes: None,
            working_dir,
            entrypoint,
            on_build: None,
            labels: labels(info, image),
            annotations,
            stop_signal: signal_number(&info.meta.stop_signal),
            stop_timeout: info.meta.options.spec.stop_timeout.unwrap_or(10),
            exposed_ports: crate::network::exposed_ports(info),
        },
        host_config: crate::container_host_json::host_config(info, spec, port_bindings),
        log_path: info.log_path.display().to_string(),
        bundle: info.bundle.display().to_string(),
    }
}
