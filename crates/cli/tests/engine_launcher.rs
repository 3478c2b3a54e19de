//! The engine's launcher and its error paths, seen as a user sees them:
//! racing starts, a start that fails at each phase, corrupt records and a
//! log that cannot be written. Each leaves the container in a state the
//! next command handles, and removes nothing that is in use.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{alive, eventually, Env};
use std::process::Stdio;

/// Processes whose command line names `id` (monitors are started with it).
fn monitors_of(id: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| {
                let text = String::from_utf8_lossy(&c);
                text.contains(id) && text.contains("monitor")
            })
        })
        .filter(|e| alive(e.file_name().to_string_lossy().parse().unwrap()))
        .count()
}

#[test]
fn eight_concurrent_starts_start_it_once_and_kill_nothing() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&["create", "--name", "once", "busybox", "sleep", "1000"]);
    let id = id.trim().to_string();
    let racers: Vec<_> = (0..8)
        .map(|_| {
            env.command(&["start", "once"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<_> = racers
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect();
    let started = outs.iter().filter(|o| o.status.success()).count();
    assert_eq!(started, 1, "exactly one start wins");
    for o in outs.iter().filter(|o| !o.status.success()) {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("already running"), "{err}");
    }
    let state = env.state(&id);
    assert_eq!(state["status"], "running");
    let init = state["process"]["pid"].as_i64().unwrap();
    let started_at = state["started_at"].clone();
    // Nobody killed the winner's container, and only its monitor remains.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(alive(init), "the running container was killed");
    assert_eq!(env.state(&id)["process"]["pid"].as_i64(), Some(init));
    assert_eq!(env.state(&id)["started_at"], started_at, "recorded twice");
    assert_eq!(monitors_of(&id), 1, "one monitor watches it");
    env.ok(&["rm", "-f", "once"]);
}

#[test]
fn a_start_failing_in_the_runtime_leaves_a_created_container() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "create",
        "--network",
        "none",
        "--tmpfs",
        "/x:size=abc",
        "busybox",
        "true",
    ]);
    let id = id.trim();
    let out = env.berth(&["start", id]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("mount tmpfs on /x"), "{err}");
    // Once, and without the runtime log's decoration.
    assert_eq!(err.matches("mount tmpfs on /x").count(), 1, "{err}");
    assert!(!err.contains("level=error"), "{err}");
    let state = env.state(id);
    assert_eq!(state["status"], "created");
    assert_eq!(state["mounted"], false);
    assert!(state["process"].is_null() && state["monitor"].is_null());
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
    assert!(!env.runroot().join("runtime").join(id).exists());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(
        !mounts.contains(&env.root().display().to_string()),
        "{mounts}"
    );
    env.ok(&["rm", id]);
}

#[test]
fn a_start_failing_on_the_network_undoes_the_mount() {
    require!(is_root(), "containers need root");
    require!(
        std::path::Path::new("/usr/lib/cni/bridge").exists(),
        "CNI plugins"
    );
    let env = Env::new();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let publish = format!("127.0.0.1:{port}:80");
    let id = env.ok(&["create", "-p", &publish, "busybox", "true"]);
    let id = id.trim();
    // Someone takes the port between create and start.
    let _holder = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let out = env.berth(&["start", id]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&port.to_string()), "{err}");
    let state = env.state(id);
    assert_eq!(state["status"], "created");
    assert_eq!(state["mounted"], false);
    assert!(state["network"].is_null());
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    assert!(
        !mounts.contains(&env.root().display().to_string()),
        "{mounts}"
    );
    assert!(!env.runroot().join("netns").join(id).exists());
    env.ok(&["rm", id]);
}

#[test]
fn corrupt_metadata_is_an_error_and_its_volume_is_kept() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["volume", "create", "keep"]);
    let id = env.ok(&["create", "-v", "keep:/data", "busybox", "true"]);
    let id = id.trim();
    let record = env.root().join("containers").join(format!("{id}.json"));
    let mut c: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    c["metadata"]["options"] = serde_json::json!("garbage");
    std::fs::write(&record, serde_json::to_vec(&c).unwrap()).unwrap();

    for args in [&["volume", "rm", "keep"][..], &["volume", "prune", "-f"]] {
        let out = env.berth(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} went ahead: {err}");
        assert!(
            err.contains("corrupt metadata") && err.contains(id),
            "{err}"
        );
    }
    assert!(env.ok(&["volume", "ls", "-q"]).contains("keep"));
    let out = env.berth(&["ps", "-a"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains(id), "{err}");
    // The way out: remove the container; the volume stays.
    env.ok(&["rm", "-f", "-v", id]);
    assert!(env.ok(&["volume", "ls", "-q"]).contains("keep"));
    env.ok(&["volume", "rm", "keep"]);
}

#[test]
fn a_log_that_cannot_be_written_stops_the_start() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&["create", "--network", "none", "busybox", "sleep", "1000"]);
    let id = id.trim();
    let dir = env.runroot().join("containers").join(id);
    std::fs::create_dir_all(dir.join("ctr.log")).unwrap();
    let out = env.berth(&["start", id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started with no log");
    assert!(err.contains("ctr.log"), "{err}");
    let shown: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", id])).unwrap();
    assert_eq!(shown[0]["State"]["Status"], "created");
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
    std::fs::remove_dir(dir.join("ctr.log")).unwrap();
    env.ok(&["start", id]);
    eventually("it to run", || env.state(id)["status"] == "running");
    env.ok(&["rm", "-f", id]);
}

#[test]
fn a_corrupt_mount_count_stops_the_start_and_rm_still_works() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&["create", "--network", "none", "busybox", "true"]);
    let id = id.trim();
    // The container's read-write layer is the one layer whose mount count
    // file create left behind (create mounts the rootfs to check the
    // command, then unmounts it).
    let mounts = env.root().join("mounts");
    let counts: Vec<_> = std::fs::read_dir(&mounts)
        .unwrap()
        .flatten()
        .map(|e| e.path().join("count"))
        .filter(|p| p.exists())
        .collect();
    assert_eq!(counts.len(), 1, "{counts:?}");
    std::fs::write(&counts[0], "12ab").unwrap();
    let out = env.berth(&["start", id]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started over a corrupt count");
    assert!(err.contains("corrupt mount count"), "{err}");
    let shown: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", id])).unwrap();
    assert_eq!(shown[0]["State"]["Status"], "created");
    env.ok(&["rm", "-f", id]);
    assert_eq!(env.stored_containers(), 0);
}
