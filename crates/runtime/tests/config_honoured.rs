//! What `config.json` asks for is what the process inside sees: hostname,
//! mounts, read-only root, user, capabilities, rlimits, cgroup limits,
//! namespaces, sysctls, masked paths.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::json;

/// Run `b` in the foreground; returns (exit code, stdout, stderr).
fn run_bundle(rt: &Runtime, b: &Bundle) -> (i32, String, String) {
    b.write_config().unwrap();
    rt.track(b);
    let out = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

#[test]
fn hostname_domainname_env_and_cwd() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "hostname; cat /proc/sys/kernel/domainname; echo $GREETING; pwd",
    ]);
    b.config["hostname"] = json!("boat");
    b.config["domainname"] = json!("harbour.test");
    b.config["process"]["env"] = json!(["PATH=/bin:/usr/bin", "GREETING=ahoy"]);
    b.config["process"]["cwd"] = json!("/tmp");
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "boat\nharbour.test\nahoy\n/tmp\n");
}

#[test]
fn root_is_read_only_and_mounts_are_in_place() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let host_dir = tempfile::tempdir().unwrap();
    std::fs::write(host_dir.path().join("note"), "from host").unwrap();
    let mut b = bundle(&[
        "sh",
        "-c",
        "touch /x 2>/dev/null && echo root-writable; cat /data/note; echo; touch /data/y 2>/dev/null && echo data-writable; \
         grep -c ' /proc proc ' /proc/self/mounts; ls /dev/null /dev/zero /dev/urandom /dev/tty >/dev/null && echo devices; \
         readlink /dev/fd; test -d /dev/pts && echo pts; test -d /dev/shm && echo shm; touch /scratch/z && echo tmpfs-writable",
    ]);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    mounts.push(json!({"destination": "/data", "type": "bind", "source": host_dir.path(), "options": ["rbind", "ro"]}));
    mounts.push(json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]}));
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "from host\n1\ndevices\n/proc/self/fd\npts\nshm\ntmpfs-writable\n"
    );
    assert!(!host_dir.path().join("y").exists());
}

#[test]
fn masked_and_readonly_paths() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo sys-ro",
    ]);
    b.config["linux"]["maskedPaths"] = json!(["/proc/kcore", "/sys/firmware", "/does/not/exist"]);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["0", "0", "sys-ro"]
    );
}

#[test]
fn capabilities_user_groups_umask_and_rlimits() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "grep -E '^Cap(Inh|Prm|Eff|Bnd|Amb)' /proc/self/status; id; umask; ulimit -n; ulimit -Hn",
    ]);
    b.config["process"]["user"] =
        json!({"uid": 1000, "gid": 1000, "additionalGids": [10], "umask": 63});
    b.config["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 512, "hard": 768}]);
    b.config["process"]["noNewPrivileges"] = json!(false);
    let caps = json!(["CAP_KILL", "CAP_NET_BIND_SERVICE"]);
    b.config["process"]["capabilities"] = json!({"bounding": caps, "effective": caps, "permitted": caps, "inheritable": caps, "ambient": caps});
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    // CAP_KILL = 5, CAP_NET_BIND_SERVICE = 10.
    let mask = "0000000000000420";
    for set in ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert!(
            out.contains(&format!("{set}:\t{mask}")),
            "{set} wrong in:\n{out}"
        );
    }
    assert!(
        out.contains("uid=1000(berth) gid=1000(berth) groups=10(wheel)"),
        "{out}"
    );
    assert!(out.contains("\n0077\n512\n768\n"), "{out}");
}

#[test]
fn no_new_privileges_is_set() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["grep", "NoNewPrivs", "/proc/self/status"]);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["NoNewPrivs:", "1"]
    );
}

#[test]
fn cgroup_limits_are_applied() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/cpu/cpu.shares \
         /sys/fs/cgroup/cpu/cpu.cfs_quota_us; cat /proc/self/cgroup | grep memory",
    ]);
    b.config["linux"]["resources"] = json!({
        "devices": [{"allow": false, "access": "rwm"}],
        "memory": {"limit": 67108864},
        "pids": {"limit": 32},
        "cpu": {"shares": 512, "quota": 50000, "period": 100000}
    });
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(&lines[..4], ["67108864", "32", "512", "50000"], "{out}");
    // Inside its cgroup namespace the container sees itself at the root.
    assert!(lines[4].ends_with(":memory:/"), "{out}");
    // And on the host the limit sits on the container's own cgroup.
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn device_allow_list_blocks_other_devices() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "head -c1 /dev/zero | wc -c; head -c1 /dev/loop0 2>&1 | grep -c 'Operation not permitted'",
    ]);
    b.config["linux"]["devices"] =
        json!([{"path": "/dev/loop0", "type": "b", "major": 7, "minor": 0, "fileMode": 0o660}]);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\n1\n", "the node exists but the cgroup denies it");
}

#[test]
fn sysctl_is_written_in_the_container_namespace() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "cat",
        "/proc/sys/net/ipv4/ip_forward",
        "/proc/sys/kernel/msgmax",
    ]);
    b.config["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1", "kernel.msgmax": "4096"});
    let host_forward = std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap();
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\n4096\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_forward").unwrap(),
        host_forward
    );
}

#[test]
fn pid_namespace_makes_the_process_pid_1_and_network_is_isolated() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sh", "-c", "echo $$; ls /sys/class/net"]);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\nlo\n");
}

#[test]
fn joins_another_containers_network_namespace_by_path() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let a = bundle(&["sleep", "60"]);
    rt.track(&a);
    rt.ok(&["run", "-d", "-b", a.path().to_str().unwrap(), &a.id]);
    let pid = rt.state(&a.id)["pid"].as_i64().unwrap();
    let a_net = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();

    let mut b = bundle(&["readlink", "/proc/self/ns/net"]);
    let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != "network");
    ns.push(json!({"type": "network", "path": format!("/proc/{pid}/ns/net")}));
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), a_net.to_str().unwrap());
    rt.ok(&["delete", "--force", &a.id]);
    reap(pid as i32);
}

#[test]
fn user_namespace_maps_ids() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "cat /proc/self/uid_map /proc/self/gid_map; id -u",
    ]);
    b.config["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 65536}]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    // cgroup v1 cannot be mounted from a user namespace; runc users drop it too.
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .retain(|m| m["type"] != "cgroup");
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    let words: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        words,
        ["0", "100000", "65536", "0", "100000", "65536", "0"],
        "{out}"
    );
}

#[test]
fn time_namespace_offsets_the_monotonic_clock() {
    require!(is_root(), "needs root");
    require!(
        std::path::Path::new("/proc/self/ns/time").exists(),
        "kernel without time namespaces"
    );
    let rt = Runtime::new();
    let mut b = bundle(&["cut", "-d.", "-f1", "/proc/uptime"]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "time"}));
    b.config["linux"]["timeOffsets"] = json!({"boottime": {"secs": 86400000, "nanosecs": 0}});
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    let up: u64 = out.trim().parse().unwrap();
    assert!(
        up >= 86400000,
        "uptime {up} should include the 1000-day offset"
    );
}

#[test]
fn idmapped_bind_mount_shifts_owners() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let host = tempfile::tempdir().unwrap();
    std::fs::write(host.path().join("root-file"), "x").unwrap();
    let user_file = host.path().join("user-file");
    std::fs::write(&user_file, "x").unwrap();
    nix::unistd::chown(&user_file, Some(1000.into()), Some(1000.into())).unwrap();
    let mut b = bundle(&[
        "sh",
        "-c",
        "stat -c '%u:%g' /data/root-file /data/user-file /plain/root-file /plain/user-file",
    ]);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    // On-disk id 0 (containerID) shows as 1000 (hostID) through the mount.
    mounts.push(json!({
        "destination": "/data", "type": "bind", "source": host.path(), "options": ["rbind"],
        "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
        "gidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}]
    }));
    mounts.push(json!({"destination": "/plain", "type": "bind", "source": host.path(), "options": ["rbind"]}));
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1000:1000\n65534:65534\n0:0\n1000:1000\n");
    // Nothing changed on disk.
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&user_file).unwrap().uid(), 1000);
    assert_eq!(
        std::fs::metadata(host.path().join("root-file"))
            .unwrap()
            .uid(),
        0
    );
}
