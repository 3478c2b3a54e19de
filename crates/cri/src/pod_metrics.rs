//! `ListMetricDescriptors` and `ListPodSandboxMetrics`: the cAdvisor-named
//! metrics kubelet asks the CRI for when it takes its container metrics
//! from the runtime, read live (timestamp 0) from each running
//! container's cgroup (cpu through the runtime's stats, memory from
//! `memory.stat`), from the pod's network namespace, and from the
//! container's writable layer in the store (filesystem usage).

use crate::daemon::Daemon;
use crate::proto::{self, MetricType};
use crate::{containers, status_codes};
use berth_engine::{ContainerInfo, Status as Run};
use tonic::Status;

const CONTAINER_LABELS: &[&str] = &["container", "namespace", "pod"];
const FAILURE_LABELS: &[&str] = &["container", "namespace", "pod", "failure_type", "scope"];
const POD_LABELS: &[&str] = &["namespace", "pod"];

/// Every metric served: name, help, label keys.
const DESCRIPTORS: &[(&str, &str, &[&str])] = &[
    (
        "container_cpu_usage_seconds_total",
        "Cumulative cpu time consumed in seconds.",
        CONTAINER_LABELS,
    ),
    (
        "container_memory_usage_bytes",
        "Current memory usage in bytes, including all memory regardless of when it was accessed.",
        CONTAINER_LABELS,
    ),
    (
        "container_memory_working_set_bytes",
        "Current working set in bytes.",
        CONTAINER_LABELS,
    ),
    (
        "container_memory_rss",
        "Size of RSS in bytes.",
        CONTAINER_LABELS,
    ),
    (
        "container_memory_failures_total",
        "Cumulative count of memory allocation failures.",
        FAILURE_LABELS,
    ),
    (
        "container_fs_usage_bytes",
        "Number of bytes that are consumed by the container on this filesystem.",
        CONTAINER_LABELS,
    ),
    (
        "container_network_receive_bytes_total",
        "Cumulative count of bytes received.",
        POD_LABELS,
    ),
    (
        "container_network_transmit_bytes_total",
        "Cumulative count of bytes transmitted.",
        POD_LABELS,
    ),
];

/// `ListMetricDescriptors`.
pub fn descriptors(
    _d: &Daemon,
    _req: proto::ListMetricDescriptorsRequest,
) -> Result<proto::ListMetricDescriptorsResponse, Status> {
    Ok(proto::ListMetricDescriptorsResponse {
        descriptors: DESCRIPTORS
            .iter()
            .map(|(name, help, keys)| proto::MetricDescriptor {
                name: name.to_string(),
                help: help.to_string(),
                label_keys: keys.iter().map(|k| k.to_string()).collect(),
            })
            .collect(),
    })
}

fn metric(name: &str, kind: MetricType, labels: Vec<String>, value: u64) -> proto::Metric {
    proto::Metric {
        name: name.into(),
        timestamp: 0,
        metric_type: kind as i32,
        label_values: labels,
        value: Some(proto::UInt64Value { value }),
    }
}

/// The metrics of one running container, and its network counters
/// (the pod's: its containers share the pod's network namespace).
fn of_container(
    d: &Daemon,
    c: &ContainerInfo,
    pod: &[String],
) -> Option<(proto::ContainerMetrics, (u64, u64))> {
    let s = d.engine.stats(&c.id).ok()?;
    let m = d.engine.memory_stat(&c.id).ok()?;
    let fs = d.engine.store().container_layer_usage(&c.id).ok()?;
    let name = containers::cri_name(c);
    let labels = || {
        let mut l = vec![name.clone()];
        l.extend(pod.iter().cloned());
        l
    };
    let failures = |kind: &str, scope: &str, value: u64| {
        let mut l = labels();
        l.extend([kind.to_string(), scope.to_string()]);
        metric(
            "container_memory_failures_total",
            MetricType::Counter,
            l,
            value,
        )
    };
    let metrics = vec![
        // Seconds, as cAdvisor's name says; the CRI carries integers.
        metric(
            "container_cpu_usage_seconds_total",
            MetricType::Counter,
            labels(),
            s.cpu_nanos / 1_000_000_000,
        ),
        metric(
            "container_memory_usage_bytes",
            MetricType::Gauge,
            labels(),
            m.usage,
        ),
        metric(
            "container_memory_working_set_bytes",
            MetricType::Gauge,
            labels(),
            m.working_set,
        ),
        metric("container_memory_rss", MetricType::Gauge, labels(), m.rss),
        failures("pgfault", "container", m.page_faults),
        failures("pgmajfault", "container", m.major_page_faults),
        metric(
            "container_fs_usage_bytes",
            MetricType::Gauge,
            labels(),
            fs.bytes,
        ),
    ];
    Some((
        proto::ContainerMetrics {
            container_id: c.id.clone(),
            metrics,
        },
        (s.net_input, s.net_output),
    ))
}

/// `ListPodSandboxMetrics`: each pod with its running containers'.
pub fn list(
    d: &Daemon,
    _req: proto::ListPodSandboxMetricsRequest,
) -> Result<proto::ListPodSandboxMetricsResponse, Status> {
    let pods = d.engine.pods().map_err(status_codes::engine)?;
    let all = containers::ours(d)?;
    let pod_metrics = pods
        .iter()
        .map(|p| {
            let labels = vec![p.options.namespace.clone(), p.options.name.clone()];
            let mut net = None;
            let container_metrics = all
                .iter()
                .filter(|c| c.pod() == Some(p.id.as_str()) && c.state.status == Run::Running)
                .filter_map(|c| {
                    let (m, counters) = of_container(d, c, &labels)?;
                    net.get_or_insert(counters);
                    Some(m)
                })
                .collect();
            let metrics = net
                .map(|(rx, tx)| {
                    vec![
                        metric(
                            "container_network_receive_bytes_total",
                            MetricType::Counter,
                            labels.clone(),
                            rx,
                        ),
                        metric(
                            "container_network_transmit_bytes_total",
                            MetricType::Counter,
                            labels.clone(),
                            tx,
                        ),
                    ]
                })
                .unwrap_or_default();
            proto::PodSandboxMetrics {
                pod_sandbox_id: p.id.clone(),
                metrics,
                container_metrics,
            }
        })
        .collect();
    Ok(proto::ListPodSandboxMetricsResponse { pod_metrics })
}
