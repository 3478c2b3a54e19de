//! `checkpoint` and `restore` through CRIU: a busybox container counting
//! into a bind-mounted host directory is checkpointed (and gone), restored
//! (and counts on from where it stopped), and cleaned up; `--leave-running`
//! keeps it; a restore without a checkpoint fails and leaves nothing.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::{assert_consecutive, bundle, cgroup_exists, criu_works, reap, stderr, Runtime};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Skip the test unless it runs as root with a working criu.
macro_rules! require_criu {
    () => {
        require!(is_root(), "needs root");
        require!(
            criu_works(),
            "needs a criu that passes `criu check` (scripts/install-criu)"
        );
    };
}

/// A bundle whose process appends 1, 2, 3… to /data/log (a bind mount of
/// `data` from the host) and exits with 7 after `limit` lines.
fn counter(data: &Path, limit: u32) -> Bundle {
    let script = format!(
        "i=0; while [ $i -lt {limit} ]; do i=$((i+1)); echo $i >> /data/log; sleep 0.05; done; exit 7"
    );
    let mut b = bundle(&["sh", "-c", &script]);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "destination": "/data", "type": "bind",
            "source": data.to_str().unwrap(), "options": ["rbind", "rw"]
        }));
    std::fs::create_dir_all(b.rootfs().join("data")).unwrap();
    b.write_config().unwrap();
    b
}

/// The numbers in the log so far.
fn counted(data: &Path) -> Vec<u32> {
    std::fs::read_to_string(data.join("log"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect()
}

/// Poll until the log holds at least `n` numbers.
fn wait_count(data: &Path, n: usize) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let seen = counted(data);
        if seen.len() >= n {
            return seen;
        }
        assert!(Instant::now() < deadline, "counter stuck at {seen:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Run `b` detached, let it count `lines` lines, checkpoint it into `img`
/// and reap its old init.
fn run_and_checkpoint(rt: &Runtime, b: &Bundle, data: &Path, img: &str, lines: usize) {
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    wait_count(data, lines);
    rt.ok(&["checkpoint", "--image-path", img, &b.id]);
    reap(pid);
}

#[test]
fn checkpointed_container_is_gone_and_restore_counts_on() {
    require_criu!();
    let rt = Runtime::new();
    let data = tempfile::tempdir().unwrap();
    let images = tempfile::tempdir().unwrap();
    let b = counter(data.path(), 10_000);
    rt.track(&b);
    let bundle = b.path().to_str().unwrap();
    let img = images.path().join("cp");
    let img = img.to_str().unwrap();
    run_and_checkpoint(&rt, &b, data.path(), img, 5);
    let gone = rt.run(&["state", &b.id]);
    assert!(!gone.status.success(), "state of a checkpointed container");
    assert!(
        stderr(&gone).contains("does not exist"),
        "{}",
        stderr(&gone)
    );
    assert!(
        !cgroup_exists(&b.cgroups_path),
        "cgroup kept after checkpoint"
    );
    let at_checkpoint = counted(data.path());
    assert!(!at_checkpoint.is_empty());

    let pid_file = images.path().join("pid");
    rt.ok(&[
        "restore",
        "-d",
        "--image-path",
        img,
        "--pid-file",
        pid_file.to_str().unwrap(),
        "-b",
        bundle,
        &b.id,
    ]);
    let st = rt.state(&b.id);
    assert_eq!(st["status"], "running", "{st}");
    let pid = st["pid"].as_i64().unwrap();
    assert_eq!(std::fs::read_to_string(&pid_file).unwrap(), pid.to_string());
    assert!(
        cgroup_exists(&b.cgroups_path),
        "restored without its cgroup"
    );
    let seen = wait_count(data.path(), at_checkpoint.len() + 5);
    assert_consecutive(&seen);

    rt.ok(&["kill", &b.id, "KILL"]);
    reap(pid as i32);
    rt.wait_status(&b.id, "stopped");
    rt.ok(&["delete", &b.id]);
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path), "cgroup left after delete");
}

#[test]
fn leave_running_keeps_the_container() {
    require_criu!();
    let rt = Runtime::new();
    let data = tempfile::tempdir().unwrap();
    let images = tempfile::tempdir().unwrap();
    let b = counter(data.path(), 10_000);
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].clone();
    wait_count(data.path(), 3);
    let img = images.path().to_str().unwrap();
    rt.ok(&["checkpoint", "--leave-running", "--image-path", img, &b.id]);
    assert!(images.path().join("inventory.img").is_file());
    let st = rt.state(&b.id);
    assert_eq!(st["status"], "running", "{st}");
    assert_eq!(st["pid"], pid, "the same process runs on");
    let n = counted(data.path()).len();
    assert_consecutive(&wait_count(data.path(), n + 3));
}

#[test]
fn foreground_restore_waits_and_returns_the_exit_code() {
    require_criu!();
    let rt = Runtime::new();
    let data = tempfile::tempdir().unwrap();
    let images = tempfile::tempdir().unwrap();
    let b = counter(data.path(), 30);
    rt.track(&b);
    let bundle = b.path().to_str().unwrap();
    let img = images.path().to_str().unwrap();
    run_and_checkpoint(&rt, &b, data.path(), img, 3);

    // The runtime stays until the restored process exits with its own code,
    // and removes the container then.
    let out = rt.run(&["restore", "--image-path", img, "-b", bundle, &b.id]);
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));
    assert_consecutive(&counted(data.path()));
    assert_eq!(counted(data.path()).len(), 30);
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn restore_without_a_checkpoint_fails_and_leaves_nothing() {
    require_criu!();
    let rt = Runtime::new();
    let b = bundle(&["true"]);
    rt.track(&b);
    let empty = tempfile::tempdir().unwrap();
    let missing = empty.path().join("missing");
    for dir in [empty.path(), missing.as_path()] {
        let out = rt.run(&[
            "restore",
            "-d",
            "--image-path",
            dir.to_str().unwrap(),
            "-b",
            b.path().to_str().unwrap(),
            &b.id,
        ]);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains("no checkpoint in"), "{err}");
        assert_eq!(err.lines().count(), 1, "one clear error: {err}");
        assert!(!rt.state_dir(&b.id).exists(), "state dir left behind");
        assert!(!cgroup_exists(&b.cgroups_path), "cgroup left behind");
    }
    assert!(!missing.exists(), "restore made the image dir");
}

#[test]
fn checkpoint_of_a_container_that_does_not_run_is_refused() {
    require_criu!();
    let rt = Runtime::new();
    let images = tempfile::tempdir().unwrap();
    let img = images.path().join("cp");
    let b = bundle(&["sleep", "60"]);
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let out = rt.run(&["checkpoint", "--image-path", img.to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("it is created"), "{}", stderr(&out));
    assert!(!img.exists(), "images dir made for a refused checkpoint");
    assert_eq!(rt.state(&b.id)["status"], "created");
    let out = rt.run(&[
        "checkpoint",
        "--image-path",
        img.to_str().unwrap(),
        "nosuch",
    ]);
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

/// Drop the cgroup namespace from a bundle's config: the runtime then binds
/// the container's cgroup directories from the host.
fn without_cgroupns(b: &mut Bundle) {
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "cgroup");
    b.write_config().unwrap();
}

/// The root (4th field) of the mount at `mount_point` in `pid`'s mountinfo.
fn mount_root(pid: i64, mount_point: &str) -> Option<String> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/mountinfo")).unwrap();
    text.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f[4] == mount_point).then(|| f[3].to_string())
    })
}

#[test]
fn restore_under_another_id_binds_its_own_cgroup() {
    require_criu!();
    let rt = Runtime::new();
    let data = tempfile::tempdir().unwrap();
    let images = tempfile::tempdir().unwrap();
    let img = images.path().to_str().unwrap();
    let mut b1 = counter(data.path(), 10_000);
    let mut b2 = counter(data.path(), 10_000);
    without_cgroupns(&mut b1);
    without_cgroupns(&mut b2);
    rt.track(&b1);
    rt.track(&b2);
    rt.ok(&["run", "-d", "-b", b1.path().to_str().unwrap(), &b1.id]);
    let pid1 = rt.state(&b1.id)["pid"].as_i64().unwrap();
    assert_eq!(
        mount_root(pid1, "/sys/fs/cgroup/pids").as_deref(),
        Some(b1.cgroups_path.as_str())
    );
    wait_count(data.path(), 3);
    rt.ok(&["checkpoint", "--image-path", img, &b1.id]);
    reap(pid1 as i32);
    let n = counted(data.path()).len();

    rt.ok(&[
        "restore",
        "-d",
        "--image-path",
        img,
        "-b",
        b2.path().to_str().unwrap(),
        &b2.id,
    ]);
    let pid2 = rt.state(&b2.id)["pid"].as_i64().unwrap();
    // The container sees (and sits in) the new cgroup, not the old one.
    assert_eq!(
        mount_root(pid2, "/sys/fs/cgroup/pids").as_deref(),
        Some(b2.cgroups_path.as_str())
    );
    let procs = std::fs::read_to_string(
        Path::new("/sys/fs/cgroup/pids")
            .join(b2.cgroups_path.trim_start_matches('/'))
            .join("cgroup.procs"),
    )
    .unwrap();
    assert!(procs.lines().any(|p| p == pid2.to_string()), "{procs}");
    assert!(!cgroup_exists(&b1.cgroups_path));
    assert_consecutive(&wait_count(data.path(), n + 3));
}

#[test]
fn joined_network_namespace_is_joined_again() {
    require_criu!();
    let name = berth_testkit::unique_name("berth-cr");
    let added = Command::new("ip").args(["netns", "add", &name]).status();
    require!(added.is_ok_and(|s| s.success()), "needs `ip netns add`");
    struct Netns(String);
    impl Drop for Netns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }
    let netns = Netns(name);
    let path = format!("/run/netns/{}", netns.0);
    let rt = Runtime::new();
    let data = tempfile::tempdir().unwrap();
    let images = tempfile::tempdir().unwrap();
    let img = images.path().to_str().unwrap();
    let mut b = counter(data.path(), 10_000);
    for n in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if n["type"] == "network" {
            n["path"] = serde_json::json!(path);
        }
    }
    b.write_config().unwrap();
    rt.track(&b);
    let bundle = b.path().to_str().unwrap();
    run_and_checkpoint(&rt, &b, data.path(), img, 3);
    rt.ok(&["restore", "-d", "--image-path", img, "-b", bundle, &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap();
    let ns = |p: &str| {
        std::fs::metadata(p)
            .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
            .unwrap()
    };
    assert_eq!(
        ns(&format!("/proc/{pid}/ns/net")),
        ns(&path),
        "not in the joined netns"
    );
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid as i32);
}

#[test]
fn failed_restore_leaves_nothing_and_can_be_retried() {
    require_criu!();
    let rt = Runtime::new();
    let data = tempfile::tempdir().unwrap();
    let images = tempfile::tempdir().unwrap();
    let img = images.path().to_str().unwrap();
    let b = counter(data.path(), 10_000);
    rt.track(&b);
    let bundle = b.path().to_str().unwrap();
    run_and_checkpoint(&rt, &b, data.path(), img, 3);

    // The executable the checkpoint maps is gone from the rootfs: CRIU
    // fails after the runtime made the state dir and cgroup.
    let busybox = b.rootfs().join("bin/busybox");
    let aside = b.path().join("busybox.aside");
    std::fs::rename(&busybox, &aside).unwrap();
    let out = rt.run(&["restore", "-d", "--image-path", img, "-b", bundle, &b.id]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("restore: criu failed") && err.contains("restore.log"),
        "{err}"
    );
    assert!(!rt.state_dir(&b.id).exists(), "state dir left behind");
    assert!(!cgroup_exists(&b.cgroups_path), "cgroup left behind");

    std::fs::rename(&aside, &busybox).unwrap();
    let n = counted(data.path()).len();
    rt.ok(&["restore", "-d", "--image-path", img, "-b", bundle, &b.id]);
    assert_consecutive(&wait_count(data.path(), n + 3));
}
