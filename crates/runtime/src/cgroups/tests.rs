//! Tests of the cgroups module. The pure ones (parsing, path resolution,
//! device rules, BPF program shape, v2 file writing over a temporary
//! directory) run anywhere; the real ones create cgroups under
//! `/berth-test/<unique>` on this host, apply limits, move a sleeping child
//! in, freeze it, read stats and destroy, and skip (saying why) where the
//! kernel or the privileges are missing.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

use oci_spec::runtime::LinuxResources;

use super::devices::{self, DeviceState};
use super::layout::{self, CgroupPath};
use super::*;

const HYBRID_MOUNTINFO: &str = "\
25 1 8:1 / / rw,relatime - ext4 /dev/vda rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
36 31 0:33 / /sys/fs/cgroup/net_cls,net_prio rw,relatime shared:9 - cgroup cgroup rw,net_cls,net_prio
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
42 31 0:39 / /sys/fs/cgroup/other rw,relatime - cgroup cgroup rw,name=other
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

fn resources(json: &str) -> LinuxResources {
    serde_json::from_str(json).expect("test resources parse")
}

#[test]
fn mountinfo_hybrid_layout() {
    let l = Layout::from_mountinfo(HYBRID_MOUNTINFO).unwrap();
    assert_eq!(l.mode, Mode::Hybrid);
    let names: Vec<&str> = l.v1.iter().map(|m| m.controllers.as_str()).collect();
    assert_eq!(
        names,
        [
            "cpu",
            "cpuacct",
            "memory",
            "net_cls,net_prio",
            "name=systemd"
        ]
    );
    assert_eq!(
        l.v1[3].mountpoint,
        Path::new("/sys/fs/cgroup/net_cls,net_prio")
    );
    assert_eq!(
        l.unified.as_ref().unwrap().mountpoint,
        Path::new("/sys/fs/cgroup/unified")
    );
    let v2 = Layout::from_mountinfo(
        "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n",
    )
    .unwrap();
    assert_eq!(v2.mode, Mode::Unified);
    assert!(matches!(
        Layout::from_mountinfo("25 1 8:1 / / rw - ext4 /dev/vda rw\n"),
        Err(Error::NoCgroupMounts)
    ));
}

#[test]
fn cgroups_path_forms() {
    use CgroupPath::*;
    let p = |s| layout::parse_cgroups_path(s, "ctr").unwrap();
    assert_eq!(p(""), Relative("ctr".into()));
    assert_eq!(p("/a/b/../c/"), Absolute("/a/c".into()));
    assert_eq!(p("/../../x"), Absolute("/x".into()));
    assert_eq!(p("a/b"), Relative("a/b".into()));
    assert_eq!(
        p("machine.slice:libpod:abc"),
        Absolute("/machine.slice/libpod-abc.scope".into())
    );
    assert_eq!(
        p("user-1000.slice:crio:x"),
        Absolute("/user.slice/user-1000.slice/crio-x.scope".into())
    );
    assert_eq!(
        p(":podman:x"),
        Absolute("/system.slice/podman-x.scope".into())
    );
    assert_eq!(p("-.slice::x.slice"), Absolute("/x.slice".into()));
    for bad in ["/", "/..", "bad-.slice:p:n", "a--b.slice:p:n", "x.slice:p:"] {
        assert!(
            matches!(
                layout::parse_cgroups_path(bad, "ctr"),
                Err(Error::InvalidPath { .. })
            ),
            "{bad} accepted"
        );
    }
}

#[test]
fn relative_paths_join_own_cgroup() {
    let own_text = "4:memory:/process_api/abc\n1:cpu:/\n0::/user.slice\n";
    let own = layout::parse_proc_cgroup(own_text);
    let l = Layout::from_mountinfo(HYBRID_MOUNTINFO).unwrap();
    let rel = CgroupPath::Relative("ctr".into());
    let mem = &l.v1[2];
    let dir = layout::cgroup_dir(mem, &rel, layout::own_path(&own, "memory")).unwrap();
    assert_eq!(dir, Path::new("/sys/fs/cgroup/memory/process_api/abc/ctr"));
    let u = l.unified.as_ref().unwrap();
    let dir = layout::cgroup_dir(u, &rel, layout::own_path(&own, "")).unwrap();
    assert_eq!(dir, Path::new("/sys/fs/cgroup/unified/user.slice/ctr"));
    // Hierarchies with several controllers match whatever their order.
    let own = layout::parse_proc_cgroup("7:net_prio,net_cls:/x\n");
    assert_eq!(layout::own_path(&own, "net_cls,net_prio"), Some("/x"));
    // A mount of a sub-cgroup shows it at its root.
    let m = Mount {
        controllers: "cpu".into(),
        mountpoint: "/sys/fs/cgroup/cpu".into(),
        root: "/docker/abc".into(),
    };
    let dir = layout::cgroup_dir(&m, &rel, Some("/docker/abc/sub")).unwrap();
    assert_eq!(dir, Path::new("/sys/fs/cgroup/cpu/sub/ctr"));
    let abs = CgroupPath::Absolute("/berth-test/x".into());
    let dir = layout::cgroup_dir(&m, &abs, None).unwrap();
    assert_eq!(dir, Path::new("/sys/fs/cgroup/cpu/berth-test/x"));
}

const PODMAN_DEVICES: &str = r#"{"devices":[{"allow":false,"access":"rwm"},
    {"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"}],
    "pids":{"limit":2048}}"#;

#[test]
fn device_rules_like_runc() {
    let r = resources(PODMAN_DEVICES);
    let s = DeviceState::from_spec(r.devices().as_deref().unwrap()).unwrap();
    assert!(!s.default_allow);
    assert_eq!(
        devices::lines(&s),
        [
            "c 10:229 rwm",
            "c *:* m",
            "b *:* m",
            "c 1:3 rwm",
            "c 1:8 rwm",
            "c 1:7 rwm",
            "c 5:0 rwm",
            "c 1:5 rwm",
            "c 1:9 rwm",
            "c 136:* rwm",
            "c 5:2 rwm",
            "c 10:200 rwm",
        ]
    );
    // No rules at all still means deny-all plus the defaults.
    let none = DeviceState::from_spec(&[]).unwrap();
    assert!(!none.default_allow);
    assert_eq!(none.exceptions.len(), 11);
    // Privileged: allow everything; the defaults change nothing.
    let r = resources(r#"{"devices":[{"allow":true,"access":"rwm"}]}"#);
    let s = DeviceState::from_spec(r.devices().as_deref().unwrap()).unwrap();
    assert!(s.default_allow);
    assert!(s.exceptions.is_empty());
    // A deny after an allow of the same device takes access away.
    let r = resources(
        r#"{"devices":[{"allow":true,"type":"b","major":8,"minor":0,"access":"rw"},
        {"allow":false,"type":"b","major":8,"minor":0,"access":"w"}]}"#,
    );
    let s = DeviceState::from_spec(r.devices().as_deref().unwrap()).unwrap();
    assert_eq!(devices::lines(&s)[0], "b 8:0 r");
    let r = resources(r#"{"devices":[{"allow":true,"type":"c","access":"rwx"}]}"#);
    assert!(DeviceState::from_spec(r.devices().as_deref().unwrap()).is_err());
}

#[test]
fn bpf_program_shape() {
    let r = resources(
        r#"{"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":1,"minor":3,"access":"rwm"}]}"#,
    );
    let s = DeviceState::from_spec(r.devices().as_deref().unwrap()).unwrap();
    let p = devices_bpf::program(&s);
    // 6 prologue + per exception (type, [3 access], [major], [minor], mov,
    // exit) + default mov, exit.
    let expected: usize = 6
        + s.exceptions
            .iter()
            .map(|e| {
                3 + if e.access == 7 { 0 } else { 3 }
                    + usize::from(e.major.is_some())
                    + usize::from(e.minor.is_some())
            })
            .sum::<usize>()
        + 2;
    assert_eq!(p.len(), expected);
}

#[test]
fn conversions_like_runc() {
    assert_eq!(v2::shares_to_weight(1024), 100);
    assert_eq!(v2::shares_to_weight(2), 1);
    assert_eq!(v2::shares_to_weight(262_144), 10_000);
    assert_eq!(v2::blkio_to_io_weight(10), 1);
    assert_eq!(v2::blkio_to_io_weight(1000), 10_000);
    assert_eq!(v2::swap_v2(0, -1).unwrap(), -1);
    assert_eq!(v2::swap_v2(300, 100).unwrap(), 200);
    assert!(v2::swap_v2(50, 100).is_err());
    assert!(v2::swap_v2(50, 0).is_err());
    assert_eq!(stats::page_size_name(2048), "2MB");
    assert_eq!(stats::page_size_name(1 << 20), "1GB");
    assert_eq!(stats::page_size_name(64), "64KB");
}

/// A temporary directory laid out like a cgroup2 mount: the files a v2
/// apply writes exist (empty), as cgroupfs would have them.
fn fake_v2(files: &[&str]) -> (tempfile::TempDir, Cgroup) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(
        root.join("cgroup.controllers"),
        "cpuset cpu io memory hugetlb pids\n",
    )
    .unwrap();
    std::fs::write(root.join("cgroup.subtree_control"), "").unwrap();
    let parent = root.join("berth-test");
    std::fs::create_dir_all(parent.join("c1")).unwrap();
    std::fs::write(parent.join("cgroup.subtree_control"), "").unwrap();
    for f in files {
        std::fs::write(parent.join("c1").join(f), "").unwrap();
    }
    let layout = Layout {
        mode: Mode::Unified,
        v1: Vec::new(),
        unified: Some(Mount {
            controllers: String::new(),
            mountpoint: root.to_path_buf(),
            root: "/".into(),
        }),
    };
    let cg = Cgroup::with_layout(&layout, "/berth-test/c1", "c1").unwrap();
    (tmp, cg)
}

#[test]
fn v2_files_written_like_runc() {
    let files = [
        "cpu.weight",
        "cpu.max",
        "cpu.max.burst",
        "cpuset.cpus",
        "cpuset.mems",
        "memory.max",
        "memory.swap.max",
        "memory.low",
        "pids.max",
        "io.weight",
        "io.max",
        "hugetlb.2MB.max",
        "memory.high",
    ];
    let (tmp, cg) = fake_v2(&files);
    cg.create().unwrap();
    let root = tmp.path();
    let read = |p: &Path| std::fs::read_to_string(p).unwrap();
    assert_eq!(
        read(&root.join("cgroup.subtree_control")),
        "+cpuset +cpu +io +memory +hugetlb +pids"
    );
    assert_eq!(
        read(&root.join("berth-test/cgroup.subtree_control")),
        "+cpuset +cpu +io +memory +hugetlb +pids"
    );
    let r = resources(
        r#"{"memory":{"limit":104857600,"swap":209715200,"reservation":52428800},
        "cpu":{"shares":1024,"quota":50000,"period":100000,"burst":1000,"cpus":"0","mems":"0"},
        "pids":{"limit":-1},
        "blockIO":{"weight":1000,"throttleReadBpsDevice":[{"major":8,"minor":0,"rate":1048576}]},
        "hugepageLimits":[{"pageSize":"2MB","limit":4194304}],
        "unified":{"memory.high":"94371840"}}"#,
    );
    let dir = cg.unified().unwrap().dir().to_path_buf();
    v2::apply_limits(&dir, &r).unwrap();
    let expect = [
        ("cpu.weight", "100"),
        ("cpu.max", "50000 100000"),
        ("cpu.max.burst", "1000"),
        ("cpuset.cpus", "0"),
        ("cpuset.mems", "0"),
        ("memory.max", "104857600"),
        ("memory.swap.max", "104857600"),
        ("memory.low", "52428800"),
        ("pids.max", "max"),
        ("io.weight", "10000"),
        ("io.max", "8:0 rbps=1048576"),
        ("hugetlb.2MB.max", "4194304"),
        ("memory.high", "94371840"),
    ];
    for (file, value) in expect {
        assert_eq!(read(&dir.join(file)), value, "{file}");
    }
    // Unset fields touch nothing: an empty update writes no file.
    for f in files {
        std::fs::write(dir.join(f), "untouched").unwrap();
    }
    v2::apply_limits(&dir, &LinuxResources::default()).unwrap();
    for f in files {
        assert_eq!(read(&dir.join(f)), "untouched", "{f}");
    }
    // Limits v2 does not have are refused with the field named.
    let rt = resources(r#"{"cpu":{"realtimeRuntime":1000}}"#);
    let e = v2::apply_limits(&dir, &rt).unwrap_err();
    assert!(e.to_string().contains("cpu.realtimeRuntime"), "{e}");
    // A missing knob names its file.
    let e =
        v2::apply_limits(&dir, &resources(r#"{"unified":{"memory.oom.group":"1"}}"#)).unwrap_err();
    assert!(e.to_string().contains("memory.oom.group"), "{e}");
    // State round trip.
    let json = serde_json::to_string(&cg).unwrap();
    assert_eq!(serde_json::from_str::<Cgroup>(&json).unwrap(), cg);
}

#[test]
fn stats_json_uses_runc_names() {
    let mut s = Stats::default();
    s.cpu.usage.total = 5;
    s.cpu.throttling.throttled_periods = 1;
    s.memory.kernel_tcp.limit = 7;
    s.blkio.io_service_bytes_recursive.push(BlkioEntry {
        major: 8,
        minor: 0,
        op: "Read".into(),
        value: 9,
    });
    let v = serde_json::to_value(&s).unwrap();
    assert_eq!(v["cpu"]["usage"]["total"], 5);
    assert_eq!(v["cpu"]["usage"]["kernel"], 0);
    assert_eq!(v["cpu"]["throttling"]["throttledPeriods"], 1);
    assert_eq!(v["memory"]["kernelTCP"]["limit"], 7);
    assert_eq!(v["blkio"]["ioServiceBytesRecursive"][0]["op"], "Read");
    assert!(v["pids"].as_object().unwrap().is_empty());
    assert!(v["memory"].get("raw").is_none());
}

// ---- real cgroups on this host ------------------------------------------

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Why a real test cannot run here, or None. Under CI=true, not being root
/// is a failure: the CI machine runs tests as root.
fn cannot_run() -> Option<&'static str> {
    if !nix::unistd::geteuid().is_root() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cgroup tests need root, and CI runs as root"
        );
        return Some("not root");
    }
    None
}

fn skip(test: &str, why: &str) {
    eprintln!("SKIP {test}: {why}");
}

fn unique(tag: &str) -> String {
    format!(
        "/berth-test/{tag}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// A cgroup and the children put in it, cleaned up even when a test fails.
struct Guard {
    cg: Cgroup,
    children: Vec<Child>,
}

impl Guard {
    fn new(cg: Cgroup) -> Guard {
        Guard {
            cg,
            children: Vec::new(),
        }
    }
    fn sleeper(&mut self) -> i32 {
        let child = Command::new("sleep").arg("1000").spawn().unwrap();
        let pid = child.id() as i32;
        self.children.push(child);
        pid
    }
    fn reap(&mut self) {
        for mut c in self.children.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        // A frozen task cannot die: thaw first.
        let _ = self.cg.thaw();
        self.reap();
        let _ = self.cg.destroy();
    }
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file))
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.join(file).display()))
        .trim()
        .to_owned()
}

fn v1dir(cg: &Cgroup, controller: &str) -> PathBuf {
    cg.v1_dir(controller).unwrap().to_path_buf()
}

fn proc_state(pid: i32) -> String {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find(|l| l.starts_with("State:"))
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn real_v1_lifecycle() {
    if let Some(why) = cannot_run() {
        return skip("real_v1_lifecycle", why);
    }
    let layout = Layout::detect().unwrap();
    if layout.mode == Mode::Unified {
        return skip("real_v1_lifecycle", "host has no v1 hierarchies");
    }
    let path = unique("v1");
    let mut g = Guard::new(Cgroup::new(&path, "ctr").unwrap());
    let cg = g.cg.clone();
    cg.create().unwrap();
    for h in cg.v1_hierarchies().iter().chain(cg.unified()) {
        assert!(h.dir().is_dir(), "{} not created", h.dir().display());
        assert!(h.dir().ends_with(path.trim_start_matches('/')));
    }
    let r = resources(
        r#"{"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"}],
        "memory":{"limit":67108864,"reservation":33554432},
        "cpu":{"shares":512,"quota":20000,"period":100000,"cpus":"0","mems":"0"},
        "pids":{"limit":100}}"#,
    );
    cg.apply(&r).unwrap();
    if cg.v1_dir("memory").is_some() {
        let d = v1dir(&cg, "memory");
        assert_eq!(read(&d, "memory.limit_in_bytes"), "67108864");
        assert_eq!(read(&d, "memory.soft_limit_in_bytes"), "33554432");
    }
    if cg.v1_dir("cpu").is_some() {
        let d = v1dir(&cg, "cpu");
        assert_eq!(read(&d, "cpu.shares"), "512");
        assert_eq!(read(&d, "cpu.cfs_quota_us"), "20000");
        assert_eq!(read(&d, "cpu.cfs_period_us"), "100000");
    }
    if cg.v1_dir("cpuset").is_some() {
        assert_eq!(read(&v1dir(&cg, "cpuset"), "cpuset.cpus"), "0");
    }
    if cg.v1_dir("pids").is_some() {
        assert_eq!(read(&v1dir(&cg, "pids"), "pids.max"), "100");
    }
    let list = read(&v1dir(&cg, "devices"), "devices.list");
    let list: Vec<&str> = list.lines().collect();
    assert_eq!(list.len(), 12, "{list:?}");
    assert!(list.contains(&"c 10:229 rwm") && list.contains(&"c 136:* rwm"));
    assert!(!list.contains(&"a *:* rwm"));

    // update: lower the memory limit, drop the quota.
    let r2 = resources(r#"{"memory":{"limit":33554432},"cpu":{"quota":-1}}"#);
    cg.apply(&r2).unwrap();
    if cg.v1_dir("memory").is_some() {
        assert_eq!(
            read(&v1dir(&cg, "memory"), "memory.limit_in_bytes"),
            "33554432"
        );
    }
    if cg.v1_dir("cpu").is_some() {
        assert_eq!(read(&v1dir(&cg, "cpu"), "cpu.cfs_quota_us"), "-1");
    }

    let pid = g.sleeper();
    cg.add_pid(pid).unwrap();
    for h in cg.v1_hierarchies().iter().chain(cg.unified()) {
        assert!(
            read(h.dir(), "cgroup.procs")
                .lines()
                .any(|l| l == pid.to_string()),
            "{pid} not in {}",
            h.dir().display()
        );
    }
    assert_eq!(cg.pids().unwrap(), [pid]);
    assert!(!cg.is_empty().unwrap());

    cg.freeze().unwrap();
    assert!(cg.is_frozen().unwrap());
    if cg.v1_dir("freezer").is_some() {
        assert_eq!(read(&v1dir(&cg, "freezer"), "freezer.state"), "FROZEN");
    }
    // A frozen task sleeps in the freezer, not in its own nanosleep.
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    let state = proc_state(pid);
    assert!(
        wchan.contains("refrigerator") || state.contains("D (disk sleep)"),
        "not frozen: {state} wchan={wchan}"
    );
    cg.thaw().unwrap();
    assert!(!cg.is_frozen().unwrap());

    let s = cg.stats().unwrap();
    if cg.v1_dir("pids").is_some() {
        assert_eq!(s.pids.current, 1);
        assert_eq!(s.pids.limit, 100);
    }
    if cg.v1_dir("memory").is_some() {
        assert_eq!(s.memory.usage.limit, 33554432);
        assert!(!s.memory.raw.is_empty());
    }
    if cg.v1_dir("cpuacct").is_some() {
        // The sleeper may not have run since it moved in: compare with
        // the file (read after, and the counter only grows) rather than
        // expecting a positive figure.
        let usage: u64 = read(&v1dir(&cg, "cpuacct"), "cpuacct.usage")
            .parse()
            .unwrap();
        assert!(
            usage >= s.cpu.usage.total,
            "{usage} < {}",
            s.cpu.usage.total
        );
        assert_eq!(
            s.cpu.usage.percpu.len(),
            std::thread::available_parallelism().unwrap().get()
        );
    }
    let json = serde_json::to_value(&s).unwrap();
    assert!(json["memory"]["usage"]["limit"].is_u64());

    // destroy while the task lives fails with EBUSY after the retries.
    assert!(matches!(cg.destroy(), Err(Error::Rmdir { .. })));
    g.reap();
    assert!(cg.is_empty().unwrap());
    // Cgroups nested below the container's (a runtime or systemd inside)
    // go too, children first.
    for h in cg.v1_hierarchies().iter().chain(cg.unified()) {
        std::fs::create_dir_all(h.dir().join("nested/deeper")).unwrap();
    }
    cg.destroy().unwrap();
    for h in cg.v1_hierarchies().iter().chain(cg.unified()) {
        assert!(!h.dir().exists(), "{} left behind", h.dir().display());
    }
    cg.destroy().unwrap();
    assert!(cg.pids().unwrap().is_empty());
}

#[test]
fn real_v1_devices_enforced() {
    if let Some(why) = cannot_run() {
        return skip("real_v1_devices_enforced", why);
    }
    let layout = Layout::detect().unwrap();
    if !layout
        .v1
        .iter()
        .any(|m| m.controllers.split(',').any(|c| c == "devices"))
    {
        return skip("real_v1_devices_enforced", "no v1 devices hierarchy");
    }
    let mut g = Guard::new(Cgroup::new(&unique("dev"), "ctr").unwrap());
    let cg = g.cg.clone();
    cg.create().unwrap();
    // The defaults allow /dev/null and /dev/zero; deny /dev/zero explicitly
    // after the defaults would not work (they come last), so test the
    // absence of /dev/kmsg (c 1:11) instead.
    cg.apply(&resources(
        r#"{"devices":[{"allow":false,"access":"rwm"}]}"#,
    ))
    .unwrap();
    let out = run_probe(&mut g, &["/dev/null", "/dev/kmsg"]);
    assert_eq!(out, ["/dev/null ok", "/dev/kmsg denied"]);
}

/// Start a shell that waits on stdin, put it into the cgroup, then let it
/// try to open each device for reading; returns one line per device.
fn run_probe(g: &mut Guard, devices: &[&str]) -> Vec<String> {
    let mut script = String::from("read go; ");
    for d in devices {
        script.push_str(&format!(
            "if true < {d} 2>/dev/null; then echo '{d} ok'; else echo '{d} denied'; fi; "
        ));
    }
    let mut child = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    g.cg.add_pid(child.id() as i32).unwrap();
    child.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map(|l| l.unwrap())
        .collect();
    child.wait().unwrap();
    out
}

/// A layout of only this host's unified hierarchy, to drive the v2 code
/// paths for real where the host is hybrid.
fn unified_only() -> Option<Layout> {
    let layout = Layout::detect().ok()?;
    let u = layout.unified?;
    Some(Layout {
        mode: Mode::Unified,
        v1: Vec::new(),
        unified: Some(u),
    })
}

#[test]
fn real_unified_freeze_and_bpf_devices() {
    if let Some(why) = cannot_run() {
        return skip("real_unified_freeze_and_bpf_devices", why);
    }
    let Some(layout) = unified_only() else {
        return skip("real_unified_freeze_and_bpf_devices", "no cgroup2 mount");
    };
    let mut g = Guard::new(Cgroup::with_layout(&layout, &unique("v2"), "ctr").unwrap());
    let cg = g.cg.clone();
    cg.create().unwrap();
    let dir = cg.unified().unwrap().dir().to_path_buf();

    // Freezer through cgroup.freeze / cgroup.events.
    let pid = g.sleeper();
    cg.add_pid(pid).unwrap();
    assert_eq!(cg.pids().unwrap(), [pid]);
    assert!(!cg.is_empty().unwrap());
    cg.freeze().unwrap();
    assert!(cg.is_frozen().unwrap());
    assert_eq!(read(&dir, "cgroup.freeze"), "1");
    cg.thaw().unwrap();
    assert!(!cg.is_frozen().unwrap());
    g.reap();
    assert!(cg.is_empty().unwrap());

    // The eBPF device filter (apply on a v2 layout attaches it).
    let r = resources(r#"{"devices":[{"allow":false,"access":"rwm"}]}"#);
    match cg.apply(&r) {
        Ok(()) => {}
        Err(Error::Bpf { source, .. }) if source.raw_os_error() == Some(libc::EPERM) => {
            return skip(
                "real_unified_freeze_and_bpf_devices",
                "bpf(2) refused (EPERM): no CAP_BPF/CAP_SYS_ADMIN for cgroup device programs",
            );
        }
        Err(e) => panic!("apply on unified: {e}"),
    }
    assert_eq!(devices_bpf::attached_count(&dir).unwrap(), 1);
    assert_eq!(
        run_probe(&mut g, &["/dev/null", "/dev/zero", "/dev/kmsg"]),
        ["/dev/null ok", "/dev/zero ok", "/dev/kmsg denied"]
    );
    // update: replaces the program, and a new rule takes effect.
    let r = resources(
        r#"{"devices":[{"allow":false,"access":"rwm"},
        {"allow":true,"type":"c","major":1,"minor":11,"access":"r"}]}"#,
    );
    cg.apply(&r).unwrap();
    assert_eq!(devices_bpf::attached_count(&dir).unwrap(), 1);
    assert_eq!(
        run_probe(&mut g, &["/dev/kmsg", "/dev/full"]),
        ["/dev/kmsg ok", "/dev/full ok"]
    );
    // Privileged: default allow.
    cg.apply(&resources(r#"{"devices":[{"allow":true,"access":"rwm"}]}"#))
        .unwrap();
    assert_eq!(devices_bpf::attached_count(&dir).unwrap(), 1);
    assert_eq!(run_probe(&mut g, &["/dev/kmsg"]), ["/dev/kmsg ok"]);
    cg.destroy().unwrap();
    assert!(!dir.exists());
}

#[test]
fn real_hybrid_hugetlb_on_unified() {
    if let Some(why) = cannot_run() {
        return skip("real_hybrid_hugetlb_on_unified", why);
    }
    let layout = Layout::detect().unwrap();
    let on_unified = layout.mode == Mode::Hybrid
        && !layout.v1.iter().any(|m| m.controllers.contains("hugetlb"))
        && layout.unified.as_ref().is_some_and(|u| {
            std::fs::read_to_string(u.mountpoint.join("cgroup.controllers"))
                .is_ok_and(|c| c.split_whitespace().any(|c| c == "hugetlb"))
        });
    if !on_unified {
        return skip(
            "real_hybrid_hugetlb_on_unified",
            "host is not hybrid with hugetlb bound to the unified hierarchy",
        );
    }
    let g = Guard::new(Cgroup::new(&unique("huge"), "ctr").unwrap());
    let cg = &g.cg;
    cg.create().unwrap();
    let r = resources(r#"{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}"#);
    cg.apply(&r).unwrap();
    let dir = cg.unified().unwrap().dir();
    assert_eq!(read(dir, "hugetlb.2MB.max"), "4194304");
    let s = cg.stats().unwrap();
    assert!(s.hugetlb.contains_key("2MB"), "{:?}", s.hugetlb);
}

#[test]
fn real_relative_path_under_own_cgroup() {
    if let Some(why) = cannot_run() {
        return skip("real_relative_path_under_own_cgroup", why);
    }
    // Resolution only: creating inside the shell's cgroup is not allowed.
    let cg = Cgroup::new("", "ctr").unwrap();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    for h in cg.v1_hierarchies() {
        let first = h.controllers().split(',').next().unwrap();
        let line = own
            .lines()
            .find(|l| l.split(':').nth(1).unwrap().split(',').any(|c| c == first))
            .unwrap();
        let mine = line.splitn(3, ':').nth(2).unwrap();
        let expect = layout::clean(&format!("{mine}/ctr"));
        assert!(
            h.dir().to_str().unwrap().ends_with(&expect),
            "{}",
            h.dir().display()
        );
    }
}

/// Not a timed test: run with `--ignored --nocapture` to see the cost of
/// new + create + apply (a podman-like config) + add_pid, and destroy.
#[test]
#[ignore]
fn timing_lifecycle() {
    if cannot_run().is_some() {
        return;
    }
    use std::time::{Duration, Instant};
    let r = resources(PODMAN_DEVICES);
    // new, create, apply, add_pid, destroy
    let mut phases: [Vec<Duration>; 5] = Default::default();
    for _ in 0..50 {
        let mut child = Command::new("sleep").arg("1000").spawn().unwrap();
        // Let the child finish loading so it does not compete for the CPU.
        std::thread::sleep(Duration::from_millis(5));
        let path = unique("time");
        let t = Instant::now();
        let cg = Cgroup::new(&path, "ctr").unwrap();
        phases[0].push(t.elapsed());
        let t = Instant::now();
        cg.create().unwrap();
        phases[1].push(t.elapsed());
        let t = Instant::now();
        cg.apply(&r).unwrap();
        phases[2].push(t.elapsed());
        let t = Instant::now();
        cg.add_pid(child.id() as i32).unwrap();
        phases[3].push(t.elapsed());
        child.kill().unwrap();
        child.wait().unwrap();
        let t = Instant::now();
        cg.destroy().unwrap();
        phases[4].push(t.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let m: Vec<Duration> = phases.iter_mut().map(median).collect();
    eprintln!(
        "medians: new {:?} create {:?} apply {:?} add_pid {:?} destroy {:?}; sum {:?}",
        m[0],
        m[1],
        m[2],
        m[3],
        m[4],
        m.iter().sum::<Duration>()
    );
}
