//! Rootless: an unprivileged user runs a container from `spec --rootless`,
//! mapped to root in its own user namespace, with no cgroup of its own.

mod common;

use berth_testkit::{is_root, populate_busybox_rootfs, require};
use common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

const NOBODY: u32 = 65534;

/// `berth-runtime ARGS…` as uid/gid 65534 with no supplementary groups.
fn as_nobody(args: &[&str]) -> std::process::Output {
    Command::new("setpriv")
        .args([
            format!("--reuid={NOBODY}"),
            format!("--regid={NOBODY}"),
            "--clear-groups".into(),
        ])
        .arg(BIN)
        .args(args)
        .output()
        .expect("run setpriv")
}

#[test]
fn unprivileged_user_runs_a_rootless_container() {
    require!(is_root(), "needs root to switch to an unprivileged user");
    require!(
        std::path::Path::new("/usr/bin/setpriv").exists(),
        "setpriv not installed"
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bundle = dir.path().join("bundle");
    let state = dir.path().join("state");
    std::fs::create_dir_all(&state).unwrap();
    populate_busybox_rootfs(&bundle.join("rootfs")).unwrap();
    for d in [&bundle, &state] {
        nix::unistd::chown(d.as_path(), Some(NOBODY.into()), Some(NOBODY.into())).unwrap();
    }
    let out = as_nobody(&["spec", "--rootless", "--bundle", bundle.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["linux"]["uidMappings"][0]["hostID"], NOBODY);
    config["process"]["terminal"] = false.into();
    config["process"]["args"] = serde_json::json!([
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map; hostname; touch /tmp/x 2>/dev/null || echo ro"
    ]);
    std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();

    let id = berth_testkit::unique_name("rootless");
    let out = as_nobody(&[
        "--root",
        state.to_str().unwrap(),
        "run",
        "-b",
        bundle.to_str().unwrap(),
        &id,
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let words: Vec<String> = stdout(&out).split_whitespace().map(String::from).collect();
    assert_eq!(
        words,
        ["0", "0", "65534", "1", "berth", "ro"],
        "{}",
        stdout(&out)
    );
    assert!(!state.join(&id).exists(), "state removed");

    // Limits need a cgroup the user may write: a clear error, nothing left.
    config["linux"]["resources"] = serde_json::json!({"pids": {"limit": 10}});
    config["linux"]["cgroupsPath"] = berth_testkit::test_cgroup_path(&id).into();
    std::fs::write(bundle.join("config.json"), config.to_string()).unwrap();
    let out = as_nobody(&[
        "--root",
        state.to_str().unwrap(),
        "run",
        "-b",
        bundle.to_str().unwrap(),
        &id,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("Permission denied"),
        "{}",
        stderr(&out)
    );
    assert!(!state.join(&id).exists());
}
