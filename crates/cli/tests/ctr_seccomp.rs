//! The seccomp profile follows the capabilities, as podman's does (as
//! root, real containers).

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::Value;

fn action(config: &Value, call: &str) -> Vec<String> {
    config["linux"]["seccomp"]["syscalls"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["names"].as_array().unwrap().iter().any(|n| n == call))
        .map(|r| r["action"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn cap_add_opens_what_the_capability_needs() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let script = "unshare -m true && echo unshared; mount -t tmpfs none /tmp && echo mounted";
    let out = env.berth(&["run", "--rm", "busybox", "sh", "-c", script]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Operation not permitted"), "{err}");
    let out = env.ok(&[
        "run",
        "--rm",
        "--cap-add",
        "SYS_ADMIN",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert_eq!(out, "unshared\nmounted\n");

    // The profile written: bpf and perf_event_open open with CAP_SYS_ADMIN,
    // kcmp with CAP_SYS_PTRACE; chroot closes without CAP_SYS_CHROOT.
    let config = |args: &[&str]| -> Value {
        let mut a = vec!["create"];
        a.extend_from_slice(args);
        a.extend_from_slice(&["busybox", "true"]);
        let id = env.ok(&a).trim().to_string();
        let p = env
            .runroot()
            .join("containers")
            .join(&id)
            .join("config.json");
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let base = config(&[]);
    assert_eq!(action(&base, "bpf"), ["SCMP_ACT_ERRNO"]);
    assert_eq!(action(&base, "kcmp"), ["SCMP_ACT_ERRNO"]);
    assert_eq!(action(&base, "chroot"), ["SCMP_ACT_ALLOW"]);
    let admin = config(&["--cap-add", "SYS_ADMIN", "--cap-add", "sys_ptrace"]);
    assert_eq!(action(&admin, "bpf"), ["SCMP_ACT_ALLOW"]);
    assert_eq!(action(&admin, "perf_event_open"), ["SCMP_ACT_ALLOW"]);
    assert_eq!(action(&admin, "kcmp"), ["SCMP_ACT_ALLOW"]);
    let fewer = config(&["--cap-drop", "SYS_CHROOT"]);
    assert_eq!(action(&fewer, "chroot"), ["SCMP_ACT_ERRNO"]);
    let out = env.berth(&[
        "run",
        "--rm",
        "--cap-drop",
        "SYS_CHROOT",
        "busybox",
        "chroot",
        "/",
        "true",
    ]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Operation not permitted"));
}
