//! Faults and bad input for containers (as root): a killed monitor or CLI
//! leaves a container that ps/stop/rm still handle; bad input gets one
//! clear error and leaves nothing behind (no rw layer, no record, no
//! cgroup).

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{alive, eventually, Env};
use std::process::Stdio;

fn kill9(pid: i64) {
    let st = std::process::Command::new("kill")
        .args(["-9", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

#[test]
fn killed_monitor_leaves_a_container_ps_stop_and_rm_handle() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&["run", "-d", "--name", "orphan", "busybox", "sleep", "1000"]);
    let id = id.trim();
    let state = env.state(id);
    let monitor = state["monitor"]["pid"].as_i64().unwrap();
    let init = state["process"]["pid"].as_i64().unwrap();
    // The monitor is small: report its RSS.
    let status = std::fs::read_to_string(format!("/proc/{monitor}/status")).unwrap();
    let rss = status
        .lines()
        .find(|l| l.starts_with("VmRSS"))
        .unwrap_or("");
    eprintln!("monitor {monitor}: {rss}");
    kill9(monitor);
    eventually("the monitor to go", || !alive(monitor));
    let ps = env.ps();
    assert_eq!(ps[0]["Names"][0], "orphan");
    assert_eq!(ps[0]["State"], "running");
    env.ok(&["stop", "-t", "1", "orphan"]);
    assert!(!alive(init), "stop left the container's process");
    let ps = env.ps();
    assert_eq!(ps[0]["State"], "exited");
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
    env.ok(&["rm", "orphan"]);
    assert!(env.ps().is_empty());
    assert_eq!(env.stored_containers(), 0);
}

#[test]
fn killed_foreground_cli_leaves_a_container_rm_f_handles() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let mut child = env
        .command(&["run", "--name", "fg", "busybox", "sleep", "1000"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    eventually("the container to run", || {
        env.ps().first().is_some_and(|c| c["State"] == "running")
    });
    let init = env.ps()[0]["Pid"].as_i64().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(env.ps()[0]["State"], "running");
    env.ok(&["rm", "-f", "fg"]);
    eventually("the container's process to go", || !alive(init));
    assert!(env.ps().is_empty());
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}

/// `args` fails with exit `code` and a message containing `says`, and
/// leaves no container, layer or cgroup.
fn refused(env: &Env, args: &[&str], code: i32, says: &str) {
    let layers = env.layers();
    let before = env.stored_containers();
    let out = env.berth(args);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(says), "{args:?}: {err:?} lacks {says:?}");
    // podman too says which name it tried before the error.
    let lines = err.lines().filter(|l| !l.starts_with("Trying to pull "));
    assert_eq!(lines.count(), 1, "one clear error: {err}");
    assert_eq!(env.stored_containers(), before, "{args:?} left a container");
    assert_eq!(env.layers(), layers, "{args:?} left a layer");
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}

#[test]
fn bad_input_is_one_clear_error_and_leaves_nothing() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    refused(
        &env,
        &["run", "--rm", "nosuchimage", "true"],
        125,
        "nosuchimage",
    );
    refused(
        &env,
        &["run", "--rm", "busybox", "nosuchcmd"],
        127,
        "nosuchcmd: executable file not found",
    );
    refused(&env, &["run", "busybox", "/bin/nosuch"], 127, "/bin/nosuch");
    refused(
        &env,
        &["create", "-v", "/nonexistent/dir:/x", "busybox", "true"],
        125,
        "/nonexistent/dir does not exist",
    );
    refused(
        &env,
        &["run", "--network", "carrier-pigeon", "busybox", "true"],
        125,
        // podman's words for a network that does not exist.
        "unable to find network with name or ID carrier-pigeon: network not found",
    );
    refused(
        &env,
        &["run", "--cap-add", "CAP_BOGUS", "busybox", "true"],
        125,
        "CAP_BOGUS",
    );
    refused(
        &env,
        &["run", "--memory", "lots", "busybox", "true"],
        125,
        "--memory",
    );
    env.ok(&["create", "--name", "taken", "busybox", "true"]);
    refused(
        &env,
        &["create", "--name", "taken", "busybox", "true"],
        125,
        "taken",
    );
    assert_eq!(env.ps().len(), 1);
    // An image a container uses cannot be removed.
    let out = env.berth(&["rmi", "busybox"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("taken"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        env.ok(&["images", "--format", "json"])
            .matches("\"Id\"")
            .count(),
        1
    );
    // Unknown containers.
    for verb in ["start", "stop", "kill", "rm", "logs", "wait"] {
        let out = env.berth(&[verb, "nosuch"]);
        // podman: rm of something missing is 1, the others berth's 125.
        let code = if verb == "rm" { 1 } else { 125 };
        assert_eq!(out.status.code(), Some(code), "{verb}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no container named \"nosuch\""),
            "{verb}"
        );
    }
    // rm of a running container needs -f.
    env.ok(&["run", "-d", "--name", "busy", "busybox", "sleep", "1000"]);
    let out = env.berth(&["rm", "busy"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("running"));
    env.ok(&["rm", "-f", "busy"]);
}

#[test]
fn resources_and_networks() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "run",
        "-d",
        "--memory",
        "64m",
        "--cpus",
        "0.5",
        "--pids-limit",
        "50",
        "busybox",
        "sleep",
        "1000",
    ]);
    let info: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", id.trim()])).unwrap();
    let cg = info[0]["State"]["CgroupPath"]
        .as_str()
        .unwrap()
        .trim_start_matches('/')
        .to_string();
    let read = |p: String| std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"));
    if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        assert_eq!(
            read(format!("/sys/fs/cgroup/{cg}/memory.max")).trim(),
            "67108864"
        );
        assert_eq!(read(format!("/sys/fs/cgroup/{cg}/pids.max")).trim(), "50");
        assert_eq!(
            read(format!("/sys/fs/cgroup/{cg}/cpu.max")).trim(),
            "50000 100000"
        );
    } else {
        assert_eq!(
            read(format!("/sys/fs/cgroup/memory/{cg}/memory.limit_in_bytes")).trim(),
            "67108864"
        );
        assert_eq!(
            read(format!("/sys/fs/cgroup/pids/{cg}/pids.max")).trim(),
            "50"
        );
        assert_eq!(
            read(format!("/sys/fs/cgroup/cpu/{cg}/cpu.cfs_quota_us")).trim(),
            "50000"
        );
    }
    env.ok(&["rm", "-f", id.trim()]);
    // --network none: loopback only; host: the host's interfaces.
    let ifaces = |net: &str| {
        env.ok(&[
            "run",
            "--rm",
            "--network",
            net,
            "--hostname",
            "netbox",
            "busybox",
            "sh",
            "-c",
            "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; grep -c netbox /etc/hosts",
        ])
    };
    assert_eq!(ifaces("none"), "lo\n1\n");
    let host = ifaces("host");
    assert!(host.lines().count() > 2, "{host}");
}
