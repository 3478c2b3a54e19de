//! `ListMetricDescriptors` and `ListPodSandboxMetrics`: the cAdvisor names
//! are described, and a container that burns cpu shows its cpu seconds
//! growing, with memory and the pod's network counters present; one that
//! writes a file shows it in `container_fs_usage_bytes` and in
//! ContainerStats' writable layer.

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
        "container_fs_usage_bytes",
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
    // Whole seconds: on a loaded host the loop gets a slice of a cpu, so
    // the next second may take a while.
    let mut later = first;
    for _ in 0..120 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        later = value(&mut rt, &pod, &ctr, cpu).await.unwrap();
        if later > first {
            break;
        }
    }
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

async fn writable_layer(rt: &mut RuntimeServiceClient<Channel>, ctr: &str) -> (u64, u64) {
    let w = rt
        .container_stats(ContainerStatsRequest {
            container_id: ctr.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap()
        .writable_layer
        .expect("a writable layer in ContainerStats");
    (w.used_bytes.unwrap().value, w.inodes_used.unwrap().value)
}

#[tokio::test]
async fn a_written_file_shows_in_fs_usage_and_the_writable_layer() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    // 4 MiB written once the container got the signal file.
    let script = "while [ ! -e /go ]; do sleep 0.05; done; \
                  dd if=/dev/zero of=/blob bs=1024 count=4096 2>/dev/null; touch /done; exec sleep 300";
    let (pod, ctr) = pod_with(&mut rt, &image, "writer", script).await;
    let fs = "container_fs_usage_bytes";
    let before = value(&mut rt, &pod, &ctr, fs)
        .await
        .expect("fs usage of a running container");
    let (layer_before, inodes_before) = writable_layer(&mut rt, &ctr).await;
    assert!(
        layer_before < 4 << 20,
        "{layer_before} bytes before writing"
    );
    rt.exec_sync(ExecSyncRequest {
        container_id: ctr.clone(),
        cmd: vec!["touch".into(), "/go".into()],
        timeout: 10,
    })
    .await
    .unwrap();
    let mut done = false;
    for _ in 0..100 {
        let r = rt
            .exec_sync(ExecSyncRequest {
                container_id: ctr.clone(),
                cmd: vec!["test".into(), "-e".into(), "/done".into()],
                timeout: 10,
            })
            .await
            .unwrap()
            .into_inner();
        if r.exit_code == 0 {
            done = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(done, "the container did not write its file");
    let after = value(&mut rt, &pod, &ctr, fs).await.unwrap();
    assert!(after >= before + (4 << 20), "fs usage {before} -> {after}");
    let (layer_after, inodes_after) = writable_layer(&mut rt, &ctr).await;
    assert!(
        layer_after >= layer_before + (4 << 20),
        "writable layer {layer_before} -> {layer_after}"
    );
    assert!(
        inodes_after >= inodes_before + 3,
        "inodes {inodes_before} -> {inodes_after}"
    );

    // A stopped container still has its layer, and says so.
    rt.stop_container(StopContainerRequest {
        container_id: ctr.clone(),
        timeout: 0,
    })
    .await
    .unwrap();
    let (stopped, _) = writable_layer(&mut rt, &ctr).await;
    assert!(stopped >= 4 << 20, "stopped container's layer {stopped}");
    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
}
