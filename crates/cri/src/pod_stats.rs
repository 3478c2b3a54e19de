//! `PodSandboxStats` and `ListPodSandboxStats`: a pod's cpu and memory as
//! the sum of its containers' cgroups (a pod has no cgroup of its own
//! holding processes: no pause process), with each container's stats.

use crate::containers::{ours, stats_of};
use crate::daemon::Daemon;
use crate::pods::{map, metadata, selected};
use crate::proto;
use crate::status_codes::{self, invalid};
use berth_engine::{ContainerInfo, PodInfo};
use tonic::Status;

fn sum(values: impl Iterator<Item = Option<u64>>) -> Option<proto::UInt64Value> {
    let mut total = None;
    for v in values.flatten() {
        *total.get_or_insert(0) += v;
    }
    total.map(|value| proto::UInt64Value { value })
}

/// `pod`'s stats, its containers found in `all` (what `ours` gave, read
/// once for however many pods).
fn of_pod(
    d: &Daemon,
    pod: &PodInfo,
    all: &[ContainerInfo],
) -> Result<proto::PodSandboxStats, Status> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.as_nanos() as i64)
        .unwrap_or(0);
    let containers = all
        .iter()
        .filter(|c| c.pod() == Some(pod.id.as_str()))
        .map(|c| stats_of(d, c))
        .collect::<Result<Vec<_>, _>>()?;
    let cpu = sum(containers.iter().map(|c| {
        c.cpu
            .as_ref()
            .and_then(|u| u.usage_core_nano_seconds.as_ref().map(|v| v.value))
    }));
    let mem = |f: fn(&proto::MemoryUsage) -> Option<&proto::UInt64Value>| {
        sum(containers
            .iter()
            .map(|c| c.memory.as_ref().and_then(f).map(|v| v.value)))
    };
    Ok(proto::PodSandboxStats {
        attributes: Some(proto::PodSandboxAttributes {
            id: pod.id.clone(),
            metadata: Some(metadata(&pod.options)),
            labels: map(&pod.options.labels),
            annotations: map(&pod.options.annotations),
        }),
        linux: Some(proto::LinuxPodSandboxStats {
            cpu: Some(proto::CpuUsage {
                timestamp: now,
                usage_core_nano_seconds: cpu,
                usage_nano_cores: None,
            }),
            memory: Some(proto::MemoryUsage {
                timestamp: now,
                working_set_bytes: mem(|m| m.working_set_bytes.as_ref()),
                usage_bytes: mem(|m| m.usage_bytes.as_ref()),
                ..Default::default()
            }),
            network: None,
            process: None,
            containers,
        }),
        windows: None,
    })
}

/// `PodSandboxStats`.
pub fn stats(
    d: &Daemon,
    req: proto::PodSandboxStatsRequest,
) -> Result<proto::PodSandboxStatsResponse, Status> {
    if req.pod_sandbox_id.trim().is_empty() {
        return Err(invalid("pod_sandbox_id is required"));
    }
    let pod = d
        .engine
        .pod(req.pod_sandbox_id.trim())
        .map_err(status_codes::engine)?;
    Ok(proto::PodSandboxStatsResponse {
        stats: Some(of_pod(d, &pod, &ours(d)?)?),
    })
}

/// `ListPodSandboxStats`, filtered by id (or prefix) and labels.
pub fn list(
    d: &Daemon,
    req: proto::ListPodSandboxStatsRequest,
) -> Result<proto::ListPodSandboxStatsResponse, Status> {
    let f = req.filter.unwrap_or_default();
    let all = ours(d)?;
    let stats = d
        .engine
        .pods()
        .map_err(status_codes::engine)?
        .iter()
        .filter(|p| f.id.is_empty() || p.id.starts_with(&f.id))
        .filter(|p| selected(&p.options.labels, &f.label_selector))
        .map(|p| of_pod(d, p, &all))
        .collect::<Result<_, _>>()?;
    Ok(proto::ListPodSandboxStatsResponse { stats })
}
