//! The runtime spec's operations (runtime.md), clause by clause, as the
//! runtime-tools validation programs drive them: `kill` delivers the signal
//! asked for, `delete` refuses a container that is not stopped, `create`
//! writes the pid file, a config changed after `create` changes nothing,
//! unknown properties and annotation keys are ignored.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::json;
use std::path::Path;
use std::time::{Duration, Instant};

/// Poll `path` until its text satisfies `done`; returns the text.
fn wait_for_text(path: &Path, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if done(&text) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{} stayed {text:?}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A bundle whose process writes into `out` (a host directory at /out).
fn bundle_with_out(args: &[&str]) -> (Bundle, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let mut b = bundle(args);
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/out", "type": "bind", "source": out.path(), "options": ["rbind", "rw"]
    }));
    b.write_config().unwrap();
    (b, out)
}

#[test]
fn kill_delivers_signals_by_name_number_and_real_time_number() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let rtmin = libc::SIGRTMIN();
    // pid 1 only gets the signals it handles: each trap proves delivery.
    let script = format!(
        "for s in USR1 USR2 HUP {} {}; do trap \"echo $s >> /out/got\" $s; done; \
         echo ready > /out/ready; while :; do sleep 0.02; done",
        rtmin + 3,
        rtmin + 4
    );
    let (b, out) = bundle_with_out(&["sh", "-c", &script]);
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    wait_for_text(&out.path().join("ready"), |t| !t.is_empty());
    let got = out.path().join("got");
    // runtime-tools sends names without SIG; engines send numbers, and
    // systemd's stop signal SIGRTMIN+3 has a number only in nix's terms.
    let rt3 = (rtmin + 3).to_string();
    let rt4 = (rtmin + 4).to_string();
    let sends: [(&str, &str); 5] = [
        ("USR1", "USR1"),
        ("SIGUSR2", "USR2"),
        ("1", "HUP"),
        ("RTMIN+3", &rt3),
        (&rt4, &rt4),
    ];
    for (n, (sig, want)) in sends.iter().enumerate() {
        rt.ok(&["kill", &b.id, sig]);
        let text = wait_for_text(&got, |t| t.lines().count() > n);
        assert_eq!(text.lines().last(), Some(*want), "after kill {sig}: {text}");
    }
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["kill", &b.id, "KILL"]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    // A stopped container cannot be signalled; an unknown signal is refused.
    let again = rt.run(&["kill", &b.id, "KILL"]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("stopped"), "{}", stderr(&again));
    let bogus = rt.run(&["kill", &b.id, "NOSUCHSIG"]);
    assert!(
        stderr(&bogus).contains("unknown signal"),
        "{}",
        stderr(&bogus)
    );
    let missing = rt.run(&["kill", "no-such-container", "KILL"]);
    assert!(stderr(&missing).contains("does not exist"));
    rt.ok(&["delete", &b.id]);
}

#[test]
fn kill_of_a_created_container_stops_it() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (b, out) = bundle_with_out(&["sh", "-c", "echo ran > /out/ran"]);
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["kill", &b.id, "KILL"]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    rt.ok(&["delete", &b.id]);
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
    assert!(!out.path().join("ran").exists(), "the process never ran");
}

#[test]
fn delete_refuses_a_container_that_is_not_stopped() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (b, out) = bundle_with_out(&["sh", "-c", "echo ran > /out/ran; sleep 60"]);
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    let del = rt.run(&["delete", &b.id]);
    assert!(!del.status.success(), "delete of a created container");
    assert!(stderr(&del).contains("created"), "{}", stderr(&del));
    // No effect on the container: it still starts and runs.
    assert_eq!(rt.state(&b.id)["status"], "created");
    rt.ok(&["start", &b.id]);
    wait_for_text(&out.path().join("ran"), |t| t == "ran\n");
    let del = rt.run(&["delete", &b.id]);
    assert!(!del.status.success(), "delete of a running container");
    assert!(stderr(&del).contains("running"), "{}", stderr(&del));
    assert_eq!(rt.state(&b.id)["status"], "running");
    rt.ok(&["kill", &b.id, "KILL"]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    rt.ok(&["delete", &b.id]);
    assert!(!rt.state_dir(&b.id).exists());

    // --force removes a created container, as engines ask for it.
    let b2 = bundle(&["true"]);
    rt.track(&b2);
    rt.ok(&["create", "-b", b2.path().to_str().unwrap(), &b2.id]);
    let pid2 = rt.state(&b2.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["delete", "--force", &b2.id]);
    reap(pid2);
    assert!(!rt.state_dir(&b2.id).exists());
    assert!(!cgroup_exists(&b2.cgroups_path));
    let gone = rt.run(&["delete", &b2.id]);
    assert!(
        stderr(&gone).contains("does not exist"),
        "{}",
        stderr(&gone)
    );
}

#[test]
fn create_writes_the_pid_file_at_absolute_and_relative_paths() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["true"]);
    rt.track(&b);
    let abs = b.path().join("abs.pid");
    rt.ok(&[
        "create",
        "--pid-file",
        abs.to_str().unwrap(),
        "-b",
        b.path().to_str().unwrap(),
        &b.id,
    ]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap();
    // runc writes the number alone, no newline.
    assert_eq!(std::fs::read_to_string(&abs).unwrap(), pid.to_string());
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid as i32);

    // A relative path is relative to the caller's working directory, and
    // made absolute by its letters, as runc does (`sub` does not exist).
    let b2 = bundle(&["true"]);
    rt.track(&b2);
    let cwd = tempfile::tempdir().unwrap();
    let status = rt
        .cmd()
        .current_dir(cwd.path())
        .args(["create", "--pid-file", "sub/../rel.pid", "-b"])
        .arg(b2.path())
        .arg(&b2.id)
        .status()
        .unwrap();
    assert!(status.success());
    let pid2 = rt.state(&b2.id)["pid"].as_i64().unwrap();
    let written = std::fs::read_to_string(cwd.path().join("rel.pid"));
    rt.ok(&["delete", "--force", &b2.id]);
    reap(pid2 as i32);
    assert_eq!(written.unwrap(), pid2.to_string());
    let leftovers: Vec<_> = std::fs::read_dir(cwd.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n != "rel.pid")
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn config_changes_after_create_do_not_affect_the_container() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (mut b, out) = bundle_with_out(&["sh", "-c", "hostname > /out/seen"]);
    b.config["hostname"] = json!("before");
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    b.config["hostname"] = json!("after");
    b.config["process"]["args"] = json!(["sh", "-c", "echo changed > /out/seen"]);
    b.write_config().unwrap();
    rt.ok(&["start", &b.id]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    assert_eq!(
        std::fs::read_to_string(out.path().join("seen")).unwrap(),
        "before\n"
    );
    rt.ok(&["delete", &b.id]);
}

#[test]
fn unknown_properties_and_annotation_keys_are_ignored() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["echo", "ran"]);
    b.config["unknown"] = json!("unknown");
    b.config["org.example.extension"] = json!({"nested": [1, 2, {"x": null}]});
    b.config["process"]["unknownProcessField"] = json!(true);
    b.config["linux"]["unknownLinuxField"] = json!({"a": 1});
    b.config["root"]["unknownRootField"] = json!(7);
    b.config["mounts"][0]["unknownMountField"] = json!("x");
    b.config["linux"]["namespaces"][0]["unknownNsField"] = json!([]);
    // consoleSize MUST be ignored without a terminal.
    b.config["process"]["consoleSize"] = json!({"height": 10, "width": 10});
    let key = format!("org.{}", b.id);
    b.config["annotations"] = json!({&key: "", "com.example.whatever": "value"});
    b.write_config().unwrap();
    rt.track(&b);
    let out = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ran\n");

    // The annotations come back in `state`, unknown keys included.
    let b2 = {
        let mut b2 = bundle(&["true"]);
        b2.config["annotations"] = json!({&key: "", "com.example.whatever": "value"});
        b2.write_config().unwrap();
        b2
    };
    rt.track(&b2);
    rt.ok(&["create", "-b", b2.path().to_str().unwrap(), &b2.id]);
    let st = rt.state(&b2.id);
    assert_eq!(st["annotations"][&key], "");
    assert_eq!(st["annotations"]["com.example.whatever"], "value");
    let pid = st["pid"].as_i64().unwrap() as i32;
    rt.ok(&["delete", "--force", &b2.id]);
    reap(pid);
}

#[test]
fn state_create_and_start_answer_as_the_spec_says() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let missing = rt.run(&["state", "no-such-container"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("does not exist"));
    // No id at all is a usage error of each operation.
    for op in ["state", "start", "kill", "delete", "create"] {
        let out = rt.run(&[op]);
        assert!(!out.status.success(), "{op} without an id");
    }
    let b = bundle(&["true"]);
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let st = rt.state(&b.id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["ociVersion"], "1.0.2");
    assert_eq!(
        st["bundle"],
        b.path().canonicalize().unwrap().to_str().unwrap()
    );
    // The same id again: an error, and the first container is untouched.
    let dup = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!dup.status.success());
    assert_eq!(rt.state(&b.id)["status"], "created");
    let pid = st["pid"].as_i64().unwrap() as i32;
    rt.ok(&["start", &b.id]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    let again = rt.run(&["start", &b.id]);
    assert!(!again.status.success(), "start of a stopped container");
    rt.ok(&["delete", &b.id]);
}
