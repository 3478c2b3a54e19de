//! config-linux.md "Namespaces", clause by clause: a namespace given by
//! `path` is joined (mount and uts too: the rootfs is set up in a joined
//! mount namespace and the hostname set in a joined uts one), a path of
//! the wrong type or not absolute is an error, a type not listed is
//! inherited from the runtime.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::json;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A process holding namespaces of its own (`unshare … sleep`), killed on
/// drop. With `--pid --fork` the sleeping child is pid 1 of the new pid
/// namespace and `pid_for_children` of the holder names it.
struct Holder(Child);

impl Holder {
    fn new(flags: &[&str]) -> Holder {
        use std::os::unix::process::CommandExt;
        let child = Command::new("unshare")
            .process_group(0)
            .args(flags)
            .args(["sleep", "120"])
            .stdin(Stdio::null())
            .spawn()
            .expect("run unshare(1)");
        let holder = Holder(child);
        // unshare has made its namespaces once it execs (or forks) sleep.
        let deadline = Instant::now() + Duration::from_secs(5);
        let pid = holder.pid();
        loop {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default();
            if comm.trim() == "sleep" || !children.trim().is_empty() {
                return holder;
            }
            assert!(
                Instant::now() < deadline,
                "unshare {flags:?} never ran sleep"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn ns(&self, name: &str) -> String {
        format!("/proc/{}/ns/{name}", self.pid())
    }

    fn ns_link(&self, name: &str) -> String {
        std::fs::read_link(self.ns(name))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        // The whole group: with --fork the sleeping child goes too.
        let pid = self.pid() as i32;
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Replace the entry of `typ` in the config's namespaces with one by `path`.
fn join(b: &mut Bundle, typ: &str, path: &str) {
    let ns = b.config["linux"]["namespaces"].as_array_mut().unwrap();
    ns.retain(|n| n["type"] != typ);
    ns.push(json!({"type": typ, "path": path}));
}

fn run_bundle(rt: &Runtime, b: &Bundle) -> (i32, String, String) {
    b.write_config().unwrap();
    rt.track(b);
    let out = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

fn mount_count() -> usize {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .count()
}

#[test]
fn joins_every_namespace_given_by_path_and_sets_up_the_joined_mount_and_uts() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    // unshare(1) makes its mount namespace private, so nothing the
    // container mounts there can reach the host either way.
    let holder = Holder::new(&["--mount", "--uts", "--ipc", "--net", "--pid", "--fork"]);
    let mut b = bundle(&[
        "sh",
        "-c",
        "for n in mnt uts ipc net pid; do readlink /proc/self/ns/$n; done; hostname; \
         test -x /bin/busybox && echo in-rootfs; echo $$",
    ]);
    for (typ, name) in [
        ("mount", "mnt"),
        ("uts", "uts"),
        ("ipc", "ipc"),
        ("network", "net"),
    ] {
        join(&mut b, typ, &holder.ns(name));
    }
    join(&mut b, "pid", &holder.ns("pid_for_children"));
    b.config["hostname"] = json!("joined-uts");
    let host_mounts = mount_count();
    let host_name = nix::unistd::gethostname().unwrap();
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 8, "{out}");
    for (i, name) in ["mnt", "uts", "ipc", "net"].iter().enumerate() {
        assert_eq!(lines[i], holder.ns_link(name), "{name} namespace");
    }
    assert_eq!(
        lines[4],
        holder.ns_link("pid_for_children"),
        "pid namespace"
    );
    // The hostname was set in the joined namespace, not refused.
    assert_eq!(lines[5], "joined-uts");
    let in_holder = Command::new("nsenter")
        .arg(format!("--uts={}", holder.ns("uts")))
        .arg("hostname")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&in_holder.stdout).trim(),
        "joined-uts"
    );
    assert_eq!(nix::unistd::gethostname().unwrap(), host_name);
    // The rootfs was set up and entered inside the joined mount namespace.
    assert_eq!(lines[6], "in-rootfs");
    // pid 1 of the joined pid namespace is the holder's sleep.
    assert_ne!(
        lines[7], "1",
        "the container joined, not made, a pid namespace"
    );
    assert_eq!(mount_count(), host_mounts, "host mount table changed");
}

#[test]
fn hostname_without_a_uts_namespace_of_its_own_is_refused() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["hostname"]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "uts");
    let (code, _, err) = run_bundle(&rt, &b);
    assert_ne!(code, 0);
    assert!(err.contains("hostname"), "{err}");
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn a_namespace_not_listed_is_inherited_and_a_listed_one_is_new() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "readlink /proc/self/ns/net; readlink /proc/self/ns/ipc",
    ]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "network");
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    let ours = |n: &str| {
        std::fs::read_link(format!("/proc/self/ns/{n}"))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    };
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], ours("net"), "network inherited");
    assert_ne!(lines[1], ours("ipc"), "ipc new");
}

#[test]
fn a_namespace_path_of_the_wrong_type_or_relative_is_refused() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let cases: [(&str, String, &str); 4] = [
        (
            "ipc",
            "/proc/self/ns/net".into(),
            "is a net namespace, the entry is of type ipc",
        ),
        (
            "mount",
            "/proc/self/ns/uts".into(),
            "is a uts namespace, the entry is of type mnt",
        ),
        ("network", "proc/self/ns/net".into(), "is not absolute"),
        ("uts", "/etc/hostname".into(), "is not a namespace file"),
    ];
    for (typ, path, needle) in cases {
        let mut b = bundle(&["true"]);
        join(&mut b, typ, &path);
        b.write_config().unwrap();
        rt.track(&b);
        let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
        assert!(!out.status.success(), "{typ} at {path}");
        assert!(
            stderr(&out).contains(needle),
            "{needle:?} not in {}",
            stderr(&out)
        );
        assert!(!rt.state_dir(&b.id).exists());
        assert!(!cgroup_exists(&b.cgroups_path));
    }
}

#[test]
fn a_name_for_the_runtimes_own_uts_namespace_is_refused() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    join(
        &mut b,
        "uts",
        &format!("/proc/{}/ns/uts", std::process::id()),
    );
    // The host's own name: were the check missing, nothing would change.
    let host_name = nix::unistd::gethostname().unwrap();
    b.config["hostname"] = json!(host_name.to_str().unwrap());
    b.write_config().unwrap();
    rt.track(&b);
    let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("would rename the host"),
        "{}",
        stderr(&out)
    );
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
}
