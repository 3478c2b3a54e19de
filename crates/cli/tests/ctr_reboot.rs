//! Containers after a reboot (simulated, as root): the runroot is gone (a
//! fresh tmpfs), or it survived but was written in another boot. Those
//! that ran show as exited; start and rm work.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::{json, Value};

fn state_of(env: &Env, name: &str) -> Value {
    env.ps()
        .into_iter()
        .find(|c| c["Names"][0] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn a_lost_runroot_shows_exited_containers() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["create", "--name", "never", "busybox", "true"]);
    let out = env.berth(&["run", "--name", "ran", "busybox", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "bg",
        "busybox",
        "sh",
        "-c",
        "echo hi; exit 4",
    ]);
    assert_eq!(env.ok(&["wait", id.trim()]), "4\n");
    // The reboot: the runroot's tmpfs is empty again.
    std::fs::rename(env.runroot(), env.dir.path().join("run-before-reboot")).unwrap();
    let status = state_of(&env, "ran")["Status"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        status.starts_with("Exited (3) ") && status.ends_with(" ago"),
        "{status}"
    );
    let status = state_of(&env, "bg")["Status"].as_str().unwrap().to_string();
    assert!(
        status.starts_with("Exited (4) ") && status.ends_with(" ago"),
        "{status}"
    );
    assert_eq!(state_of(&env, "never")["State"], "created");
    // podman's ps: seconds since the epoch.
    assert!(state_of(&env, "ran")["ExitedAt"].as_i64().unwrap() > 0);
    // It starts again (its bundle is written again) and is removed.
    let out = env.berth(&["start", "-a", "ran"]);
    assert_eq!(out.status.code(), Some(3));
    env.ok(&["start", "bg"]);
    assert_eq!(env.ok(&["wait", "bg"]), "4\n");
    env.ok(&["rm", "ran", "bg", "never"]);
    assert!(env.ps().is_empty());
    assert_eq!(env.stored_containers(), 0);
}

/// The start time (field 22 of /proc/PID/stat) of `pid`.
fn start_time(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    rest.split_whitespace().nth(19).unwrap().parse().unwrap()
}

#[test]
fn a_record_of_another_boot_is_not_running() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["run", "--name", "old", "busybox", "true"]);
    let id = state_of(&env, "old")["Id"].as_str().unwrap().to_string();
    // A live process now has the pid (and start time) the record names:
    // only the boot id tells it is not the container.
    let mut other = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    let path = env
        .runroot()
        .join("containers")
        .join(&id)
        .join("state.json");
    let write = |boot: &str| {
        let mut s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        s["status"] = json!("running");
        s["process"] = json!({"pid": other.id(), "start": start_time(other.id())});
        s["boot_id"] = json!(boot);
        std::fs::write(&path, serde_json::to_vec(&s).unwrap()).unwrap();
    };
    let this_boot = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap();
    write(this_boot.trim());
    let running = state_of(&env, "old")["State"].clone();
    write("00000000-0000-0000-0000-000000000000");
    let after = state_of(&env, "old");
    // Our sleep must not be taken for the container (nor killed by rm).
    let s: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    if s["status"] == "running" {
        let mut s = s;
        s["process"] = Value::Null;
        std::fs::write(&path, serde_json::to_vec(&s).unwrap()).unwrap();
    }
    let alive = other.try_wait().unwrap().is_none();
    let _ = other.kill();
    let _ = other.wait();
    assert_eq!(running, "running", "control: this boot's record is trusted");
    assert_eq!(after["State"], "exited", "{after}");
    assert!(alive, "berth signalled a process that is not the container");
    env.ok(&["start", "-a", "old"]);
    env.ok(&["rm", "old"]);
}

#[test]
fn mounts_of_another_boot_are_forgotten() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&["create", "--name", "m", "busybox", "true"]);
    let path = env.ok(&["mount", "m"]).trim().to_string();
    // The reboot: the mount is gone, the runroot (not a tmpfs) stays.
    let st = std::process::Command::new("umount")
        .arg(&path)
        .status()
        .unwrap();
    assert!(st.success());
    let file = env
        .runroot()
        .join("containers")
        .join(id.trim())
        .join("state.json");
    let mut s: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(s["user_mounts"], 1);
    s["boot_id"] = json!("00000000-0000-0000-0000-000000000000");
    std::fs::write(&file, serde_json::to_vec(&s).unwrap()).unwrap();
    assert_eq!(env.ok(&["mount"]), "", "a mount of another boot is listed");
    // Mounting again works, and one umount undoes it.
    assert_eq!(env.ok(&["mount", "m"]).trim(), path);
    assert!(std::path::Path::new(&path).join("bin/busybox").exists());
    env.ok(&["umount", "m"]);
    assert!(!std::path::Path::new(&path).join("bin/busybox").exists());
    env.ok(&["rm", "m"]);
}
