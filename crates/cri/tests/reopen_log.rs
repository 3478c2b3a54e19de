//! `ReopenContainerLog` as kubelet's log rotation uses it: the log file
//! is renamed away, the call makes the container's monitor write to a new
//! file at the log path; nothing is lost or written twice. A container
//! that is not running is refused and gets no new file.

mod common;

use berth_cri::proto::*;
use common::*;
use std::path::Path;

/// The counter values of the CRI log lines in `path` (`... stdout F n-N`).
fn counts(path: &Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.rsplit_once(" n-").and_then(|(_, n)| n.parse().ok()))
        .collect()
}

#[tokio::test]
async fn rotated_log_is_reopened_by_the_monitor() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let reg = Registry::with_busybox();
    let b = Berthd::start();
    let image = pull(&b, &reg).await;
    let mut rt = b.runtime().await;
    let logs = b.dir.path().join("pod-logs");
    let mut pcfg = pod_config("rotate", "uid-rotate");
    pcfg.log_directory = logs.display().to_string();
    let pod = rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(pcfg.clone()),
            runtime_handler: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id;
    let script = "i=0; while true; do echo n-$i; i=$((i+1)); sleep 0.05; done";
    let ctr = rt
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container_config("ticker", &image, script, "ticker.log")),
            sandbox_config: Some(pcfg),
        })
        .await
        .unwrap()
        .into_inner()
        .container_id;
    rt.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    let log = logs.join("ticker.log");
    let rotated = logs.join("ticker.log.1");
    assert!(wait_for(10, || counts(&log).len() >= 3), "no log lines");

    // Kubelet's rotation: rename, then ReopenContainerLog.
    std::fs::rename(&log, &rotated).unwrap();
    rt.reopen_container_log(ReopenContainerLogRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    assert!(log.exists(), "no new log file after the reopen");
    assert!(
        wait_for(10, || counts(&log).len() >= 3),
        "new log stays empty"
    );
    let old = counts(&rotated);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(counts(&rotated), old, "the renamed file still grows");
    // One sequence across both files: nothing lost, nothing twice.
    let new = counts(&log);
    let all: Vec<u64> = old.iter().chain(&new).copied().collect();
    let expected: Vec<u64> = (0..all.len() as u64).collect();
    assert_eq!(all, expected, "old {old:?} new {new:?}");
    // The status still names the log path.
    let s = rt
        .container_status(ContainerStatusRequest {
            container_id: ctr.clone(),
            verbose: false,
        })
        .await
        .unwrap()
        .into_inner()
        .status
        .unwrap();
    assert_eq!(s.log_path, log.display().to_string());

    // Stopped: refused, and no new file is made.
    rt.stop_container(StopContainerRequest {
        container_id: ctr.clone(),
        timeout: 0,
    })
    .await
    .unwrap();
    std::fs::rename(&log, logs.join("ticker.log.2")).unwrap();
    let e = rt
        .reopen_container_log(ReopenContainerLogRequest {
            container_id: ctr.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::FailedPrecondition, "{e:?}");
    assert!(!log.exists(), "a stopped container's log was made anew");

    let e = rt
        .reopen_container_log(ReopenContainerLogRequest {
            container_id: "no-such-container".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::NotFound, "{e:?}");
}
