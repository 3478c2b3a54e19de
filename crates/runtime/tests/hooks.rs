//! Hooks: each kind runs at its moment, in order, with the state on stdin;
//! a failing, missing or slow hook fails the operation and leaves nothing.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::{json, Value};

/// A hook that appends its name to `log` and saves its stdin next to it.
fn hook(name: &str, log: &str) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo {name} >> {log}; cat > {log}.{name}.json")],
        "env": ["PATH=/bin:/usr/bin"]
    })
}

fn hooked_bundle(args: &[&str]) -> (Bundle, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let mut b = bundle(args);
    let host_log = out.path().join("log");
    let host_log = host_log.to_str().unwrap();
    // startContainer runs inside the container: it sees the dir at /hookout.
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/hookout", "type": "bind", "source": out.path(), "options": ["rbind", "rw"]
    }));
    b.config["hooks"] = json!({
        "prestart": [hook("prestart", host_log)],
        "createRuntime": [hook("createRuntime", host_log)],
        "createContainer": [hook("createContainer", host_log)],
        "startContainer": [hook("startContainer", "/hookout/log")],
        "poststart": [hook("poststart", host_log)],
        "poststop": [hook("poststop", host_log)],
    });
    b.write_config().unwrap();
    (b, out)
}

#[test]
fn every_hook_runs_in_order_with_the_state() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (b, out) = hooked_bundle(&["echo", "container-ran"]);
    rt.track(&b);
    let run = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert_eq!(stdout(&run), "container-ran\n");
    let log = std::fs::read_to_string(out.path().join("log")).unwrap();
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
    let state: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("log.createRuntime.json")).unwrap())
            .unwrap();
    assert_eq!(state["id"], b.id.as_str());
    assert_eq!(state["status"], "creating");
    assert!(state["pid"].as_i64().unwrap() > 0);
    let stop: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("log.poststop.json")).unwrap())
            .unwrap();
    assert_eq!(stop["status"], "stopped");
}

#[test]
fn create_and_start_split_the_hooks() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (b, out) = hooked_bundle(&["true"]);
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let log = || std::fs::read_to_string(out.path().join("log")).unwrap_or_default();
    assert_eq!(
        log().lines().collect::<Vec<_>>(),
        ["prestart", "createRuntime", "createContainer"]
    );
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["start", &b.id]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    rt.ok(&["delete", &b.id]);
    assert_eq!(
        log().lines().collect::<Vec<_>>(),
        [
            "prestart",
            "createRuntime",
            "createContainer",
            "startContainer",
            "poststart",
            "poststop"
        ]
    );
}

fn assert_hook_failure(config_hooks: Value, needle: &str) {
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["hooks"] = config_hooks;
    b.write_config().unwrap();
    rt.track(&b);
    let out = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains(needle),
        "{needle:?} not in {}",
        stderr(&out)
    );
    assert!(!rt.state_dir(&b.id).exists(), "no state left");
    assert!(!cgroup_exists(&b.cgroups_path), "no cgroup left");
}

#[test]
fn failing_hook_fails_create_and_cleans_up() {
    require!(is_root(), "needs root");
    assert_hook_failure(
        json!({"createRuntime": [{"path": "/bin/false"}]}),
        "createRuntime hook /bin/false",
    );
    assert_hook_failure(
        json!({"createContainer": [{"path": "/bin/false"}]}),
        "createContainer hook /bin/false",
    );
}

#[test]
fn missing_hook_is_refused_before_anything_is_made() {
    require!(is_root(), "needs root");
    assert_hook_failure(
        json!({"prestart": [{"path": "/no/such/hook"}]}),
        "hook /no/such/hook does not exist",
    );
}

#[test]
fn slow_hook_times_out() {
    require!(is_root(), "needs root");
    assert_hook_failure(
        json!({"createRuntime": [{"path": "/bin/sleep", "args": ["sleep", "10"], "timeout": 1}]}),
        "timed out after 1s",
    );
}
