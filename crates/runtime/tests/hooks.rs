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
    let read = |kind: &str| -> Value {
        let file = out.path().join(format!("log.{kind}.json"));
        serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
    };
    assert_eq!(read("prestart")["status"], "created");
    assert_eq!(read("poststart")["status"], "running");
    assert_eq!(read("poststart")["pid"], state["pid"]);
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

/// A hook that appends `line` to `log`.
fn echo_hook(line: &str, log: &std::path::Path) -> Value {
    json!({
        "path": "/bin/sh",
        "args": ["sh", "-c", format!("echo {line} >> {}", log.display())],
    })
}

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn prestart_runs_in_create_with_the_created_state_before_the_process() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("log");
    let mut b = bundle(&["sh", "-c", "echo process >> /hookout/log"]);
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/hookout", "type": "bind", "source": out.path(), "options": ["rbind", "rw"]
    }));
    b.config["annotations"] = json!({"org.example.key": "value"});
    b.config["hooks"] = json!({"prestart": [
        {"path": "/bin/sh", "args": ["sh", "-c",
            format!("echo prestart >> {0}; cat > {0}.json", log.display())], "timeout": 5}
    ]});
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    // Part of create, after the environment exists; the process has not run.
    assert_eq!(lines(&log), ["prestart"]);
    let st = rt.state(&b.id);
    let seen: Value =
        serde_json::from_slice(&std::fs::read(out.path().join("log.json")).unwrap()).unwrap();
    assert_eq!(seen["status"], "created");
    assert_eq!(seen["id"], b.id.as_str());
    assert_eq!(seen["pid"], st["pid"]);
    assert_eq!(seen["bundle"], st["bundle"]);
    assert_eq!(seen["annotations"]["org.example.key"], "value");
    // The hook ran in the container's namespaces' sight: its pid is the init.
    let pid = st["pid"].as_i64().unwrap() as i32;
    rt.ok(&["start", &b.id]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    assert_eq!(lines(&log), ["prestart", "process"]);
    rt.ok(&["delete", &b.id]);
}

/// A hook that records, from the state on its stdin, what the container's
/// init is at that moment: its command name, network namespace, and
/// whether its /proc is still mounted under the bundle's rootfs (i.e.
/// pivot_root has not happened yet).
fn probe_hook(name: &str, log: &std::path::Path) -> Value {
    let script = format!(
        "s=$(cat); pid=$(echo \"$s\" | sed -n 's/.*\"pid\":\\([0-9]*\\).*/\\1/p'); \
         b=$(echo \"$s\" | sed -n 's/.*\"bundle\":\"\\([^\"]*\\)\".*/\\1/p'); \
         echo {name} $(cat /proc/$pid/comm) $(readlink /proc/$pid/ns/net) \
         $(grep -c \" $b/rootfs/proc \" /proc/$pid/mountinfo) >> {}",
        log.display()
    );
    json!({"path": "/bin/sh", "args": ["sh", "-c", script], "env": ["PATH=/bin:/usr/bin"]})
}

#[test]
fn hooks_see_the_container_at_their_moment_of_the_lifecycle() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("log");
    let mut b = bundle(&["sleep", "1"]);
    b.config["hooks"] = json!({
        "prestart": [probe_hook("prestart", &log)],
        "poststart": [probe_hook("poststart", &log)],
    });
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["start", &b.id]);
    let host_net = std::fs::read_link("/proc/self/ns/net").unwrap();
    let host_net = host_net.to_str().unwrap();
    let seen = lines(&log);
    assert_eq!(seen.len(), 2, "{seen:?}");
    let prestart: Vec<&str> = seen[0].split(' ').collect();
    let poststart: Vec<&str> = seen[1].split(' ').collect();
    // prestart: namespaces made, mounts made under the rootfs, no
    // pivot_root yet, the user's process not yet exec'd.
    assert_eq!(prestart[0], "prestart");
    assert_ne!(prestart[1], "sleep", "{seen:?}");
    assert_ne!(prestart[2], host_net, "{seen:?}");
    assert_eq!(
        prestart[3], "1",
        "rootfs/proc mounted, not yet pivoted: {seen:?}"
    );
    // poststart: the user's process runs, before `start` returned.
    assert_eq!(poststart[..2], ["poststart", "sleep"], "{seen:?}");
    rt.ok(&["kill", &b.id, "KILL"]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    rt.ok(&["delete", &b.id]);
}

#[test]
fn hooks_of_one_kind_run_in_the_listed_order() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("log");
    let mut b = bundle(&["true"]);
    let hooks = |kind: &str| -> Vec<Value> {
        (1..=3)
            .map(|n| echo_hook(&format!("{kind}{n}"), &log))
            .collect()
    };
    b.config["hooks"] = json!({
        "prestart": hooks("prestart"),
        "poststart": hooks("poststart"),
        "poststop": hooks("poststop"),
    });
    b.write_config().unwrap();
    rt.track(&b);
    let run = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(run.status.success(), "{}", stderr(&run));
    let want: Vec<String> = ["prestart", "poststart", "poststop"]
        .iter()
        .flat_map(|k| (1..=3).map(move |n| format!("{k}{n}")))
        .collect();
    assert_eq!(lines(&log), want);
}

#[test]
fn failing_poststart_hook_is_a_warning_and_the_lifecycle_goes_on() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("log");
    let mut b = bundle(&["sh", "-c", "echo process >> /hookout/log; sleep 0.2"]);
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/hookout", "type": "bind", "source": out.path(), "options": ["rbind", "rw"]
    }));
    b.config["hooks"] = json!({"poststart": [
        {"path": "/bin/false", "args": ["false"]},
        echo_hook("poststart-ok", &log),
    ]});
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    let start = rt.run(&["start", &b.id]);
    assert!(start.status.success(), "start fails: {}", stderr(&start));
    assert!(
        stderr(&start).contains("warning") && stderr(&start).contains("poststart hook /bin/false"),
        "no warning: {}",
        stderr(&start)
    );
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    let seen = lines(&log);
    assert!(seen.contains(&"poststart-ok".to_owned()), "{seen:?}");
    assert!(seen.contains(&"process".to_owned()), "{seen:?}");
    rt.ok(&["delete", &b.id]);
}

#[test]
fn failing_poststart_hook_in_run_leaves_nothing_behind() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["sh", "-c", "exit 3"]);
    b.config["hooks"] = json!({"poststart": [{"path": "/bin/false"}]});
    b.write_config().unwrap();
    rt.track(&b);
    let logfile = b.path().join("runtime.log");
    let out = rt.run(&[
        "--log",
        logfile.to_str().unwrap(),
        "--log-format",
        "json",
        "run",
        "-b",
        b.path().to_str().unwrap(),
        &b.id,
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning"), "{}", stderr(&out));
    let logged = std::fs::read_to_string(&logfile).unwrap_or_default();
    assert!(logged.contains("\"level\":\"warning\""), "log: {logged}");
    assert!(!rt.state_dir(&b.id).exists(), "state dir left behind");
    assert!(!cgroup_exists(&b.cgroups_path), "cgroup left behind");
}

#[test]
fn failing_poststop_hook_is_a_warning_and_delete_succeeds() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let out = tempfile::tempdir().unwrap();
    let log = out.path().join("log");
    let mut b = bundle(&["true"]);
    b.config["hooks"] = json!({"poststop": [
        {"path": "/bin/false", "args": ["false"]},
        echo_hook("poststop-ok", &log),
    ]});
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["start", &b.id]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    let del = rt.run(&["delete", &b.id]);
    assert!(del.status.success(), "{}", stderr(&del));
    assert!(
        stderr(&del).contains("poststop hook /bin/false"),
        "{}",
        stderr(&del)
    );
    assert_eq!(lines(&log), ["poststop-ok"]);
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn failing_prestart_hook_fails_create_and_the_process_never_runs() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let out = tempfile::tempdir().unwrap();
    let mut b = bundle(&["sh", "-c", "touch /hookout/ran"]);
    b.config["mounts"].as_array_mut().unwrap().push(json!({
        "destination": "/hookout", "type": "bind", "source": out.path(), "options": ["rbind", "rw"]
    }));
    b.config["hooks"] = json!({"prestart": [{"path": "/bin/false"}]});
    b.write_config().unwrap();
    rt.track(&b);
    let create = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!create.status.success());
    assert!(
        stderr(&create).contains("prestart hook /bin/false"),
        "{}",
        stderr(&create)
    );
    assert!(!out.path().join("ran").exists());
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn hook_timeout_must_be_greater_than_zero() {
    require!(is_root(), "needs root");
    for timeout in [0, -1] {
        for kind in ["prestart", "poststart", "poststop", "startContainer"] {
            assert_hook_failure(
                json!({kind: [{"path": "/bin/true", "timeout": timeout}]}),
                &format!("timeout {timeout}: a timeout must be greater than zero"),
            );
        }
    }
}
