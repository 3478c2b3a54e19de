//! No failure after "ready" is silent: an exec that fails reaches `run`,
//! `start` and `exec` with its error, and a container that failed says
//! `stopped`. And nothing the runtime does after loading a seccomp filter
//! depends on a syscall an older or generated profile may refuse.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;

const PODMAN_PROFILE: &str = include_str!("fixtures/podman-seccomp-oci.json");

/// An executable file the kernel cannot run (ENOEXEC) and a script whose
/// interpreter does not exist (ENOENT at exec, after the init found it).
fn plant_unrunnables(b: &Bundle) {
    let root = b.rootfs();
    std::fs::write(root.join("garbage"), b"\x7fELF but not really").unwrap();
    std::fs::write(root.join("orphan-script"), "#!/no/such/interpreter\n").unwrap();
    for f in ["garbage", "orphan-script"] {
        std::fs::set_permissions(root.join(f), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

fn path(b: &Bundle) -> &str {
    b.path().to_str().unwrap()
}

#[test]
fn run_reports_a_failed_exec_and_leaves_nothing() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    for (prog, want) in [
        ("/garbage", "exec /garbage: ENOEXEC"),
        ("/orphan-script", "exec /orphan-script: ENOENT"),
    ] {
        let mut b = bundle(&[prog]);
        plant_unrunnables(&b);
        b.config["process"]["args"] = json!([prog]);
        b.write_config().unwrap();
        rt.track(&b);
        let out = rt.run(&["run", "-b", path(&b), &b.id]);
        assert!(!out.status.success(), "{prog} 'ran'");
        assert!(stderr(&out).contains(want), "{prog}: {}", stderr(&out));
        assert!(!rt.state_dir(&b.id).exists(), "state left for {prog}");
        assert!(!cgroup_exists(&b.cgroups_path), "cgroup left for {prog}");
    }
}

#[test]
fn start_reports_a_failed_exec_and_the_container_is_stopped() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["/garbage"]);
    plant_unrunnables(&b);
    rt.track(&b);
    rt.ok(&["create", "-b", path(&b), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    let out = rt.run(&["start", &b.id]);
    assert!(
        !out.status.success(),
        "start of an unrunnable process succeeded"
    );
    assert!(
        stderr(&out).contains("exec /garbage: ENOEXEC: Exec format error"),
        "{}",
        stderr(&out)
    );
    assert_eq!(rt.state(&b.id)["status"], "stopped");
    reap(pid);
    rt.ok(&["delete", &b.id]);
    assert!(!rt.state_dir(&b.id).exists());
}

#[test]
fn start_of_a_runnable_process_still_succeeds_and_runs_it() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["sh", "-c", "echo started > /tmp/mark; sleep 100"]);
    b.config["root"]["readonly"] = json!(false);
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["create", "-b", path(&b), &b.id]);
    rt.ok(&["start", &b.id]);
    assert_eq!(rt.state(&b.id)["status"], "running");
    let mark = b.rootfs().join("tmp/mark");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !mark.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the process never ran"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn exec_reports_a_failed_exec() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sleep", "100"]);
    plant_unrunnables(&b);
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", path(&b), &b.id]);
    let out = rt.run(&["exec", &b.id, "/orphan-script"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("exec /orphan-script: ENOENT"),
        "{}",
        stderr(&out)
    );
    // The container is untouched.
    assert_eq!(rt.state(&b.id)["status"], "running");
    assert_eq!(
        rt.ok(&["exec", &b.id, "echo", "still", "here"]),
        "still here\n"
    );
}

/// podman's profile (default action ERRNO) without the given syscalls.
fn podman_profile_without(names: &[&str]) -> Value {
    let mut profile: Value = serde_json::from_str(PODMAN_PROFILE).unwrap();
    for rule in profile["syscalls"].as_array_mut().unwrap() {
        if let Some(list) = rule["names"].as_array_mut() {
            list.retain(|n| !names.contains(&n.as_str().unwrap()));
        }
    }
    profile
}

/// Profiles from before close_range and execveat (older Docker releases,
/// profiles generated from a program's trace) must not kill the start,
/// with or without noNewPrivileges (the filter goes in at different
/// points); neither may one that refuses fcntl, which the exec stub uses.
#[test]
fn profiles_without_newer_syscalls_still_start_the_container() {
    require!(is_root(), "needs root");
    let cases: [&[&str]; 3] = [
        &["close_range"],
        &["close_range", "execveat"],
        &["close_range", "execveat", "fcntl", "fcntl64"],
    ];
    for missing in cases {
        for nnp in [true, false] {
            let rt = Runtime::new();
            let mut b = bundle(&["echo", "started"]);
            b.config["linux"]["seccomp"] = podman_profile_without(missing);
            b.config["process"]["noNewPrivileges"] = json!(nnp);
            b.write_config().unwrap();
            rt.track(&b);
            let out = rt.run(&["run", "-b", path(&b), &b.id]);
            assert!(
                out.status.success() && stdout(&out) == "started\n",
                "without {missing:?}, nnp={nnp}: {} {:?} {}",
                out.status,
                stdout(&out),
                stderr(&out)
            );
        }
    }
}

/// A failed exec under such a profile is still reported.
#[test]
fn exec_failure_is_reported_under_a_profile_without_close_range() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["/garbage"]);
    plant_unrunnables(&b);
    b.config["linux"]["seccomp"] = podman_profile_without(&["close_range", "execveat"]);
    b.write_config().unwrap();
    rt.track(&b);
    let out = rt.run(&["run", "-b", path(&b), &b.id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("ENOEXEC"), "{}", stderr(&out));
}

/// The runtime ignores SIGPIPE (Rust does at start-up) and may be started
/// with more ignored (nohup); the container's process starts with every
/// signal at its default action, none blocked.
#[test]
fn the_process_starts_with_default_signal_actions() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["grep", "-E", "^Sig(Ign|Blk)", "/proc/self/status"]);
    rt.track(&b);
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"trap "" HUP INT USR1; exec "$@""#)
        .arg("sh")
        .arg(BIN)
        .arg("--root")
        .arg(rt.root.path())
        .args(["run", "-b", path(&b), &b.id])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"
    );
}
