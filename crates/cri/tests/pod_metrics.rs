//! `ListMetricDescriptors` and `ListPodSandboxMetrics`: the cAdvisor names
//! are described, and a container that burns cpu shows its cpu seconds
//! growing, with memory and the pod's network counters present.

mod common;

use berth_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_cri::proto::*;
use common::{pod_with, pull, Berthd, Registry};
use std::time::Duration;
use tonic::transport::Channel;

async fn value(
    rt: &mut RuntimeServiceClient<Channel>,
    pod: &str,
    ctr: &str,
    name: &str,
) -> Option<u64> {
    let r = rt
        .list_pod_sandbox_metrics(ListPodSandboxMetricsRequest {})
        .await
        .unwrap()
        .into_inner();
    let p = r.pod_metrics.iter().find(|p| p.pod_sandbox_id == pod)?;
    p.metrics
        .iter()
        .chain(
            p.container_metrics
                .iter()
                .filter(|c| c.container_id == ctr)
                .flat_map(|c| c.metrics.iter()),
        )
        .find(|m| m.name == name)
        .and_then(|m| m.value.as_ref().map(|v| v.value))
}

#[tokio::test]
async fn cpu_seconds_grow_while_a_container_burns_cpu() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;

    let d = rt
        .list_metric_descriptors(ListMetricDescriptorsRequest {})
        .await
        .unwrap()
        .into_inner()
        .descriptors;
    for name in [
        "container_cpu_usage_seconds_total",
        "container_memory_working_set_bytes",
        "container_memory_rss",
        "container_memory_failures_total",
        "container_network_receive_bytes_total",
        "container_network_transmit_bytes_total",
    ] {
        assert!(d.iter().any(|m| m.name == name), "{name} described");
    }

    let (pod, ctr) = pod_with(&mut rt, &image, "burn", "while :; do :; done").await;

    let cpu = "container_cpu_usage_seconds_total";
    let mut first = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        first = value(&mut rt, &pod, &ctr, cpu).await.filter(|v| *v >= 1);
        if first.is_some() {
            break;
        }
    }
    let first = first.expect("a second of cpu within 10 s");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let later = value(&mut rt, &pod, &ctr, cpu).await.unwrap();
    assert!(later > first, "cpu seconds grew: {first} -> {later}");
    let ws = value(&mut rt, &pod, &ctr, "container_memory_working_set_bytes")
        .await
        .unwrap();
    assert!(ws > 0, "working set {ws}");
    assert!(
        value(&mut rt, &pod, &ctr, "container_network_receive_bytes_total")
            .await
            .is_some(),
        "the pod's network counters"
    );

    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
}
