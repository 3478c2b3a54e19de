//! A private engine for pod tests: its own store (holding the busybox
//! fixture as `busybox`), runroot and cgroup parent under `/berth-test/`,
//! berth-runtime and berth-monitor of this build. On drop: every pod and
//! container removed through the engine, the cgroup parent removed, and
//! the directory deleted only when nothing is mounted under it.
#![allow(dead_code)]

use berth_engine::{CreateOptions, Engine, EngineOptions, PodOptions};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub const MONITOR: &str = env!("CARGO_BIN_EXE_berth-monitor");

/// berth-runtime of this build, next to berth-monitor: `cargo test -p
/// berth-engine` does not build it, so it is built once per process.
pub fn runtime() -> PathBuf {
    berth_testkit::build_workspace_bins(&["berth-runtime"]);
    Path::new(MONITOR).with_file_name("berth-runtime")
}

/// Root, CNI's bridge/host-local/portmap and iptables.
pub fn can_run_pods() -> bool {
    berth_testkit::is_root()
        && ["bridge", "host-local", "portmap"]
            .iter()
            .all(|p| Path::new("/usr/lib/cni").join(p).is_file())
        && Command::new("iptables").arg("--version").output().is_ok()
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub cgroup_parent: String,
    runtime: PathBuf,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("berth-pod-")
            .tempdir()
            .unwrap();
        let env = Env {
            cgroup_parent: berth_testkit::test_cgroup_path(&berth_testkit::unique_name("pod")),
            runtime: runtime(),
            dir,
        };
        let layout = env.dir.path().join("layout");
        berth_testkit::write_oci_layout(&layout, "t").unwrap();
        let store = env.store();
        berth_image::copy(
            &berth_image::Context::default(),
            Some(&store),
            &berth_image::ImageRef::Oci {
                path: layout,
                reference: Some("t".into()),
            },
            &berth_image::ImageRef::Storage("busybox:latest".into()),
            &berth_image::CopyOptions::default(),
            &berth_image::progress::NoProgress,
        )
        .unwrap();
        env
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    fn store(&self) -> berth_storage::Store {
        berth_storage::Store::open(berth_storage::StoreOptions::at(self.root())).unwrap()
    }

    /// A new engine on this store and runroot (a "restarted" server).
    pub fn engine(&self) -> Engine {
        let mut monitor: Vec<std::ffi::OsString> = vec![MONITOR.into()];
        for (flag, value) in [
            ("--root", self.root().into_os_string()),
            ("--runroot", self.runroot().into_os_string()),
            ("--runtime", self.runtime.clone().into_os_string()),
            ("--cgroup-parent", self.cgroup_parent.clone().into()),
        ] {
            monitor.push(flag.into());
            monitor.push(value);
        }
        Engine::new(
            self.store(),
            berth_image::Context::default(),
            EngineOptions {
                runroot: self.runroot(),
                runtime: self.runtime.clone(),
                cgroup_parent: self.cgroup_parent.clone(),
                monitor,
            },
        )
    }

    /// A pod's cgroup parent under this test's.
    pub fn pod_cgroup(&self, name: &str) -> String {
        format!("{}/{name}", self.cgroup_parent)
    }

    /// Where the pod's network namespace is pinned.
    pub fn netns(&self, pod: &str) -> PathBuf {
        self.runroot().join("netns").join(pod)
    }
}

/// Pod options with a name unique to this run.
pub fn pod_options(name: &str) -> PodOptions {
    PodOptions {
        name: berth_testkit::unique_name(name),
        uid: berth_testkit::unique_name("uid"),
        namespace: "default".into(),
        ..Default::default()
    }
}

/// A busybox container in `pod` running `script`, quick to stop.
pub fn in_pod(pod: &str, script: &str) -> CreateOptions {
    let mut o = CreateOptions {
        image: "busybox".into(),
        command: vec!["sh".into(), "-c".into(), script.into()],
        pod: Some(pod.into()),
        ..Default::default()
    };
    // sh as pid 1 ignores SIGTERM: SIGKILL after a second.
    o.spec.stop_timeout = Some(1);
    o
}

/// Start `opts` detached; its id.
pub fn run(e: &Engine, opts: &CreateOptions) -> String {
    let id = e.create(opts).unwrap();
    e.start_detached(&id).unwrap();
    id
}

/// The container's output (the CRI log's messages, joined).
pub fn output(e: &Engine, id: &str) -> String {
    let log = e.inspect(id).unwrap().log_path;
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let mut out = String::new();
    for line in text.lines() {
        // TIME STREAM TAG MESSAGE
        let mut parts = line.splitn(4, ' ');
        let (_, _, tag, msg) = (parts.next(), parts.next(), parts.next(), parts.next());
        out.push_str(msg.unwrap_or(""));
        if tag == Some("F") {
            out.push('\n');
        }
    }
    out
}

/// Wait for the container to exit; its code and output.
pub fn finish(e: &Engine, id: &str) -> (Option<i32>, String) {
    let code = e.wait(id).unwrap();
    (code, output(e, id))
}

/// Poll `f` for up to 10 s.
pub fn eventually(mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Lines of /proc/mounts naming `needle`.
pub fn mounts_with(needle: &str) -> Vec<String> {
    std::fs::read_to_string("/proc/mounts")
        .unwrap()
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// iptables rules (every table) naming `needle`.
pub fn rules_with(needle: &str) -> Vec<String> {
    let out = Command::new("iptables-save").output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// The directories of cgroup `path` that exist in any hierarchy.
pub fn cgroup_dirs(path: &str) -> Vec<PathBuf> {
    let rel = path.trim_start_matches('/');
    let mut out = Vec::new();
    for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        let d = h.path().join(rel);
        if d.is_dir() {
            out.push(d);
        }
    }
    out
}

/// Everything pod `id` could leave behind, as a list of what is left.
pub fn leftovers(env: &Env, id: &str, cgroup: Option<&str>) -> Vec<String> {
    let mut left = Vec::new();
    if env.netns(id).exists() {
        left.push(format!("netns pin {}", env.netns(id).display()));
    }
    let dir = env.runroot().join("pods").join(id);
    if dir.exists() {
        left.push(format!("pod directory {}", dir.display()));
    }
    left.extend(mounts_with(id).into_iter().map(|m| format!("mount {m}")));
    left.extend(rules_with(id).into_iter().map(|r| format!("rule {r}")));
    let results = Path::new("/run/berth-network/results").join(format!("{id}.json"));
    if results.exists() {
        left.push(format!("CNI result {}", results.display()));
    }
    if let Some(c) = cgroup {
        left.extend(
            cgroup_dirs(c)
                .into_iter()
                .map(|d| format!("cgroup {}", d.display())),
        );
    }
    left
}

impl Drop for Env {
    fn drop(&mut self) {
        let e = self.engine();
        for p in e.pods().unwrap_or_default() {
            let _ = e.remove_pod(&p.id);
        }
        for c in e.list().unwrap_or_default() {
            let _ = e.remove(&c.id, true);
        }
        drop(e);
        berth_testkit::remove_test_cgroup(&self.cgroup_parent);
        let here = self.dir.path().to_string_lossy().into_owned();
        let mounted = mounts_with(&here);
        if !mounted.is_empty() {
            // Never delete a directory with something mounted inside.
            eprintln!("leaving {here}: still mounted: {mounted:?}");
            let _ = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap()).keep();
        }
    }
}
