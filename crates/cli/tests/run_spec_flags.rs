//! The `run`/`create` flags that shape config.json, each checked from
//! inside a real container (or in what the runtime made of it): resources,
//! `/dev/shm`'s size, sysctls, the OOM score, devices and `--privileged`'s
//! host devices, namespace modes with `container:NAME`, `--group-add`,
//! `--security-opt`, annotations, `--tz`, `--expose`, `--stop-timeout`,
//! `--platform`, the JSON-array `--entrypoint`, container names; and the
//! bad input of each refused with exit code 125, leaving nothing behind.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use std::time::{Duration, Instant};

/// `berth run --rm --network none ARGS… busybox sh -c SCRIPT`, stdout.
fn sh(env: &Env, args: &[&str], script: &str) -> String {
    let mut a = vec!["run", "--rm", "--network", "none"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["busybox", "sh", "-c", script]);
    env.ok(&a)
}

fn v1_hierarchy(name: &str) -> bool {
    std::path::Path::new("/sys/fs/cgroup").join(name).is_dir()
}

#[test]
fn resources_reach_the_containers_cgroup() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let (swap, shares, cpus) = if v1_hierarchy("memory") {
        (
            "memory/memory.memsw.limit_in_bytes",
            "cpu/cpu.shares",
            "cpuset/cpuset.cpus",
        )
    } else {
        ("memory.swap.max", "cpu.weight", "cpuset.cpus")
    };
    let out = sh(
        &env,
        &[
            "--memory",
            "100m",
            "--memory-swap",
            "200m",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
        ],
        &format!("cd /sys/fs/cgroup; cat {swap} {shares} {cpus}"),
    );
    let lines: Vec<&str> = out.lines().collect();
    if v1_hierarchy("memory") {
        assert_eq!(lines, ["209715200", "512", "0"], "{out}");
    } else {
        // v2 keeps swap apart from memory, and weights instead of shares.
        assert_eq!(lines[0], "104857600", "{out}");
        assert_eq!(lines[2], "0", "{out}");
    }
    // -1: unlimited swap.
    if v1_hierarchy("memory") {
        let out = sh(
            &env,
            &["--memory", "100m", "--memory-swap", "-1"],
            &format!("cat /sys/fs/cgroup/{swap}"),
        );
        assert!(out.trim().parse::<u64>().unwrap() > 1 << 40, "{out}");
    }
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}

#[test]
fn shm_size_sysctls_and_oom_score_adj_are_seen_inside() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = sh(
        &env,
        &[
            "--shm-size",
            "1m",
            "--sysctl",
            "kernel.shmmax=1000",
            "--sysctl",
            "net.ipv4.ip_forward=1",
            "--oom-score-adj",
            "500",
        ],
        "grep ' /dev/shm ' /proc/mounts; cat /proc/sys/kernel/shmmax \
         /proc/sys/net/ipv4/ip_forward /proc/self/oom_score_adj",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].contains("size=1024k"), "{out}");
    assert_eq!(&lines[1..], ["1000", "1", "500"], "{out}");
    // The default /dev/shm is podman's 64m.
    let out = sh(&env, &[], "grep ' /dev/shm ' /proc/mounts");
    assert!(out.contains("size=65536k"), "{out}");
}

#[test]
fn devices_are_made_with_their_cgroup_rule() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = sh(
        &env,
        &["--device", "/dev/zero:/dev/myzero"],
        "ls -l /dev/myzero; dd if=/dev/myzero bs=4 count=1 2>/dev/null | wc -c",
    );
    assert!(out.starts_with('c'), "a character device: {out}");
    assert!(out.contains("1,   5"), "/dev/zero's numbers: {out}");
    assert_eq!(out.lines().last(), Some("4"), "{out}");
    // loop-control (10:237) is in no default rule: with `r` it opens for
    // reading only; a write is refused by the cgroup, not the driver.
    let out = sh(
        &env,
        &["--device", "/dev/loop-control:/dev/lc:r"],
        "dd if=/dev/lc count=0 2>/dev/null && echo read-ok; \
         (echo > /dev/lc) 2>&1; echo rc=$?",
    );
    assert!(out.contains("read-ok"), "{out}");
    assert!(out.contains("Operation not permitted"), "{out}");
    // Without --device it is not there.
    let out = sh(&env, &[], "ls /dev/lc /dev/loop-control 2>&1 | wc -l");
    assert_eq!(out.trim(), "2", "two 'no such file' lines: {out}");
}

#[test]
fn privileged_gets_the_hosts_devices() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = sh(&env, &["--privileged"], "ls -l /dev/loop-control");
    assert!(out.contains("10, 237"), "{out}");
    if v1_hierarchy("devices") {
        let out = sh(
            &env,
            &["--privileged"],
            "cat /sys/fs/cgroup/devices/devices.list",
        );
        assert_eq!(out.trim(), "a *:* rwm", "{out}");
        let out = sh(&env, &[], "cat /sys/fs/cgroup/devices/devices.list");
        assert!(!out.contains("a *:* rwm"), "{out}");
    }
    // Every character and block device of the host's /dev top level.
    let host: Vec<String> = std::fs::read_dir("/dev")
        .unwrap()
        .flatten()
        .filter(|e| {
            use std::os::unix::fs::FileTypeExt as _;
            let t = e.file_type().unwrap();
            (t.is_char_device() || t.is_block_device())
                && !["console", "ptmx"].contains(&e.file_name().to_str().unwrap())
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let inside = sh(&env, &["--privileged"], "ls /dev");
    let inside: Vec<&str> = inside.lines().collect();
    for d in &host {
        assert!(inside.contains(&d.as_str()), "{d} missing: {inside:?}");
    }
}

/// The inode of namespace `kind` of `pid` on the host.
fn ns_of(pid: &str, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn namespaces_of_the_host_and_of_another_container() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "run",
        "-d",
        "--name",
        "first",
        "--hostname",
        "firsthost",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    let pid = env.state(id.trim())["process"]["pid"]
        .as_i64()
        .unwrap()
        .to_string();
    let script = "for n in pid ipc uts; do readlink /proc/self/ns/$n; done; hostname; \
                  ps -o comm | grep -c sleep";
    let out = sh(
        &env,
        &[
            "--pid",
            "container:first",
            "--ipc",
            "container:first",
            "--uts",
            "container:first",
        ],
        script,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], ns_of(&pid, "pid"), "{out}");
    assert_eq!(lines[1], ns_of(&pid, "ipc"), "{out}");
    assert_eq!(lines[2], ns_of(&pid, "uts"), "{out}");
    assert_eq!(lines[3], "firsthost", "{out}");
    assert_eq!(lines[4], "1", "the other's sleep is seen: {out}");
    // The host's.
    let out = sh(
        &env,
        &["--pid", "host", "--ipc", "host", "--uts", "host"],
        script,
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], ns_of("self", "pid"), "{out}");
    assert_eq!(lines[1], ns_of("self", "ipc"), "{out}");
    assert_eq!(lines[2], ns_of("self", "uts"), "{out}");
    // A private cgroup namespace on request; v1's default is the host's.
    let out = sh(
        &env,
        &["--cgroupns", "private"],
        "readlink /proc/self/ns/cgroup",
    );
    assert_ne!(out.trim(), ns_of("self", "cgroup"), "{out}");
    let out = sh(
        &env,
        &["--cgroupns", "host"],
        "readlink /proc/self/ns/cgroup",
    );
    assert_eq!(out.trim(), ns_of("self", "cgroup"), "{out}");
    // A stopped container is started again to be joined, as podman does
    // (tests/namespace_share.rs has the rest).
    env.ok(&["stop", "-t", "0", "first"]);
    env.ok(&["run", "--rm", "--pid", "container:first", "busybox", "true"]);
    assert_eq!(env.inspect("first")["State"]["Status"], "running");
}

#[test]
fn group_add_takes_numbers_and_the_images_group_names() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = sh(
        &env,
        &["--group-add", "wheel", "--group-add", "1234"],
        "id -G",
    );
    let groups: Vec<&str> = out.split_whitespace().collect();
    assert!(groups.contains(&"10") && groups.contains(&"1234"), "{out}");
}

#[test]
fn security_opts_reach_the_process() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = sh(
        &env,
        &["--security-opt", "no-new-privileges"],
        "grep NoNewPrivs /proc/self/status",
    );
    assert_eq!(out.trim(), "NoNewPrivs:\t1");
    let out = sh(&env, &[], "grep NoNewPrivs /proc/self/status");
    assert_eq!(out.trim(), "NoNewPrivs:\t0");
    // A profile in docker's format: mkdir refused, the rest allowed.
    let profile = env.dir.path().join("no-mkdir.json");
    std::fs::write(
        &profile,
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
            {"names": ["ptrace"], "action": "SCMP_ACT_ERRNO",
             "includes": {"caps": ["CAP_SYS_PTRACE"]}}]}"#,
    )
    .unwrap();
    let opt = format!("seccomp={}", profile.display());
    let out = sh(
        &env,
        &["--security-opt", &opt],
        "mkdir /x 2>&1; echo rc=$?; touch /y && echo touched",
    );
    assert!(out.contains("Operation not permitted"), "{out}");
    assert!(out.contains("touched"), "{out}");
    // mask= hides more; unmask= gives back what podman masks.
    let out = sh(
        &env,
        &["--security-opt", "mask=/etc/hostname"],
        "cat /etc/hostname | wc -c",
    );
    assert_eq!(out.trim(), "0", "{out}");
    let keys = "cat /proc/keys | wc -l";
    assert_eq!(sh(&env, &[], keys).trim(), "0");
    let out = sh(&env, &["--security-opt", "unmask=/proc/keys"], keys);
    assert_ne!(out.trim(), "0", "{out}");
    let out = sh(
        &env,
        &["--security-opt", "unmask=ALL"],
        "cat /proc/keys | wc -l; grep -c ' /proc/sys proc ro' /proc/mounts; true",
    );
    assert_eq!(out.lines().nth(1), Some("0"), "/proc/sys writable: {out}");
    // Labels and AppArmor's unconfined: accepted, as podman does here.
    sh(
        &env,
        &[
            "--security-opt",
            "label=disable",
            "--security-opt",
            "apparmor=unconfined",
        ],
        "true",
    );
}

#[test]
fn annotations_timezone_and_entrypoint() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "create",
        "--annotation",
        "org.example.a=b",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            env.runroot()
                .join("containers")
                .join(id.trim())
                .join("config.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(config["annotations"]["org.example.a"], "b", "{config}");
    let out = env.ok(&["inspect", "-f", "{{json .Config.Annotations}}", id.trim()]);
    assert!(out.contains(r#""org.example.a":"b""#), "{out}");
    // --tz: the zone's file over /etc/localtime.
    if std::path::Path::new("/usr/share/zoneinfo/Asia/Tokyo").exists() {
        let out = sh(&env, &["--tz", "Asia/Tokyo"], "date +%Z");
        assert_eq!(out.trim(), "JST", "{out}");
    }
    let host = std::fs::read("/etc/localtime").unwrap();
    let out = sh(&env, &["--tz", "local"], "cat /etc/localtime | md5sum");
    let inside = out.split_whitespace().next().unwrap().to_string();
    let want = String::from_utf8(
        std::process::Command::new("md5sum")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                use std::io::Write as _;
                c.stdin.take().unwrap().write_all(&host)?;
                c.wait_with_output()
            })
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(want.starts_with(&inside), "{inside} vs {want}");
    // The JSON-array form of --entrypoint; anything else is one word.
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--entrypoint",
        r#"["sh","-c"]"#,
        "busybox",
        "echo hi",
    ]);
    assert_eq!(out, "hi\n");
}

#[test]
fn expose_is_published_by_publish_all() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "create",
        "-P",
        "--expose",
        "8080",
        "--expose",
        "9000-9001/udp",
        "--network",
        "bridge",
        "busybox",
        "true",
    ]);
    let out = env.ok(&[
        "inspect",
        "-f",
        "{{json .Config.ExposedPorts}} {{json .HostConfig.PortBindings}}",
        id.trim(),
    ]);
    for key in ["8080/tcp", "9000/udp", "9001/udp"] {
        assert_eq!(out.matches(key).count(), 2, "{key} in {out}");
    }
}

#[test]
fn stop_timeout_is_the_default_of_stop() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // pid 1 ignores SIGTERM without a handler: only SIGKILL ends it.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--stop-timeout",
        "1",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    let out = env.ok(&["inspect", "-f", "{{.Config.StopTimeout}}", "slow"]);
    assert_eq!(out.trim(), "1");
    let t = Instant::now();
    env.ok(&["stop", "slow"]);
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(6),
        "{took:?}"
    );
}

#[test]
fn options_survive_a_lost_runroot() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "create",
        "--name",
        "kept",
        "--network",
        "none",
        "--oom-score-adj",
        "123",
        "--group-add",
        "wheel",
        "busybox",
        "sh",
        "-c",
        "cat /proc/self/oom_score_adj; id -G",
    ]);
    // As after a reboot: the runroot (a tmpfs) is empty.
    std::fs::remove_dir_all(env.runroot().join("containers").join(id.trim())).unwrap();
    let out = env.ok(&["start", "-a", "kept"]);
    assert_eq!(out.lines().next(), Some("123"), "{out}");
    assert!(out.contains("10"), "{out}");
}

#[test]
fn bad_options_are_refused_and_leave_nothing() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let other_platform = if cfg!(target_arch = "s390x") {
        "linux/amd64"
    } else {
        "linux/s390x"
    };
    let cases: &[(&[&str], &str)] = &[
        (&["--sysctl", "vm.swappiness=1"], "is not allowed"),
        (&["--sysctl", "bad"], "KEY=VALUE"),
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
            "Network Namespace set to host",
        ),
        (&["--memory-swap", "100m"], "set a memory limit"),
        (
            &["--memory", "100m", "--memory-swap", "50m"],
            "larger than memory limit",
        ),
        (&["--cpuset-cpus", "999"], "not available"),
        (&["--cpuset-cpus", "x"], "cpus"),
        (&["--shm-size", "x"], "--shm-size"),
        (&["--oom-score-adj", "5000"], "-1000 to 1000"),
        (&["--device", "/dev/nonexistent"], "No such file"),
        (&["--device", "/dev/zero:/dev/z:q"], "invalid device mode"),
        (&["--device", "/etc/passwd"], "not a device"),
        (&["--pid", "bogus"], "unrecognized namespace mode"),
        (&["--ipc", "container:nope"], "no container with name or ID"),
        (
            &["--security-opt", "apparmor=foo"],
            "Apparmor is not enabled",
        ),
        (&["--security-opt", "bogus"], "--security-opt"),
        (
            &["--security-opt", "seccomp=/nonexistent.json"],
            "seccomp profile",
        ),
        (&["--tz", "Bogus/Zone"], "--tz"),
        (&["--tz", "../../etc/passwd"], "not a zone name"),
        (&["--platform", other_platform], "platform"),
        (&["--name=-bad"], "names must match"),
        (&["--name", "a b"], "names must match"),
        (&["--expose", "bogus"], "--expose"),
        (&["--group-add", "nosuch"], "nosuch"),
    ];
    for (flags, want) in cases {
        let mut args = vec!["run", "--rm"];
        if !flags.contains(&"--network") {
            args.extend_from_slice(&["--network", "none"]);
        }
        args.extend_from_slice(flags);
        args.extend_from_slice(&["busybox", "true"]);
        let out = env.berth(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{flags:?}: {err}");
        assert!(err.contains(want), "{flags:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{flags:?}: one line: {err}");
    }
    assert!(env.ps().is_empty(), "{:?}", env.ps());
    assert_eq!(env.stored_containers(), 0);
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
    // What podman takes: its name pattern.
    env.ok(&[
        "run",
        "--rm",
        "--name",
        "ok.name-1_x",
        "--network",
        "none",
        "busybox",
        "true",
    ]);
}
