//! The pod sandbox calls over the engine's pod API: kubelet's
//! PodSandboxConfig becomes [`PodOptions`], the engine's [`PodInfo`]
//! becomes PodSandbox and PodSandboxStatus.

use crate::daemon::Daemon;
use crate::proto;
use crate::status_codes;
use berth_engine::{PodDns, PodInfo, PodOptions, PodState, PortMapping};
use std::collections::{BTreeMap, HashMap};
use tonic::Status;

fn node(mode: i32) -> bool {
    mode == proto::NamespaceMode::Node as i32
}

fn port(p: &proto::PortMapping) -> Result<PortMapping, Status> {
    let protocol = match proto::Protocol::try_from(p.protocol) {
        Ok(proto::Protocol::Tcp) => "tcp",
        Ok(proto::Protocol::Udp) => "udp",
        _ => {
            return Err(status_codes::invalid(
                "port mappings are tcp or udp (sctp is not built)",
            ))
        }
    };
    let range = |v: i32, what: &str| {
        u16::try_from(v).map_err(|_| status_codes::invalid(format!("{what} {v} is not a port")))
    };
    let host_ip =
        match p.host_ip.as_str() {
            "" => None,
            ip => Some(ip.parse().map_err(|_| {
                status_codes::invalid(format!("host_ip {ip:?} is not an IP address"))
            })?),
        };
    Ok(PortMapping {
        host_ip,
        host_port: range(p.host_port, "host_port")?,
        container_port: range(p.container_port, "container_port")?,
        protocol: protocol.into(),
    })
}

/// kubelet's sandbox config as the engine's pod options; a config that
/// lacks its metadata or has a malformed field is InvalidArgument.
pub fn options(d: &Daemon, config: &proto::PodSandboxConfig) -> Result<PodOptions, Status> {
    let meta = config
        .metadata
        .as_ref()
        .filter(|m| !m.name.is_empty())
        .ok_or_else(|| status_codes::invalid("pod sandbox config needs metadata with a name"))?;
    let linux = config.linux.clone().unwrap_or_default();
    let ns = linux
        .security_context
        .as_ref()
        .and_then(|s| s.namespace_options.clone())
        .unwrap_or_default();
    let port_mappings = config
        .port_mappings
        .iter()
        .map(port)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PodOptions {
        name: meta.name.clone(),
        uid: meta.uid.clone(),
        namespace: meta.namespace.clone(),
        attempt: meta.attempt,
        labels: config.labels.clone().into_iter().collect(),
        annotations: config.annotations.clone().into_iter().collect(),
        hostname: Some(config.hostname.clone()).filter(|h| !h.is_empty()),
        dns: config.dns_config.as_ref().map(|c| PodDns {
            servers: c.servers.clone(),
            searches: c.searches.clone(),
            options: c.options.clone(),
        }),
        port_mappings,
        host_network: node(ns.network),
        host_pid: node(ns.pid),
        host_ipc: node(ns.ipc),
        sysctls: linux.sysctls.into_iter().collect(),
        cgroup_parent: Some(linux.cgroup_parent).filter(|c| !c.is_empty()),
        log_directory: Some(config.log_directory.clone())
            .filter(|l| !l.is_empty())
            .map(Into::into),
        pause_image: (!d.config.pause_free).then(|| d.config.pause_image.clone()),
        pause_command: d.config.pause_command.clone(),
    })
}

pub(crate) fn metadata(o: &PodOptions) -> proto::PodSandboxMetadata {
    proto::PodSandboxMetadata {
        name: o.name.clone(),
        uid: o.uid.clone(),
        namespace: o.namespace.clone(),
        attempt: o.attempt,
    }
}

fn state(s: &PodState) -> proto::PodSandboxState {
    match s {
        PodState::Ready => proto::PodSandboxState::SandboxReady,
        PodState::NotReady => proto::PodSandboxState::SandboxNotready,
    }
}

pub(crate) fn map(m: &BTreeMap<String, String>) -> HashMap<String, String> {
    m.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn sandbox(p: &PodInfo) -> proto::PodSandbox {
    proto::PodSandbox {
        id: p.id.clone(),
        metadata: Some(metadata(&p.options)),
        state: state(&p.state) as i32,
        created_at: p.created_nanos,
        labels: map(&p.options.labels),
        annotations: map(&p.options.annotations),
        runtime_handler: String::new(),
    }
}

fn pod_id(id: &str) -> Result<&str, Status> {
    match id.trim() {
        "" => Err(status_codes::invalid("pod_sandbox_id is required")),
        id => Ok(id),
    }
}

/// `RunPodSandbox`: namespaces pinned, network up, Ready; nothing is left
/// when it fails.
pub fn run(
    d: &Daemon,
    req: proto::RunPodSandboxRequest,
) -> Result<proto::RunPodSandboxResponse, Status> {
    if !req.runtime_handler.is_empty() {
        return Err(status_codes::invalid(format!(
            "runtime handler {:?}: berthd has only the default handler",
            req.runtime_handler
        )));
    }
    if let Some(why) = crate::runtime_info::cgroup_driver_refusal(d) {
        return Err(Status::failed_precondition(why));
    }
    let config = req
        .config
        .ok_or_else(|| status_codes::invalid("pod sandbox config is required"))?;
    let opts = options(d, &config)?;
    if let Some(image) = &opts.pause_image {
        // The infra container's image, through the one pull path.
        berth_image::image_for_container(
            &d.ctx,
            d.engine.store(),
            image,
            berth_image::PullPolicy::Missing,
            &berth_image::progress::NoProgress,
        )
        .map_err(status_codes::image)?;
    }
    let id = d.engine.create_pod(&opts).map_err(status_codes::engine)?;
    tracing::info!(pod = %id, name = %opts.name, namespace = %opts.namespace, "pod ready");
    Ok(proto::RunPodSandboxResponse { pod_sandbox_id: id })
}

/// `StopPodSandbox`: idempotent, as the CRI asks.
pub fn stop(
    d: &Daemon,
    req: proto::StopPodSandboxRequest,
) -> Result<proto::StopPodSandboxResponse, Status> {
    let id = pod_id(&req.pod_sandbox_id)?;
    d.engine.stop_pod(id).map_err(status_codes::engine)?;
    Ok(proto::StopPodSandboxResponse {})
}

/// `RemovePodSandbox`: a Ready pod is stopped first (CRI-O's choice);
/// an unknown pod is success.
pub fn remove(
    d: &Daemon,
    req: proto::RemovePodSandboxRequest,
) -> Result<proto::RemovePodSandboxResponse, Status> {
    let id = pod_id(&req.pod_sandbox_id)?;
    d.engine.remove_pod(id).map_err(status_codes::engine)?;
    Ok(proto::RemovePodSandboxResponse {})
}

/// `PodSandboxStatus`, with the pod's record as JSON under `info` when
/// `verbose`.
pub fn status(
    d: &Daemon,
    req: proto::PodSandboxStatusRequest,
) -> Result<proto::PodSandboxStatusResponse, Status> {
    let id = pod_id(&req.pod_sandbox_id)?;
    let p = d.engine.pod(id).map_err(status_codes::engine)?;
    let mode = |host: bool| {
        if host {
            proto::NamespaceMode::Node as i32
        } else {
            proto::NamespaceMode::Pod as i32
        }
    };
    let mut info = HashMap::new();
    if req.verbose {
        let v = serde_json::json!({
            "id": p.id,
            "options": p.options,
            "netnsPath": p.netns_path,
            "ip": p.ip,
        });
        info.insert("info".to_string(), v.to_string());
    }
    let status = proto::PodSandboxStatus {
        id: p.id.clone(),
        metadata: Some(metadata(&p.options)),
        state: state(&p.state) as i32,
        created_at: p.created_nanos,
        network: Some(proto::PodSandboxNetworkStatus {
            ip: p.ip.map(|ip| ip.to_string()).unwrap_or_default(),
            additional_ips: Vec::new(),
        }),
        linux: Some(proto::LinuxPodSandboxStatus {
            namespaces: Some(proto::Namespace {
                options: Some(proto::NamespaceOption {
                    network: mode(p.options.host_network),
                    // No pod-wide PID namespace without a pause process.
                    pid: if p.options.host_pid {
                        proto::NamespaceMode::Node as i32
                    } else {
                        proto::NamespaceMode::Container as i32
                    },
                    ipc: mode(p.options.host_ipc),
                    ..Default::default()
                }),
            }),
        }),
        labels: map(&p.options.labels),
        annotations: map(&p.options.annotations),
        runtime_handler: String::new(),
    };
    Ok(proto::PodSandboxStatusResponse {
        status: Some(status),
        info,
        containers_statuses: Vec::new(),
        timestamp: 0,
    })
}

/// Whether `labels` has every pair of `selector` (kubelet's selector).
pub fn selected(labels: &BTreeMap<String, String>, selector: &HashMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// `ListPodSandbox`, filtered by id (or prefix), state and labels.
pub fn list(
    d: &Daemon,
    req: proto::ListPodSandboxRequest,
) -> Result<proto::ListPodSandboxResponse, Status> {
    let pods = d.engine.pods().map_err(status_codes::engine)?;
    let f = req.filter.unwrap_or_default();
    let items = pods
        .iter()
        .filter(|p| f.id.is_empty() || p.id.starts_with(&f.id))
        .filter(|p| {
            f.state
                .as_ref()
                .is_none_or(|s| state(&p.state) as i32 == s.state)
        })
        .filter(|p| selected(&p.options.labels, &f.label_selector))
        .map(sandbox)
        .collect();
    Ok(proto::ListPodSandboxResponse { items })
}
