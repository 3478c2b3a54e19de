//! What kubelet does, over berthd's socket: a pod, a busybox container in
//! it, its CRI log, ExecSync, stop and remove both; berthd SIGKILLed while
//! the container runs and started again; bad input gets the right gRPC
//! code and leaves nothing behind.

mod common;

use berth_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_cri::proto::*;
use common::{container_config, pod_config, pull, wait_for, Berthd, Registry};
use tonic::transport::Channel;
use tonic::Code;

/// Pull the fixture through berthd; its image id.
async fn run_pod(rt: &mut RuntimeServiceClient<Channel>, config: &PodSandboxConfig) -> String {
    rt.run_pod_sandbox(RunPodSandboxRequest {
        config: Some(config.clone()),
        runtime_handler: String::new(),
    })
    .await
    .unwrap()
    .into_inner()
    .pod_sandbox_id
}

async fn create(
    rt: &mut RuntimeServiceClient<Channel>,
    pod: &str,
    config: ContainerConfig,
    sandbox: &PodSandboxConfig,
) -> Result<String, tonic::Status> {
    rt.create_container(CreateContainerRequest {
        pod_sandbox_id: pod.into(),
        config: Some(config),
        sandbox_config: Some(sandbox.clone()),
    })
    .await
    .map(|r| r.into_inner().container_id)
}

async fn status(rt: &mut RuntimeServiceClient<Channel>, id: &str) -> ContainerStatus {
    rt.container_status(ContainerStatusRequest {
        container_id: id.into(),
        verbose: true,
    })
    .await
    .unwrap()
    .into_inner()
    .status
    .unwrap()
}

fn netns_files(b: &Berthd) -> usize {
    std::fs::read_dir(b.dir.path().join("run/netns"))
        .map(|d| d.count())
        .unwrap_or(0)
}

#[tokio::test]
async fn pod_and_container_lifecycle() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let mut pcfg = pod_config("web", "uid-1");
    let logs = b.dir.path().join("pod-logs");
    pcfg.log_directory = logs.display().to_string();
    let pod = run_pod(&mut rt, &pcfg).await;

    let st = rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(st.state, PodSandboxState::SandboxReady as i32);
    assert!(!st.network.unwrap().ip.is_empty(), "a pod has an IP");
    // Label selectors as kubelet sends them.
    let listed = |sel: &[(&str, &str)]| ListPodSandboxRequest {
        filter: Some(PodSandboxFilter {
            label_selector: sel
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        }),
    };
    let items = rt
        .list_pod_sandbox(listed(&[("app", "web")]))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(items.len(), 1);
    let items = rt
        .list_pod_sandbox(listed(&[("app", "db")]))
        .await
        .unwrap()
        .into_inner()
        .items;
    assert!(items.is_empty());

    let cfg = container_config(
        "hello",
        &image,
        "echo hello from berthd; exec sleep 300",
        "hello/0.log",
    );
    let ctr = create(&mut rt, &pod, cfg, &pcfg).await.unwrap();
    assert_eq!(
        status(&mut rt, &ctr).await.state,
        ContainerState::ContainerCreated as i32
    );
    rt.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    let s = status(&mut rt, &ctr).await;
    assert_eq!(s.state, ContainerState::ContainerRunning as i32);
    assert!(s.started_at > 0);
    let log = logs.join("hello/0.log");
    assert_eq!(s.log_path, log.display().to_string());
    assert!(
        wait_for(10, || std::fs::read_to_string(&log)
            .is_ok_and(|l| l.contains(" stdout F hello from berthd"))),
        "CRI log: {:?}",
        std::fs::read_to_string(&log)
    );

    // ListContainers by pod and by label.
    let by_pod = rt
        .list_containers(ListContainersRequest {
            filter: Some(ContainerFilter {
                pod_sandbox_id: pod.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .containers;
    assert_eq!(by_pod.len(), 1);
    assert_eq!(by_pod[0].metadata.as_ref().unwrap().name, "hello");

    // The CLI shares the store: `berth ps` shows the container with its pod.
    let ps = b.berth(&["ps", "-a", "--no-trunc", "--format", "{{.ID}} {{.Pod}}"]);
    assert!(
        ps.lines()
            .any(|l| l.starts_with(&ctr) && l.contains(&pod[..12])),
        "berth ps: {ps}"
    );

    // ExecSync: output and exit code; past its timeout DeadlineExceeded.
    let out = rt
        .exec_sync(ExecSyncRequest {
            container_id: ctr.clone(),
            cmd: vec![
                "sh".into(),
                "-c".into(),
                "echo out; echo err >&2; exit 3".into(),
            ],
            timeout: 10,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.stdout, b"out\n");
    assert_eq!(out.stderr, b"err\n");
    assert_eq!(out.exit_code, 3);
    let e = rt
        .exec_sync(ExecSyncRequest {
            container_id: ctr.clone(),
            cmd: vec!["sleep".into(), "30".into()],
            timeout: 1,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded);

    let stats = rt
        .container_stats(ContainerStatsRequest {
            container_id: ctr.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .stats
        .unwrap();
    assert!(stats.memory.unwrap().working_set_bytes.unwrap().value > 0);
    let pod_stats = rt
        .list_pod_sandbox_stats(ListPodSandboxStatsRequest {
            filter: Some(PodSandboxStatsFilter {
                id: pod.clone(),
                ..Default::default()
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .stats;
    assert_eq!(pod_stats.len(), 1);
    let linux = pod_stats[0].linux.clone().unwrap();
    assert_eq!(linux.containers.len(), 1);
    assert!(linux.memory.unwrap().working_set_bytes.unwrap().value > 0);

    // Stop: sleep ignores nothing, SIGTERM ends it within the timeout.
    rt.stop_container(StopContainerRequest {
        container_id: ctr.clone(),
        timeout: 2,
    })
    .await
    .unwrap();
    let s = status(&mut rt, &ctr).await;
    assert_eq!(s.state, ContainerState::ContainerExited as i32);
    assert!(s.finished_at >= s.started_at);
    rt.remove_container(RemoveContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    let e = rt
        .container_status(ContainerStatusRequest {
            container_id: ctr.clone(),
            verbose: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);

    rt.stop_pod_sandbox(StopPodSandboxRequest {
        pod_sandbox_id: pod.clone(),
    })
    .await
    .unwrap();
    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod.clone(),
    })
    .await
    .unwrap();
    assert!(rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items
        .is_empty());
    assert_eq!(netns_files(&b), 0, "no pinned netns left");
    assert!(
        b.mounts().iter().all(|m| !m.contains("/pods/")),
        "{:?}",
        b.mounts()
    );
}

#[tokio::test]
async fn container_survives_berthd_sigkill() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let mut b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let mut pcfg = pod_config("survivor", "uid-2");
    let logs = b.dir.path().join("pod-logs");
    pcfg.log_directory = logs.display().to_string();
    let pod = run_pod(&mut rt, &pcfg).await;
    let cfg = container_config("tick", &image, "echo before; exec sleep 300", "tick.log");
    let ctr = create(&mut rt, &pod, cfg, &pcfg).await.unwrap();
    rt.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    let log = logs.join("tick.log");
    assert!(wait_for(10, || std::fs::read_to_string(&log)
        .is_ok_and(|l| l.contains("before"))));
    drop(rt);

    b.kill();
    b.spawn();
    let mut rt = b.runtime().await;
    let s = status(&mut rt, &ctr).await;
    assert_eq!(s.state, ContainerState::ContainerRunning as i32, "{s:?}");
    assert_eq!(s.log_path, log.display().to_string());
    let pods = rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].state, PodSandboxState::SandboxReady as i32);
    let out = rt
        .exec_sync(ExecSyncRequest {
            container_id: ctr.clone(),
            cmd: vec!["echo".into(), "still here".into()],
            timeout: 10,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.stdout, b"still here\n");
    // The exit is recorded by the container's own monitor, not berthd.
    rt.stop_container(StopContainerRequest {
        container_id: ctr.clone(),
        timeout: 1,
    })
    .await
    .unwrap();
    let s = status(&mut rt, &ctr).await;
    assert_eq!(s.state, ContainerState::ContainerExited as i32);
    assert!(std::fs::read_to_string(&log)
        .unwrap()
        .contains("stdout F before"));
    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
    assert_eq!(netns_files(&b), 0);
}

#[tokio::test]
async fn bad_input_gets_its_code_and_leaves_nothing() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let pcfg = pod_config("once", "uid-3");

    // Malformed: a pod config without metadata.
    let e = rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(PodSandboxConfig::default()),
            runtime_handler: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");

    // A duplicate pod (same name, namespace, uid, attempt).
    let pod = run_pod(&mut rt, &pcfg).await;
    let e = rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(pcfg.clone()),
            runtime_handler: String::new(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::AlreadyExists, "{e:?}");
    let pods = rt
        .list_pod_sandbox(ListPodSandboxRequest::default())
        .await
        .unwrap()
        .into_inner()
        .items;
    assert_eq!(pods.len(), 1);
    assert_eq!(netns_files(&b), 1, "the duplicate pinned nothing");

    // A container in an unknown pod.
    let cfg = container_config("c", &image, "true", "");
    let e = create(&mut rt, "0123456789abcdef", cfg.clone(), &pcfg)
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    // An unknown image (kubelet pulls first; berthd never does).
    let bad = container_config("c", "127.0.0.1:1/nothing:here", "true", "");
    let e = create(&mut rt, &pod, bad, &pcfg).await.unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    // A malformed container config: no metadata.
    let mut nameless = cfg.clone();
    nameless.metadata = None;
    let e = create(&mut rt, &pod, nameless, &pcfg).await.unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    // Unknown containers.
    let e = rt
        .start_container(StartContainerRequest {
            container_id: "feedbeef".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let none = rt
        .list_containers(ListContainersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .containers;
    assert!(none.is_empty(), "{none:?}");

    // RemovePodSandbox of a Ready pod with a running container: stopped
    // and removed with it, as CRI-O does.
    let running = container_config("r", &image, "exec sleep 300", "");
    let r = create(&mut rt, &pod, running, &pcfg).await.unwrap();
    rt.start_container(StartContainerRequest {
        container_id: r.clone(),
    })
    .await
    .unwrap();
    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
    assert_eq!(netns_files(&b), 0);
    let e = rt
        .container_status(ContainerStatusRequest {
            container_id: r,
            verbose: false,
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "the pod's container went with it");
    // Removing again is no error.
    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: "0123456789abcdef".into(),
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn pause_image_mode() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start_with(&format!(
        "pause_free = false\npause_image = \"{}\"\npause_command = [\"sleep\", \"3600\"]",
        reg.busybox()
    ));
    let mut rt = b.runtime().await;
    let pcfg = pod_config("paused", "uid-4");
    // berthd pulls the pause image itself.
    let pod = run_pod(&mut rt, &pcfg).await;
    let st = rt
        .pod_sandbox_status(PodSandboxStatusRequest {
            pod_sandbox_id: pod.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(st.state, PodSandboxState::SandboxReady as i32);
    let cfg = container_config("app", &reg.busybox(), "exec sleep 300", "");
    let ctr = create(&mut rt, &pod, cfg, &pcfg).await.unwrap();
    rt.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    let out = rt
        .exec_sync(ExecSyncRequest {
            container_id: ctr.clone(),
            cmd: vec!["hostname".into()],
            timeout: 10,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(out.stdout, b"paused\n");
    // Only the pod's own container is listed, not the infra container.
    let listed = rt
        .list_containers(ListContainersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .containers;
    assert_eq!(listed.len(), 1);
    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
    assert!(rt
        .list_containers(ListContainersRequest::default())
        .await
        .unwrap()
        .into_inner()
        .containers
        .is_empty());
    assert_eq!(netns_files(&b), 0);
}

/// Two ExecSyncs at once into two containers: a slow one does not hold up
/// a quick one (the engine names each exec's files apart, so berthd runs
/// them side by side).
#[tokio::test]
async fn exec_syncs_run_side_by_side() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let pcfg = pod_config("side", "uid-side");
    let pod = run_pod(&mut rt, &pcfg).await;
    let mut ctrs = Vec::new();
    for name in ["slow", "quick"] {
        let cfg = container_config(name, &image, "exec sleep 300", &format!("{name}.log"));
        let ctr = create(&mut rt, &pod, cfg, &pcfg).await.unwrap();
        rt.start_container(StartContainerRequest {
            container_id: ctr.clone(),
        })
        .await
        .unwrap();
        ctrs.push(ctr);
    }
    let exec = |ctr: &String, cmd: &[&str]| {
        let mut rt = rt.clone();
        let req = ExecSyncRequest {
            container_id: ctr.clone(),
            cmd: cmd.iter().map(|s| s.to_string()).collect(),
            timeout: 20,
        };
        tokio::spawn(async move {
            let out = rt.exec_sync(req).await.unwrap().into_inner();
            (std::time::Instant::now(), out)
        })
    };
    let slow = exec(&ctrs[0], &["sleep", "3"]);
    // The slow exec is under way before the quick one asks.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let quick = exec(&ctrs[1], &["echo", "quick"]);
    let (quick_at, quick_out) = quick.await.unwrap();
    let (slow_at, slow_out) = slow.await.unwrap();
    assert_eq!(quick_out.stdout, b"quick\n");
    assert_eq!(quick_out.exit_code, 0);
    assert_eq!(slow_out.exit_code, 0);
    assert!(
        slow_at.duration_since(quick_at) > std::time::Duration::from_millis(1500),
        "the quick exec answered only {:?} before the slow one ended",
        slow_at.duration_since(quick_at)
    );
    rt.remove_pod_sandbox(RemovePodSandboxRequest {
        pod_sandbox_id: pod,
    })
    .await
    .unwrap();
    assert_eq!(netns_files(&b), 0);
}
