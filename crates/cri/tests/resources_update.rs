//! `UpdateContainerResources` on a running container: the memory limit
//! and cpu shares reach its cgroup (v1 here); an unknown container is
//! NotFound and `cpuset_mems` is refused.

mod common;

use berth_cri::proto::*;
use common::{pod_with, pull, Berthd, Registry};
use tonic::Code;

#[tokio::test]
async fn limits_reach_the_running_container_s_cgroup() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let (pod, ctr) = pod_with(&mut rt, &image, "upd", "exec sleep 300").await;
    let info = rt
        .container_status(ContainerStatusRequest {
            container_id: ctr.clone(),
            verbose: true,
        })
        .await
        .unwrap()
        .into_inner()
        .info;
    let v: serde_json::Value = serde_json::from_str(&info["info"]).unwrap();
    let cg = v["cgroupsPath"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_string();
    let read = |ctl: &str, file: &str| {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{ctl}/{cg}/{file}"))
            .unwrap()
            .trim()
            .to_string()
    };

    rt.update_container_resources(UpdateContainerResourcesRequest {
        container_id: ctr.clone(),
        linux: Some(LinuxContainerResources {
            memory_limit_in_bytes: 64 << 20,
            cpu_shares: 512,
            ..Default::default()
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    assert_eq!(
        read("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string()
    );
    assert_eq!(read("cpu", "cpu.shares"), "512");

    let bad = rt
        .update_container_resources(UpdateContainerResourcesRequest {
            container_id: ctr.clone(),
            linux: Some(LinuxContainerResources {
                memory_limit_in_bytes: 32 << 20,
                cpuset_mems: "0".into(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        read("memory", "memory.limit_in_bytes"),
        (64u64 << 20).to_string(),
        "a refused update changes nothing"
    );
    let missing = rt
        .update_container_resources(UpdateContainerResourcesRequest {
            container_id: "nosuch".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Code::NotFound, "{missing:?}");

    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
}
