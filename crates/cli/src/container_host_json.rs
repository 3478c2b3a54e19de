//! `inspect`'s `HostConfig`, `Mounts` and `Binds` of a container, in
//! podman 4.3's keys, order and types. Values come from the options the
//! container keeps and from its config.json (what it really runs with);
//! keys berth has nothing behind print podman's zero values.

use berth_engine::spec_options::NamespaceMode;
use berth_engine::{ContainerInfo, CreateOptions, Engine, Volume};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// One entry of inspect's `Mounts`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    source: String,
    destination: String,
    driver: String,
    mode: String,
    options: Vec<String>,
    #[serde(rename = "RW")]
    rw: bool,
    propagation: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UlimitJson {
    name: String,
    soft: u64,
    hard: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RestartPolicy {
    name: String,
    maximum_retry_count: u32,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LogConfig {
    #[serde(rename = "Type")]
    kind: String,
    config: Option<Value>,
    path: String,
    tag: String,
    size: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Device {
    path_on_host: String,
    path_in_container: String,
    cgroup_permissions: String,
}

/// inspect's `HostConfig`, podman 4.3's keys in its order.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct HostConfig {
    binds: Vec<String>,
    cgroup_manager: String,
    cgroup_mode: String,
    #[serde(rename = "ContainerIDFile")]
    container_id_file: String,
    log_config: LogConfig,
    network_mode: String,
    port_bindings: Value,
    restart_policy: RestartPolicy,
    auto_remove: bool,
    volume_driver: String,
    volumes_from: Option<Vec<String>>,
    cap_add: Vec<String>,
    cap_drop: Vec<String>,
    dns: Vec<String>,
    dns_options: Vec<String>,
    dns_search: Vec<String>,
    extra_hosts: Vec<String>,
    group_add: Vec<String>,
    ipc_mode: String,
    cgroup: String,
    cgroups: String,
    links: Option<Vec<String>>,
    oom_score_adj: i32,
    pid_mode: String,
    privileged: bool,
    publish_all_ports: bool,
    readonly_rootfs: bool,
    security_opt: Vec<String>,
    tmpfs: BTreeMap<String, String>,
    #[serde(rename = "UTSMode")]
    uts_mode: String,
    userns_mode: String,
    shm_size: i64,
    runtime: String,
    console_size: [u32; 2],
    isolation: String,
    cpu_shares: u64,
    memory: i64,
    nano_cpus: i64,
    cgroup_parent: String,
    blkio_weight: u16,
    blkio_weight_device: Option<Vec<Value>>,
    blkio_device_read_bps: Option<Vec<Value>>,
    blkio_device_write_bps: Option<Vec<Value>>,
    #[serde(rename = "BlkioDeviceReadIOps")]
    blkio_device_read_iops: Option<Vec<Value>>,
    #[serde(rename = "BlkioDeviceWriteIOps")]
    blkio_device_write_iops: Option<Vec<Value>>,
    cpu_period: u64,
    cpu_quota: i64,
    cpu_realtime_period: u64,
    cpu_realtime_runtime: i64,
    cpuset_cpus: String,
    cpuset_mems: String,
    devices: Vec<Device>,
    disk_quota: u64,
    kernel_memory: i64,
    memory_reservation: i64,
    memory_swap: i64,
    memory_swappiness: i64,
    oom_kill_disable: bool,
    pids_limit: i64,
    ulimits: Vec<UlimitJson>,
    cpu_count: u64,
    cpu_percent: u64,
    #[serde(rename = "IOMaximumIOps")]
    io_maximum_iops: u64,
    #[serde(rename = "IOMaximumBandwidth")]
    io_maximum_bandwidth: u64,
    cgroup_conf: Option<BTreeMap<String, String>>,
}

/// `/dev/shm`'s size when `--shm-size` is not given (berth's 65536k).
const DEFAULT_SHM_SIZE: i64 = 65536 * 1024;
/// The period `--cpus` is a quota of.
const CPU_PERIOD: u64 = 100_000;

/// The host path of a named volume, or the bind's source.
fn host_source(engine: &Engine, v: &Volume) -> String {
    if v.source.starts_with('/') {
        return v.source.clone();
    }
    engine
        .volume(&v.source)
        .map(|i| i.mountpoint.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The options of the overlay an `O` volume became in config.json.
fn overlay_options(spec: Option<&Spec>, v: &Volume) -> Vec<String> {
    let dest = Path::new(&v.destination);
    spec.and_then(|s| s.mounts().as_ref())
        .and_then(|ms| {
            ms.iter()
                .rev()
                .find(|m| m.destination() == dest && m.typ().as_deref() == Some("overlay"))
        })
        .and_then(|m| m.options().clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|o| {
            ["lowerdir=", "upperdir=", "workdir="]
                .iter()
                .any(|p| o.starts_with(p))
        })
        .collect()
}

/// inspect's `Mounts`, as podman prints them: a named volume's options
/// are `nosuid,nodev,rbind` (after `nocopy`), a bind's `rbind` (or
/// `bind`, not recursive); an `O`
/// overlay shows its directories and `private`.
pub fn mounts(engine: &Engine, info: &ContainerInfo, spec: Option<&Spec>) -> Vec<Mount> {
    info.meta
        .options
        .volumes
        .iter()
        .map(|v| {
            let named = !v.source.starts_with('/');
            let o = &v.options;
            let (options, propagation) = if o.overlay {
                (overlay_options(spec, v), "private".to_string())
            } else {
                let mut options: Vec<String> = Vec::new();
                if named {
                    if o.nocopy {
                        options.push("nocopy".into());
                    }
                    options.extend(["nosuid".into(), "nodev".into()]);
                }
                options.push(o.bind_kind().into());
                (options, o.propagation().to_string())
            };
            Mount {
                kind: if named { "volume" } else { "bind" }.into(),
                name: named.then(|| v.source.clone()),
                source: host_source(engine, v),
                destination: v.destination.clone(),
                driver: if named { "local" } else { "" }.into(),
                mode: String::new(),
                options,
                rw: !v.readonly,
                propagation,
            }
        })
        .collect()
}

/// inspect's `Binds`: `SOURCE:DEST:OPTIONS`, the options as given, then
/// what podman adds when missing (the mode, the propagation, a volume's
/// `nosuid,nodev`, and `rbind`).
pub fn binds(info: &ContainerInfo, spec: Option<&Spec>) -> Vec<String> {
    info.meta
        .options
        .volumes
        .iter()
        .map(|v| {
            let o = &v.options;
            if o.overlay {
                let mut options = overlay_options(spec, v);
                options.push("private".into());
                return format!("{}:{}:{}", v.source, v.destination, options.join(","));
            }
            let mut options = o.given.clone();
            let has =
                |options: &[String], x: &[&str]| options.iter().any(|g| x.contains(&g.as_str()));
            if !has(&options, &["ro", "rw"]) {
                options.push(if v.readonly { "ro" } else { "rw" }.into());
            }
            if o.propagation.is_none() {
                options.push("rprivate".into());
            }
            if !v.source.starts_with('/') {
                options.extend(["nosuid".into(), "nodev".into()]);
            }
            // A `bind`/`rbind` the user gave is in `given` already.
            if !has(&options, &["bind", "rbind"]) {
                options.push("rbind".into());
            }
            format!("{}:{}:{}", v.source, v.destination, options.join(","))
        })
        .collect()
}

/// A namespace mode as podman prints it: `host`, `private` (or
/// `default`'s word), `container:ID`.
fn mode_text(mode: &Option<NamespaceMode>, default: &str) -> String {
    match mode {
        Some(NamespaceMode::Host) => "host".into(),
        Some(NamespaceMode::Container(id)) => format!("container:{id}"),
        Some(NamespaceMode::Private) | None => default.into(),
    }
}

/// `--security-opt`s as podman lists them.
fn security_opts(o: &CreateOptions) -> Vec<String> {
    let sec = &o.spec.security;
    let mut out = Vec::new();
    if o.seccomp_unconfined {
        out.push("seccomp=unconfined".to_string());
    }
    if sec.no_new_privileges {
        out.push("no-new-privileges".into());
    }
    out.extend(sec.label.iter().map(|l| format!("label={l}")));
    if !sec.mask.is_empty() {
        out.push(format!("mask={}", sec.mask.join(":")));
    }
    if !sec.unmask.is_empty() {
        out.push(format!("unmask={}", sec.unmask.join(":")));
    }
    out
}

/// Capabilities as podman lists them: `CAP_` names (`ALL` as given).
fn cap_names(caps: &[String]) -> Vec<String> {
    caps.iter()
        .map(|c| berth_engine::confinement::parse_capability(c).unwrap_or_else(|_| c.clone()))
        .collect()
}

fn has_namespace(spec: Option<&Spec>, typ: LinuxNamespaceType) -> bool {
    spec.and_then(|s| s.linux().as_ref())
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == typ))
}

/// inspect's `HostConfig` of `info`; `port_bindings` as NetworkSettings
/// has them.
pub fn host_config(info: &ContainerInfo, spec: Option<&Spec>, port_bindings: Value) -> HostConfig {
    let o = &info.meta.options;
    let s = &o.spec;
    let tmpfs = o
        .tmpfs
        .iter()
        .map(|t| {
            let (path, opts) = t.split_once(':').unwrap_or((t.as_str(), ""));
            let mut all: Vec<&str> = opts.split(',').filter(|x| !x.is_empty()).collect();
            // podman 4.3 prints its defaults after the user's options (the
            // mount spec.rs makes has rw,nosuid,nodev first and no rprivate;
            // the value shown is podman's, as podman_compat_hostconfig checks).
            all.extend(["rw", "rprivate", "nosuid", "nodev"]);
            (path.to_string(), all.join(","))
        })
        .collect();
    let ulimits = spec
        .and_then(|s| s.process().as_ref())
        .and_then(|p| p.rlimits().clone())
        .unwrap_or_default()
        .iter()
        .map(|r| UlimitJson {
            name: format!("{:?}", r.typ())
                .to_ascii_uppercase()
                .replace("RLIMIT", "RLIMIT_"),
            soft: r.soft(),
            hard: r.hard(),
        })
        .collect();
    let memory_set = o.memory.is_some() || s.memory_swap.is_some();
    let cgroup_mode = match &s.cgroupns {
        Some(m) => mode_text(&Some(m.clone()), "private"),
        None if has_namespace(spec, LinuxNamespaceType::Cgroup) => "private".into(),
        None => "host".into(),
    };
    HostConfig {
        binds: binds(info, spec),
        cgroup_manager: "cgroupfs".into(),
        cgroup_mode,
        container_id_file: String::new(),
        log_config: LogConfig {
            kind: "k8s-file".into(),
            config: None,
            path: info.log_path.display().to_string(),
            tag: String::new(),
            size: "0B".into(),
        },
        network_mode: match &s.net {
            Some(m @ NamespaceMode::Container(_)) => mode_text(&Some(m.clone()), ""),
            _ => json!(o.network).as_str().unwrap_or("none").to_string(),
        },
        port_bindings,
        restart_policy: RestartPolicy {
            name: o.life.restart.inspect_name().into(),
            maximum_retry_count: o.life.restart.max_retries,
        },
        auto_remove: o.remove,
        volume_driver: String::new(),
        volumes_from: None,
        cap_add: cap_names(&o.cap_add),
        cap_drop: cap_names(&o.cap_drop),
        dns: o.life.dns.clone(),
        dns_options: o.life.dns_options.clone(),
        dns_search: o.life.dns_search.clone(),
        extra_hosts: o.life.add_hosts.clone(),
        group_add: s.group_add.clone(),
        // podman 4.3 calls a container's own IPC namespace "shareable".
        ipc_mode: mode_text(&s.ipc, "shareable"),
        cgroup: String::new(),
        cgroups: "default".into(),
        links: None,
        oom_score_adj: s.oom_score_adj.unwrap_or(0),
        pid_mode: mode_text(&s.pid, "private"),
        privileged: o.privileged,
        publish_all_ports: o.publish_all,
        readonly_rootfs: o.read_only,
        security_opt: security_opts(o),
        tmpfs,
        uts_mode: mode_text(&s.uts, "private"),
        userns_mode: String::new(),
        shm_size: s.shm_size.unwrap_or(DEFAULT_SHM_SIZE),
        runtime: "oci".into(),
        console_size: [0, 0],
        isolation: String::new(),
        cpu_shares: s.cpu_shares.unwrap_or(0),
        memory: o.memory.unwrap_or(0),
        nano_cpus: o.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
        cgroup_parent: info
            .meta
            .cgroups_path
            .rsplit_once('/')
            .map(|(p, _)| p.to_string())
            .unwrap_or_default(),
        blkio_weight: 0,
        blkio_weight_device: None,
        blkio_device_read_bps: None,
        blkio_device_write_bps: None,
        blkio_device_read_iops: None,
        blkio_device_write_iops: None,
        cpu_period: if o.cpus.is_some() { CPU_PERIOD } else { 0 },
        cpu_quota: o.cpus.map(|c| (c * CPU_PERIOD as f64) as i64).unwrap_or(0),
        cpu_realtime_period: 0,
        cpu_realtime_runtime: 0,
        cpuset_cpus: s.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: String::new(),
        devices: s
            .devices
            .iter()
            .map(|d| Device {
                path_on_host: d.host.clone(),
                path_in_container: d.container.clone(),
                cgroup_permissions: d.permissions.clone(),
            })
            .collect(),
        disk_quota: 0,
        kernel_memory: 0,
        memory_reservation: 0,
        memory_swap: s.memory_swap.unwrap_or(0),
        // podman: -1 (the kernel's default) once memory is limited.
        memory_swappiness: if memory_set { -1 } else { 0 },
        oom_kill_disable: false,
        pids_limit: o.pids_limit.unwrap_or(0),
        ulimits,
        cpu_count: 0,
        cpu_percent: 0,
        io_maximum_iops: 0,
        io_maximum_bandwidth: 0,
        cgroup_conf: None,
    }
}
