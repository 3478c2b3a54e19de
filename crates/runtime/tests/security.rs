//! Known attacks on runtimes, each a test that fails on a runtime without
//! the defence, and the remaining confinement fields.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::json;

fn run_bundle(rt: &Runtime, b: &Bundle) -> (i32, String, String) {
    b.write_config().unwrap();
    rt.track(b);
    let out = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

fn assert_refused(b: &Bundle, needle: &str) {
    let rt = Runtime::new();
    let (code, _, err) = run_bundle(&rt, b);
    assert_ne!(code, 0);
    assert!(err.contains(needle), "{needle:?} not in {err:?}");
    assert!(!rt.state_dir(&b.id).exists(), "no state left");
    assert!(!cgroup_exists(&b.cgroups_path), "no cgroup left");
}

/// CVE-2019-5736: while a created container's init is still the runtime's
/// image, a process of the container must not reach the runtime binary
/// through /proc/1/exe (to overwrite it once it is no longer busy).
#[test]
fn runtime_binary_is_unreachable_through_proc_exe() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["true"]);
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    let out = rt.run(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "cat /proc/1/exe > /dev/null 2>&1 && echo readable || echo blocked",
    ]);
    assert_eq!(stdout(&out), "blocked\n", "{}", stderr(&out));
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
}

/// CVE-2024-21626: no descriptor of the runtime reaches the container, and
/// `process.cwd` resolves inside the container's root.
#[test]
fn no_runtime_descriptor_leaks_and_cwd_stays_inside() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["ls", "/proc/self/fd"]);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "1", "2", "3"],
        "only stdio and ls's own dir"
    );

    let mut b = bundle(&["pwd"]);
    b.config["process"]["cwd"] = json!("/proc/self/fd/7");
    assert_refused(&b, "chdir to cwd /proc/self/fd/7");
}

/// CVE-2021-30465 and kin: a rootfs that plants symlinks pointing out of
/// itself gets the mounts inside itself, never on the host.
#[test]
fn symlinked_mount_destinations_stay_in_the_rootfs() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let name = berth_testkit::unique_name("berth-escape");
    let mut b = bundle(&["sh", "-c", "grep -c berth-escape /proc/mounts"]);
    std::os::unix::fs::symlink("/", b.rootfs().join("escape")).unwrap();
    std::os::unix::fs::symlink("../../../../../../../tmp", b.rootfs().join("up")).unwrap();
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(
        json!({"destination": format!("/escape/{name}"), "type": "tmpfs", "source": "tmpfs"}),
    );
    mounts.push(json!({"destination": format!("/up/{name}"), "type": "tmpfs", "source": "tmpfs"}));
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "2", "both mounts exist inside the container");
    assert!(
        !std::path::Path::new("/").join(&name).exists(),
        "nothing made at the host's /"
    );
    assert!(
        !std::path::Path::new("/tmp").join(&name).exists(),
        "nothing made in the host's /tmp"
    );
    assert!(b.rootfs().join(&name).is_dir() && b.rootfs().join("tmp").join(&name).is_dir());
}

#[test]
fn fake_proc_and_sys_are_refused() {
    require!(is_root(), "needs root");
    let mut b = bundle(&["true"]);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/proc");
    mounts.push(json!({"destination": "/proc", "type": "tmpfs", "source": "tmpfs"}));
    assert_refused(&b, "/proc must be a proc file system");

    let mut b = bundle(&["true"]);
    let host = tempfile::tempdir().unwrap();
    b.config["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/proc/self/attr", "type": "bind", "source": host.path(), "options": ["rbind"]}),
    );
    assert_refused(&b, "only a few files under /proc");

    let mut b = bundle(&["true"]);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.retain(|m| m["destination"] != "/sys" && m["destination"] != "/sys/fs/cgroup");
    mounts.push(json!({"destination": "/sys", "type": "tmpfs", "source": "tmpfs"}));
    assert_refused(&b, "/sys must be sysfs");
}

#[test]
fn personality_io_priority_and_scheduler() {
    require!(is_root(), "needs root");
    require!(
        std::env::consts::ARCH == "x86_64",
        "LINUX32 check written for x86_64"
    );
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "uname -m; ionice; cut -d' ' -f41 /proc/self/stat",
    ]);
    b.config["linux"]["personality"] = json!({"domain": "LINUX32"});
    b.config["process"]["ioPriority"] = json!({"class": "IOPRIO_CLASS_IDLE", "priority": 0});
    b.config["process"]["scheduler"] = json!({"policy": "SCHED_BATCH"});
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "i686", "{out}");
    assert!(lines[1].contains("idle"), "{out}");
    assert_eq!(lines[2], "3", "SCHED_BATCH is policy 3: {out}");
}

#[test]
fn lsm_fields_are_ignored_where_the_host_has_no_lsm() {
    require!(is_root(), "needs root");
    require!(
        !std::path::Path::new("/sys/fs/selinux/enforce").exists()
            && std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
                .map(|s| s.trim() != "Y")
                .unwrap_or(true),
        "host runs an LSM"
    );
    let rt = Runtime::new();
    let mut b = bundle(&["echo", "ok"]);
    b.config["process"]["apparmorProfile"] = json!("berth-default");
    b.config["process"]["selinuxLabel"] = json!("system_u:system_r:container_t:s0");
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "ok\n");
}

#[test]
fn intel_rdt_without_resctrl_names_the_field() {
    require!(is_root(), "needs root");
    require!(
        !std::path::Path::new("/sys/fs/resctrl/schemata").exists(),
        "host has resctrl"
    );
    let mut b = bundle(&["true"]);
    b.config["linux"]["intelRdt"] = json!({"l3CacheSchema": "L3:0=ff"});
    assert_refused(&b, "linux.intelRdt");
}
