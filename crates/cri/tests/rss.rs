//! berthd's resident size: idle (target at most 15 MB) and with 20 pods,
//! read from /proc as `ps` would show it. The 20-pod figure is printed
//! (run with --nocapture), the idle target asserted.

mod common;

use berth_cri::proto::*;
use common::{pod_config, Berthd};

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn idle_and_twenty_pod_rss() {
    berth_testkit::require!(berth_testkit::is_root(), "berthd needs root");
    let b = Berthd::start();
    let pid = b.pid();
    let mut rt = b.runtime().await;
    rt.version(VersionRequest::default()).await.unwrap();
    let idle = rss_kib(pid);
    let mut pods = Vec::new();
    for i in 0..20 {
        let id = rt
            .run_pod_sandbox(RunPodSandboxRequest {
                config: Some(pod_config(&format!("rss{i}"), &format!("uid-rss-{i}"))),
                runtime_handler: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .pod_sandbox_id;
        pods.push(id);
    }
    let busy = rss_kib(pid);
    // Idle again once the blocking pool's threads have ended.
    for id in pods {
        rt.remove_pod_sandbox(RemovePodSandboxRequest { pod_sandbox_id: id })
            .await
            .unwrap();
    }
    eprintln!("berthd RSS: idle {idle} KiB, with 20 pods {busy} KiB");
    assert!(idle <= 15 * 1024, "idle RSS {idle} KiB is over 15 MiB");
}
