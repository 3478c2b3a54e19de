//! `GetContainerEvents` as kubelet's evented PLEG reads it: a stream sees
//! a container created, started, stopped and deleted, each event with the
//! pod's status and its containers' statuses; after berthd is SIGKILLed
//! and started again, a new stream sees the container made before.

mod common;

use berth_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_cri::proto::*;
use common::{container_config, pod_config, pull, Berthd, Registry};
use std::time::Duration;
use tonic::transport::Channel;
use tonic::Streaming;

async fn events(rt: &mut RuntimeServiceClient<Channel>) -> Streaming<ContainerEventResponse> {
    rt.get_container_events(GetEventsRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// The next event for `id` (others skipped), within 20 s.
async fn next_for(s: &mut Streaming<ContainerEventResponse>, id: &str) -> ContainerEventResponse {
    let wait = async {
        loop {
            let e = s.message().await.unwrap().expect("stream ended");
            if e.container_id == id {
                return e;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), wait)
        .await
        .expect("no event for the container within 20 s")
}

fn state_of(e: &ContainerEventResponse, id: &str) -> Option<i32> {
    e.containers_statuses
        .iter()
        .find(|c| c.id == id)
        .map(|c| c.state)
}

#[tokio::test]
async fn stream_sees_start_and_stop_across_a_restart() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let mut b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let pcfg = pod_config("ev", "uid-ev");
    let pod = rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(pcfg.clone()),
            runtime_handler: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id;
    let mut stream = events(&mut rt).await;

    let create = |name: &str| CreateContainerRequest {
        pod_sandbox_id: pod.clone(),
        config: Some(container_config(
            name,
            &image,
            "exec sleep 300",
            &format!("{name}.log"),
        )),
        sandbox_config: Some(pcfg.clone()),
    };
    let ctr = rt
        .create_container(create("one"))
        .await
        .unwrap()
        .into_inner()
        .container_id;
    let e = next_for(&mut stream, &ctr).await;
    assert_eq!(
        e.container_event_type,
        ContainerEventType::ContainerCreatedEvent as i32
    );
    let ps = e.pod_sandbox_status.as_ref().expect("pod status");
    assert_eq!(ps.id, pod);
    assert_eq!(ps.state, PodSandboxState::SandboxReady as i32);
    assert!(e.created_at > 0);

    rt.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    let e = next_for(&mut stream, &ctr).await;
    assert_eq!(
        e.container_event_type,
        ContainerEventType::ContainerStartedEvent as i32
    );
    assert_eq!(
        state_of(&e, &ctr),
        Some(ContainerState::ContainerRunning as i32)
    );

    rt.stop_container(StopContainerRequest {
        container_id: ctr.clone(),
        timeout: 2,
    })
    .await
    .unwrap();
    let e = next_for(&mut stream, &ctr).await;
    assert_eq!(
        e.container_event_type,
        ContainerEventType::ContainerStoppedEvent as i32
    );
    assert_eq!(
        state_of(&e, &ctr),
        Some(ContainerState::ContainerExited as i32)
    );

    // A second container starts; berthd dies and comes back; a new stream
    // reports its stop and the removal of both, made before the restart.
    let two = rt
        .create_container(create("two"))
        .await
        .unwrap()
        .into_inner()
        .container_id;
    rt.start_container(StartContainerRequest {
        container_id: two.clone(),
    })
    .await
    .unwrap();
    drop(stream);
    b.kill();
    b.spawn();
    let mut rt = b.runtime().await;
    let mut stream = events(&mut rt).await;
    rt.stop_container(StopContainerRequest {
        container_id: two.clone(),
        timeout: 2,
    })
    .await
    .unwrap();
    let e = next_for(&mut stream, &two).await;
    assert_eq!(
        e.container_event_type,
        ContainerEventType::ContainerStoppedEvent as i32
    );
    assert_eq!(
        state_of(&e, &ctr),
        Some(ContainerState::ContainerExited as i32),
        "the event carries every container of the pod"
    );
    for id in [&ctr, &two] {
        rt.remove_container(RemoveContainerRequest {
            container_id: id.to_string(),
        })
        .await
        .unwrap();
        let e = next_for(&mut stream, id).await;
        assert_eq!(
            e.container_event_type,
            ContainerEventType::ContainerDeletedEvent as i32
        );
        assert_eq!(state_of(&e, id), None, "a deleted container has no status");
        assert_eq!(e.pod_sandbox_status.unwrap().id, pod);
    }
    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
}
