//! The runc process model, seen from outside: run, create/start/state,
//! kill, delete, list, ps — with real containers from the busybox fixture.

mod common;

use berth_testkit::{is_root, require};
use common::*;

#[test]
fn run_streams_output_and_returns_exit_code() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sh", "-c", "echo hello from berth; echo oops >&2; exit 7"]);
    rt.track(&b);
    let out = rt.run(&["run", "--bundle", b.path().to_str().unwrap(), &b.id]);
    assert_eq!(out.status.code(), Some(7), "stderr: {}", stderr(&out));
    assert_eq!(stdout(&out), "hello from berth\n");
    assert_eq!(stderr(&out), "oops\n");
    assert!(!rt.state_dir(&b.id).exists(), "run removes its state");
    assert!(!cgroup_exists(&b.cgroups_path), "run removes its cgroup");
}

#[test]
fn run_reports_death_by_signal_as_128_plus_signal() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sleep", "60"]);
    rt.track(&b);
    let pid_file = b.path().join("pid");
    let mut child = rt
        .cmd()
        .args([
            "run",
            "--pid-file",
            pid_file.to_str().unwrap(),
            "-b",
            b.path().to_str().unwrap(),
            &b.id,
        ])
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let pid = loop {
        if let Ok(p) = std::fs::read_to_string(&pid_file) {
            break p.parse::<i32>().unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "no pid file");
        std::thread::sleep(std::time::Duration::from_millis(5));
    };
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(137));
    assert!(!rt.state_dir(&b.id).exists());
}

#[test]
fn create_start_kill_delete_with_truthful_state() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sleep", "60"]);
    rt.track(&b);
    let pid_file = b.path().join("init.pid");
    rt.ok(&[
        "create",
        "-b",
        b.path().to_str().unwrap(),
        "--pid-file",
        pid_file.to_str().unwrap(),
        &b.id,
    ]);

    let st = rt.state(&b.id);
    assert_eq!(st["status"], "created");
    assert_eq!(st["id"], b.id.as_str());
    let pid = st["pid"].as_i64().unwrap();
    assert!(pid > 0);
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    assert_eq!(
        st["bundle"],
        b.path().canonicalize().unwrap().to_str().unwrap()
    );
    assert!(cgroup_exists(&b.cgroups_path), "create makes the cgroup");
    // Until start, the init has not exec'd the user's process.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap();
    assert_ne!(comm.trim(), "sleep");

    rt.ok(&["start", &b.id]);
    rt.wait_status(&b.id, "running");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap()
        .trim()
        != "sleep"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "init never exec'd sleep"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }

    // A second start is refused.
    let again = rt.run(&["start", &b.id]);
    assert!(!again.status.success());
    assert!(stderr(&again).contains("running"), "{}", stderr(&again));

    // Deleting a running container needs --force.
    let del = rt.run(&["delete", &b.id]);
    assert!(!del.status.success());
    assert!(stderr(&del).contains("running"), "{}", stderr(&del));
    assert!(
        rt.state_dir(&b.id).exists(),
        "refused delete keeps the container"
    );

    rt.ok(&["kill", &b.id, "KILL"]);
    reap(pid as i32);
    rt.wait_status(&b.id, "stopped");
    assert_eq!(rt.state(&b.id)["pid"], 0);
    rt.ok(&["delete", &b.id]);
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path), "delete removes the cgroup");
    let gone = rt.run(&["state", &b.id]);
    assert!(!gone.status.success());
    assert!(stderr(&gone).contains("does not exist"));
}

#[test]
fn signals_reach_pid_1_and_delete_force_kills() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    // pid 1 only gets signals it handles: the trap proves delivery.
    let b = bundle(&[
        "sh",
        "-c",
        "trap 'echo got-term > /tmp/sig; exit 0' TERM; while true; do sleep 0.05; done",
    ]);
    let mut b = b;
    b.config["root"]["readonly"] = serde_json::json!(false);
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["kill", &b.id]); // default SIGTERM
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    assert_eq!(
        std::fs::read_to_string(b.rootfs().join("tmp/sig")).unwrap(),
        "got-term\n"
    );
    rt.ok(&["delete", &b.id]);

    let b2 = bundle(&["sleep", "60"]);
    rt.track(&b2);
    rt.ok(&[
        "run",
        "--detach",
        "--bundle",
        b2.path().to_str().unwrap(),
        &b2.id,
    ]);
    let pid2 = rt.state(&b2.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["delete", "--force", &b2.id]);
    reap(pid2);
    assert!(!rt.state_dir(&b2.id).exists());
    assert!(!cgroup_exists(&b2.cgroups_path));
    assert!(
        !std::path::Path::new(&format!("/proc/{pid2}")).exists(),
        "init is gone and reaped"
    );
}

#[test]
fn list_and_ps_show_containers_and_their_processes() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sh", "-c", "sleep 60 & sleep 60"]);
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let list: serde_json::Value =
        serde_json::from_str(&rt.ok(&["list", "--format", "json"])).unwrap();
    let entry = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == b.id.as_str())
        .expect("listed");
    assert_eq!(entry["status"], "running");
    let table = rt.ok(&["list"]);
    assert!(table.starts_with("ID"), "{table}");
    assert!(table.contains(&b.id));
    let quiet = rt.ok(&["list", "-q"]);
    assert_eq!(quiet.trim(), b.id);

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let pids: Vec<i64> =
            serde_json::from_str(&rt.ok(&["ps", "--format", "json", &b.id])).unwrap();
        if pids.len() == 2 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ps never showed 2 processes: {pids:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["kill", "--all", &b.id, "9"]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    rt.ok(&["delete", &b.id]);
}

#[test]
fn spec_writes_a_config_that_runs() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["true"]);
    std::fs::remove_file(b.path().join("config.json")).unwrap();
    rt.ok(&["spec", "--bundle", b.path().to_str().unwrap()]);
    let refused = rt.run(&["spec", "-b", b.path().to_str().unwrap()]);
    assert!(!refused.status.success(), "spec does not overwrite");
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["process"]["args"], serde_json::json!(["sh"]));
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!(["echo", "spec-ok"]);
    config["linux"]["cgroupsPath"] = b.cgroups_path.clone().into();
    std::fs::write(b.path().join("config.json"), config.to_string()).unwrap();
    rt.track(&b);
    let out = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    assert_eq!(stdout(&out), "spec-ok\n", "{}", stderr(&out));

    let features: serde_json::Value = serde_json::from_str(&rt.ok(&["features"])).unwrap();
    assert_eq!(features["ociVersionMax"], "1.2.0");
    assert!(features["linux"]["namespaces"]
        .as_array()
        .unwrap()
        .contains(&"time".into()));
}

/// `--preserve-fds N` passes fds 3..3+N; under socket activation
/// (LISTEN_FDS/LISTEN_PID naming the runtime) the listeners arrive as fds
/// 3.. with LISTEN_FDS and LISTEN_PID set for the container's process.
#[test]
fn preserved_fds_and_socket_activation_reach_the_process() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sh", "-c", "ls /proc/self/fd | tr '\\n' ' '; echo; cat <&3"]);
    rt.track(&b);
    let payload = b.path().join("payload");
    std::fs::write(&payload, "through fd 3\n").unwrap();
    let root = rt.root.path().to_str().unwrap().to_string();
    // sh opens fd 3 without close-on-exec, as a service manager would.
    let script = format!(
        "exec {BIN} --root {root} run --preserve-fds 1 -b {} {} 3<{}",
        b.path().display(),
        b.id,
        payload.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("0 1 2 3 4 \n"),
        "fd 3 preserved, 4 is ls's own: {text:?}"
    );
    assert!(text.contains("through fd 3"), "{text:?}");

    // Socket activation: LISTEN_PID names the runtime itself ($$ survives exec).
    let b2 = bundle(&[
        "sh",
        "-c",
        "echo LISTEN_FDS=$LISTEN_FDS LISTEN_PID=$LISTEN_PID; cat <&3",
    ]);
    rt.track(&b2);
    let script = format!(
        "LISTEN_FDS=1 LISTEN_PID=$$ exec {BIN} --root {root} run -b {} {} 3<{}",
        b2.path().display(),
        b2.id,
        payload.display()
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "LISTEN_FDS=1 LISTEN_PID=1\nthrough fd 3\n");
}
