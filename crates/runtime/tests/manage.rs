//! pause/resume, events and update on a running container's cgroup.

mod common;

use berth_testkit::{is_root, require};
use common::*;

fn host_cgroup_file(cgroups_path: &str, controller: &str, file: &str) -> String {
    let p = format!("/sys/fs/cgroup/{controller}{cgroups_path}/{file}");
    std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("{p}: {e}"))
        .trim()
        .to_string()
}

#[test]
fn pause_and_resume_freeze_the_container() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sleep", "300"]);
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["pause", &b.id]);
    assert_eq!(rt.state(&b.id)["status"], "paused");
    assert_eq!(
        host_cgroup_file(&b.cgroups_path, "freezer", "freezer.state"),
        "FROZEN"
    );
    let again = rt.run(&["pause", &b.id]);
    assert!(stderr(&again).contains("paused"), "{}", stderr(&again));
    rt.ok(&["resume", &b.id]);
    assert_eq!(rt.state(&b.id)["status"], "running");
    assert_eq!(
        host_cgroup_file(&b.cgroups_path, "freezer", "freezer.state"),
        "THAWED"
    );
    // A paused container can still be force-deleted.
    rt.ok(&["pause", &b.id]);
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn events_stats_report_the_cgroup() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["sh", "-c", "sleep 300 & sleep 300"]);
    b.config["linux"]["resources"]["pids"] = serde_json::json!({"limit": 50});
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    std::thread::sleep(std::time::Duration::from_millis(100));
    let line: serde_json::Value =
        serde_json::from_str(rt.ok(&["events", "--stats", &b.id]).trim()).unwrap();
    assert_eq!(line["type"], "stats");
    assert_eq!(line["id"], b.id.as_str());
    assert_eq!(line["data"]["pids"]["current"], 2, "{line}");
    assert_eq!(line["data"]["pids"]["limit"], 50, "{line}");
    assert!(
        line["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
        "{line}"
    );
    assert!(
        line["data"]["cpu"]["usage"]["total"].as_u64().is_some(),
        "{line}"
    );
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
}

#[test]
fn update_changes_limits_and_keeps_the_rest() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sleep", "300"]);
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["update", "--memory", "32m", "--pids-limit", "10", &b.id]);
    assert_eq!(
        host_cgroup_file(&b.cgroups_path, "memory", "memory.limit_in_bytes"),
        "33554432"
    );
    assert_eq!(host_cgroup_file(&b.cgroups_path, "pids", "pids.max"), "10");
    let res = b.path().join("res.json");
    std::fs::write(&res, r#"{"cpu": {"shares": 256}}"#).unwrap();
    rt.ok(&["update", "-r", res.to_str().unwrap(), &b.id]);
    assert_eq!(
        host_cgroup_file(&b.cgroups_path, "cpu", "cpu.shares"),
        "256"
    );
    assert_eq!(
        host_cgroup_file(&b.cgroups_path, "memory", "memory.limit_in_bytes"),
        "33554432",
        "kept"
    );
    // The device allow-list survives an update: /dev/null still works.
    let out = rt.run(&["exec", &b.id, "sh", "-c", "echo x > /dev/null && echo ok"]);
    assert_eq!(stdout(&out), "ok\n", "{}", stderr(&out));
    let bad = rt.run(&["update", "--memory", "lots", &b.id]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("invalid size"), "{}", stderr(&bad));
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
}

#[test]
fn checkpoint_says_what_criu_lacks() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sleep", "300"]);
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    // (A working criu checkpoints for real: tests/checkpoint.rs.)
    let out = rt
        .cmd()
        .args(["--criu", "/no/such/criu", "checkpoint", &b.id])
        .output()
        .unwrap();
    assert!(stderr(&out).contains("/no/such/criu"), "{}", stderr(&out));
    assert_eq!(
        rt.state(&b.id)["status"],
        "running",
        "a failed checkpoint leaves the container alone"
    );
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
}
