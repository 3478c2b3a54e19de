//! config-linux.md and runtime-linux.md, clause by clause: the root's
//! mount propagation, `/proc` as a real procfs, the pids limit as the
//! container reads it back, devices, the default devices and links, and —
//! where this host cannot do what a config asks — an error naming what is
//! missing, with nothing left behind.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::{json, Value};

fn run_bundle(rt: &Runtime, b: &Bundle) -> (i32, String, String) {
    b.write_config().unwrap();
    rt.track(b);
    let out = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

/// Create `b`, expect an error containing every one of `needles`, and
/// check nothing of the container is left.
fn assert_refused(rt: &Runtime, b: &Bundle, needles: &[&str]) {
    b.write_config().unwrap();
    rt.track(b);
    let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success(), "create should fail: {needles:?}");
    for needle in needles {
        assert!(
            stderr(&out).contains(needle),
            "{needle:?} not in {}",
            stderr(&out)
        );
    }
    assert!(!rt.state_dir(&b.id).exists(), "state dir left");
    assert!(!cgroup_exists(&b.cgroups_path), "cgroup left");
}

/// The optional fields of the mountinfo line of `/` (`shared:N`,
/// `master:N`, `unbindable` or nothing for private).
fn root_propagation(mountinfo: &str) -> String {
    let line = mountinfo
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some("/"))
        .unwrap_or_else(|| panic!("no / in {mountinfo}"));
    let head = line.split(" - ").next().unwrap();
    head.split(' ').skip(6).collect::<Vec<_>>().join(" ")
}

/// A tmpfs mounted shared on the host for the test's bundles, so that
/// `slave` has a master to follow and `shared` a host peer group that must
/// not receive anything. Unmounted on drop.
struct SharedMount(tempfile::TempDir);

impl SharedMount {
    fn new() -> SharedMount {
        use nix::mount::{mount, MsFlags};
        let dir = tempfile::tempdir().unwrap();
        mount(
            Some("tmpfs"),
            dir.path(),
            Some("tmpfs"),
            MsFlags::empty(),
            None::<&str>,
        )
        .unwrap();
        mount(
            None::<&str>,
            dir.path(),
            None::<&str>,
            MsFlags::MS_SHARED,
            None::<&str>,
        )
        .unwrap();
        SharedMount(dir)
    }

    /// Host mountinfo lines at or below the shared mount.
    fn host_mounts(&self) -> usize {
        let me = self.0.path().to_str().unwrap();
        std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap()
            .lines()
            .filter(|l| l.split(' ').nth(4).is_some_and(|p| p.starts_with(me)))
            .count()
    }
}

impl Drop for SharedMount {
    fn drop(&mut self) {
        let _ = nix::mount::umount2(self.0.path(), nix::mount::MntFlags::MNT_DETACH);
    }
}

#[test]
fn rootfs_propagation_is_what_the_config_asks_for() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let shared = SharedMount::new();
    // runtime-tools' check: a mount under / shows up in a bind of / only
    // when / is shared; / cannot be bound at all when unbindable.
    let script = "cat /proc/self/mountinfo; echo ===; \
        mkdir -p /target /mnt1 /test && touch /test/example; \
        if ! mount --rbind / /target 2>/dev/null; then echo bind-refused; exit 0; fi; \
        mount --rbind /test /mnt1; \
        test -e /target/mnt1/example && echo propagated || echo isolated";
    for (mode, want_field, want_seen) in [
        ("shared", "shared:", "propagated"),
        ("slave", "master:", "isolated"),
        ("private", "", "isolated"),
        ("unbindable", "unbindable", "bind-refused"),
    ] {
        let mut b = Bundle::new_in(shared.0.path(), &["sh", "-c", script]).unwrap();
        b.config["root"]["readonly"] = json!(false);
        b.config["linux"]["rootfsPropagation"] = json!(mode);
        let caps = json!(["CAP_SYS_ADMIN"]);
        b.config["process"]["capabilities"] =
            json!({"bounding": caps, "effective": caps, "permitted": caps});
        let before = shared.host_mounts();
        let (code, out, err) = run_bundle(&rt, &b);
        assert_eq!(code, 0, "{mode}: {err}");
        let (info, seen) = out.split_once("===\n").unwrap();
        let fields = root_propagation(info);
        if want_field.is_empty() {
            assert!(
                !fields.contains("shared:") && !fields.contains("master:"),
                "{mode}: / has {fields:?}"
            );
        } else {
            assert!(fields.contains(want_field), "{mode}: / has {fields:?}");
        }
        assert_eq!(seen.trim(), want_seen, "{mode}");
        // Nothing the container mounted reached the host's peer group.
        assert_eq!(
            shared.host_mounts(),
            before,
            "{mode}: mounts leaked to the host"
        );
    }
}

#[test]
fn rootfs_propagation_of_an_unknown_kind_is_refused() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["linux"]["rootfsPropagation"] = json!("sideways");
    assert_refused(&rt, &b, &["linux.rootfsPropagation", "sideways"]);
}

#[test]
fn proc_is_a_real_procfs_of_the_container() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&[
        "sh",
        "-c",
        "stat -f -c %t /proc; cat /proc/1/comm; grep ' /proc ' /proc/self/mounts | cut -d' ' -f3",
    ]);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out, "9fa0\nsh\nproc\n",
        "procfs magic, our pid 1, type proc"
    );

    // Anything else at /proc is refused, however the path is spelt.
    for dest in ["/proc", "/proc/", "/tmp/../proc"] {
        let mut b = bundle(&["true"]);
        b.config["mounts"]
            .as_array_mut()
            .unwrap()
            .push(json!({"destination": dest, "type": "tmpfs", "source": "tmpfs"}));
        assert_refused(&rt, &b, &["/proc must be a proc file system"]);
    }
    let host_dir = tempfile::tempdir().unwrap();
    let mut b = bundle(&["true"]);
    b.config["mounts"][0] = json!({"destination": "/proc", "type": "bind", "source": host_dir.path(), "options": ["rbind"]});
    assert_refused(&rt, &b, &["/proc must be a proc file system"]);

    // A link in the image that leads a tmpfs onto /proc is caught after
    // pivot_root: the runtime checks /proc is procfs before writing to it.
    let mut b = bundle(&["true"]);
    std::os::unix::fs::symlink("/proc", b.rootfs().join("fakeproc")).unwrap();
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/fakeproc", "type": "tmpfs", "source": "tmpfs"}));
    assert_refused(
        &rt,
        &b,
        &["/proc in the container is not a proc file system"],
    );
}

#[test]
fn pids_limit_reads_back_inside_the_container_and_on_the_host() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    for (cgroupns, limit, want) in [
        (false, json!(1000), "1000"),
        (false, json!(0), "max"),
        (false, json!(-1), "max"),
        (true, json!(7), "7"),
    ] {
        // Without a cgroup namespace (runtime-tools' default config) the
        // container's own cgroup is bound at /sys/fs/cgroup/pids; with one
        // the hierarchy is mounted with the container's cgroup as its root.
        let mut b = bundle(&["cat", "/sys/fs/cgroup/pids/pids.max"]);
        if !cgroupns {
            b.config["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "cgroup");
        }
        b.config["linux"]["resources"]["pids"] = json!({"limit": limit});
        let (code, out, err) = run_bundle(&rt, &b);
        assert_eq!((code, out.trim()), (0, want), "{limit}: {err}");
    }
    // From the host, at the absolute cgroupsPath under the hierarchy.
    let mut b = bundle(&["true"]);
    b.config["linux"]["resources"]["pids"] = json!({"limit": 1000});
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let host = format!("/sys/fs/cgroup/pids{}/pids.max", b.cgroups_path);
    let read = std::fs::read_to_string(&host);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
    assert_eq!(read.unwrap().trim(), "1000", "{host}");
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn what_this_host_cannot_limit_fails_naming_the_missing_feature() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let blkio = std::path::Path::new("/sys/fs/cgroup/blkio");
    let mut cases: Vec<(Value, Vec<&str>)> = Vec::new();
    if !blkio.join("blkio.leaf_weight").exists() {
        cases.push((
            json!({"blockIO": {"leafWeight": 300}}),
            vec!["blockIO.leafWeight", "blkio.leaf_weight", "CFQ"],
        ));
        cases.push((
            json!({"blockIO": {"weightDevice": [{"major": 8, "minor": 0, "leafWeight": 300}]}}),
            vec![
                "blockIO.weightDevice.leafWeight",
                "blkio.leaf_weight_device",
            ],
        ));
    }
    if !std::path::Path::new("/sys/fs/cgroup/net_cls").exists() {
        cases.push((
            json!({"network": {"classID": 1048577}}),
            vec!["network.classID", "net_cls controller is not available"],
        ));
    }
    if !std::path::Path::new("/sys/fs/cgroup/net_prio").exists() {
        cases.push((
            json!({"network": {"priorities": [{"name": "lo", "priority": 1}]}}),
            vec!["network.priorities", "net_prio controller is not available"],
        ));
    }
    // Kernels since 5.16 keep memory.kmem.limit_in_bytes but ignore it.
    cases.push((
        json!({"memory": {"kernel": 67108864}}),
        vec!["memory.kernel", "no kernel memory accounting on cgroup v1"],
    ));
    cases.push((
        json!({"hugepageLimits": [{"pageSize": "64KB", "limit": 1048576}]}),
        vec!["hugepageLimits", "no 64KB huge pages"],
    ));
    assert!(!cases.is_empty());
    for (resources, needles) in cases {
        let mut b = bundle(&["true"]);
        b.config["linux"]["resources"] = resources;
        assert_refused(&rt, &b, &needles);
    }
    if !std::path::Path::new("/sys/fs/resctrl/schemata").exists() {
        let mut b = bundle(&["true"]);
        b.config["linux"]["intelRdt"] = json!({"closID": "berth-test"});
        assert_refused(&rt, &b, &["linux.intelRdt", "no resctrl file system"]);
    }
}

#[test]
fn blkio_weight_lands_where_this_kernel_has_it() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["linux"]["resources"]["blockIO"] = json!({"weight": 300});
    b.write_config().unwrap();
    rt.track(&b);
    let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let dir = format!("/sys/fs/cgroup/blkio{}", b.cgroups_path);
    if out.status.success() {
        let read = std::fs::read_to_string(format!("{dir}/blkio.weight"))
            .or_else(|_| std::fs::read_to_string(format!("{dir}/blkio.bfq.weight")));
        let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
        rt.ok(&["delete", "--force", &b.id]);
        reap(pid);
        // bfq prints "default 300".
        assert!(read.unwrap().trim().ends_with("300"));
    } else {
        // A kernel without CFQ or BFQ: the error names what is missing.
        assert!(stderr(&out).contains("no proportional-weight I/O scheduler"));
        assert!(!rt.state_dir(&b.id).exists());
    }
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn hugetlb_limits_land_where_this_host_has_the_controller() {
    require!(is_root(), "needs root");
    require!(
        std::path::Path::new("/sys/kernel/mm/hugepages/hugepages-2048kB").exists(),
        "no 2MB huge pages"
    );
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["linux"]["resources"]["hugepageLimits"] =
        json!([{"pageSize": "2MB", "limit": 4194304}]);
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    // A v1 hugetlb hierarchy, or (hybrid hosts like this one) the unified.
    let v1 = format!(
        "/sys/fs/cgroup/hugetlb{}/hugetlb.2MB.limit_in_bytes",
        b.cgroups_path
    );
    let v2 = format!("/sys/fs/cgroup/unified{}/hugetlb.2MB.max", b.cgroups_path);
    let read = std::fs::read_to_string(&v1).or_else(|_| std::fs::read_to_string(&v2));
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
    assert_eq!(read.expect("no hugetlb limit file").trim(), "4194304");
}

#[test]
fn devices_default_devices_and_dev_links() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "for d in null zero full random urandom tty loop7 fifo; do stat -c '%n %F %t:%T %a %u' /dev/$d; done; \
         for l in fd stdin stdout stderr ptmx; do echo $l $(readlink /dev/$l); done",
    ]);
    b.config["linux"]["devices"] = json!([
        {"path": "/dev/loop7", "type": "b", "major": 7, "minor": 7, "fileMode": 0o640, "uid": 1000},
        {"path": "/dev/fifo", "type": "p"}
    ]);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    let want = "\
/dev/null character special file 1:3 666 0
/dev/zero character special file 1:5 666 0
/dev/full character special file 1:7 666 0
/dev/random character special file 1:8 666 0
/dev/urandom character special file 1:9 666 0
/dev/tty character special file 5:0 666 0
/dev/loop7 block special file 7:7 640 1000
/dev/fifo fifo 0:0 666 0
fd /proc/self/fd
stdin /proc/self/fd/0
stdout /proc/self/fd/1
stderr /proc/self/fd/2
ptmx pts/ptmx
";
    assert_eq!(out, want);

    // A file already at a device's path that is not that device: an error.
    let mut b = bundle(&["true"]);
    b.config["linux"]["devices"] =
        json!([{"path": "/etc/passwd", "type": "c", "major": 1, "minor": 3}]);
    let before = std::fs::read(b.rootfs().join("etc/passwd")).unwrap();
    assert_refused(
        &rt,
        &b,
        &["/etc/passwd already exists and is not the requested device"],
    );
    assert_eq!(
        std::fs::read(b.rootfs().join("etc/passwd")).unwrap(),
        before
    );
}

#[test]
fn oom_score_adj_is_set_only_when_asked() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["cat", "/proc/self/oom_score_adj"]);
    b.config["process"]["oomScoreAdj"] = json!(500);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!((code, out.as_str()), (0, "500\n"), "{err}");
    let b = bundle(&["cat", "/proc/self/oom_score_adj"]);
    let ours = std::fs::read_to_string("/proc/self/oom_score_adj").unwrap();
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!((code, out), (0, ours), "{err}");
}

#[test]
fn mounts_are_made_in_the_listed_order() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["sh", "-c", "cat /a/which; ls /a/b"]);
    let mounts = b.config["mounts"].as_array_mut().unwrap();
    let first = tempfile::tempdir().unwrap();
    std::fs::write(first.path().join("which"), "first\n").unwrap();
    let second = tempfile::tempdir().unwrap();
    std::fs::write(second.path().join("which"), "second\n").unwrap();
    std::fs::create_dir(second.path().join("b")).unwrap();
    mounts.push(
        json!({"destination": "/a", "type": "bind", "source": first.path(), "options": ["rbind"]}),
    );
    mounts.push(
        json!({"destination": "/a", "type": "bind", "source": second.path(), "options": ["rbind"]}),
    );
    mounts.push(json!({"destination": "/a/b", "type": "tmpfs", "source": "tmpfs"}));
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!((code, out.as_str()), (0, "second\n"), "{err}");
}

#[test]
fn only_stdio_is_open_in_the_process() {
    require!(is_root(), "needs root");
    // The shell's own descriptors (`; true` keeps it from exec'ing ls).
    let rt = Runtime::new();
    let b = bundle(&["sh", "-c", "ls /proc/$$/fd; true"]);
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!((code, out.as_str()), (0, "0\n1\n2\n"), "{err}");
}
