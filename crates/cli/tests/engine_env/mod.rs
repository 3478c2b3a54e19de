//! A private berth for container tests: its own store (holding the
//! busybox fixture as `busybox`), runroot and cgroup parent under
//! `/berth-test/`, all removed on drop — containers by `rm -f`, stray
//! processes by the PIDs recorded, mounts under its directory, cgroups.
#![allow(dead_code)]

use serde_json::Value;
use sha2::Digest as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const BERTH: &str = env!("CARGO_BIN_EXE_berth");

/// The runtime binary next to berth, or $BERTH_RUNTIME. The runtime and
/// berth-monitor (which berth prefers when it is next to it) are built
/// once per test process: `cargo test -p berth-cli` builds neither, and a
/// stale one would test old code.
pub fn runtime() -> PathBuf {
    berth_testkit::build_workspace_bins(&["berth-runtime", "berth-engine"]);
    if let Some(r) = std::env::var_os("BERTH_RUNTIME") {
        return r.into();
    }
    Path::new(BERTH).with_file_name("berth-runtime")
}

pub struct Env {
    pub dir: tempfile::TempDir,
    pub cgroup_parent: String,
    runtime: PathBuf,
}

fn sha256(data: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(data))
}

impl Env {
    /// A store holding the busybox fixture as `busybox`.
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("berth-engine-")
            .tempdir()
            .unwrap();
        let env = Env {
            cgroup_parent: berth_testkit::test_cgroup_path(&berth_testkit::unique_name("engine")),
            runtime: runtime(),
            dir,
        };
        env.load_image("busybox", &Value::Null);
        env
    }

    /// Write the busybox fixture with `config` merged into its image
    /// config's `config` object, and load it as `name`.
    pub fn load_image(&self, name: &str, config: &Value) {
        self.load_image_with_layer(name, config, None);
    }

    /// [`Env::load_image`] with `layer` (an uncompressed tar) on top.
    pub fn load_image_with_layer(&self, name: &str, config: &Value, layer: Option<&[u8]>) {
        let layout = self.dir.path().join(format!("layout-{name}"));
        berth_testkit::write_oci_layout(&layout, "t").unwrap();
        let empty = serde_json::Map::new();
        let extra = config.as_object().unwrap_or(&empty);
        if !extra.is_empty() || layer.is_some() {
            patch_layout(&layout, extra, layer);
        }
        let out = self.berth(&[
            "copy",
            &format!("oci:{}:t", layout.display()),
            &format!("berth:{name}:latest"),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn runroot(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BERTH);
        c.arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .arg("--runtime")
            .arg(&self.runtime)
            .arg("--cgroup-parent")
            .arg(&self.cgroup_parent)
            .args(args)
            .stdin(Stdio::null());
        hermetic_config(&mut c, &self.dir.path().join("sysconf"));
        c
    }

    pub fn berth(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Run and require success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            out.status.success(),
            "berth {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `inspect NAME`'s one object.
    pub fn inspect(&self, name: &str) -> Value {
        let v: Value = serde_json::from_str(&self.ok(&["inspect", name])).unwrap();
        v[0].clone()
    }

    pub fn ps(&self) -> Vec<Value> {
        serde_json::from_str(&self.ok(&["ps", "-a", "--format", "json"])).unwrap()
    }

    pub fn state(&self, id: &str) -> Value {
        let p = self
            .runroot()
            .join("containers")
            .join(id)
            .join("state.json");
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    }

    /// Containers in storage (records of the store itself).
    pub fn stored_containers(&self) -> usize {
        std::fs::read_dir(self.root().join("containers"))
            .map(|d| {
                d.flatten()
                    .filter(|e| e.file_name().to_string_lossy().ends_with(".json"))
                    .count()
            })
            .unwrap_or(0)
    }

    /// Layers in storage.
    pub fn layers(&self) -> usize {
        std::fs::read_dir(self.root().join("layers"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Container cgroups left under the parent (any hierarchy).
    pub fn cgroups_left(&self) -> Vec<String> {
        let rel = self.cgroup_parent.trim_start_matches('/');
        let mut left = Vec::new();
        for h in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
            if let Ok(d) = std::fs::read_dir(h.path().join(rel)) {
                for e in d.flatten() {
                    if e.file_name().to_string_lossy().starts_with("berth-") {
                        left.push(e.path().display().to_string());
                    }
                }
            }
        }
        left
    }
}

/// Merge `extra` into the layout's image config's `config`, and with
/// `layer` (an uncompressed tar) put one more layer on top.
fn patch_layout(layout: &Path, extra: &serde_json::Map<String, Value>, layer: Option<&[u8]>) {
    let blob = |d: &str| {
        layout
            .join("blobs/sha256")
            .join(d.trim_start_matches("sha256:"))
    };
    let index_path = layout.join("index.json");
    let mut index: Value = serde_json::from_slice(&std::fs::read(&index_path).unwrap()).unwrap();
    let mdigest = index["manifests"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(blob(&mdigest)).unwrap()).unwrap();
    let cdigest = manifest["config"]["digest"].as_str().unwrap().to_string();
    let mut config: Value =
        serde_json::from_slice(&std::fs::read(blob(&cdigest)).unwrap()).unwrap();
    for (k, v) in extra {
        config["config"][k] = v.clone();
    }
    if let Some(layer) = layer {
        let digest = sha256(layer);
        std::fs::write(blob(&digest), layer).unwrap();
        config["rootfs"]["diff_ids"]
            .as_array_mut()
            .unwrap()
            .push(digest.clone().into());
        manifest["layers"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": digest, "size": layer.len()
            }));
    }
    let cbytes = serde_json::to_vec(&config).unwrap();
    let cd = sha256(&cbytes);
    std::fs::write(blob(&cd), &cbytes).unwrap();
    manifest["config"]["digest"] = cd.into();
    manifest["config"]["size"] = cbytes.len().into();
    let mbytes = serde_json::to_vec(&manifest).unwrap();
    let md = sha256(&mbytes);
    std::fs::write(blob(&md), &mbytes).unwrap();
    index["manifests"][0]["digest"] = md.into();
    index["manifests"][0]["size"] = mbytes.len().into();
    std::fs::write(&index_path, serde_json::to_vec(&index).unwrap()).unwrap();
}

impl Drop for Env {
    fn drop(&mut self) {
        // Containers, through berth (stops them, releases mounts), newest
        // first: one that joins another's namespaces goes before it.
        if let Ok(out) = self.command(&["ps", "-a", "-q"]).output() {
            for id in String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .rev()
            {
                let _ = self.command(&["rm", "-f", id]).output();
            }
        }
        // Processes recorded by records rm could not clean (by PID).
        if let Ok(d) = std::fs::read_dir(self.runroot().join("containers")) {
            for e in d.flatten() {
                if let Ok(b) = std::fs::read(e.path().join("state.json")) {
                    let v: Value = serde_json::from_slice(&b).unwrap_or_default();
                    for k in ["process", "monitor"] {
                        if let Some(pid) = v[k]["pid"].as_i64() {
                            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                        }
                    }
                }
            }
        }
        // Mounts under our directory, deepest first.
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let base = self.dir.path().display().to_string();
        let mut points: Vec<&str> = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&base))
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        for p in points {
            let _ = Command::new("umount").args(["-l", p]).status();
        }
        berth_testkit::remove_test_cgroup(&self.cgroup_parent);
    }
}

/// Keep the machine's configuration files out of a berth command: every
/// system-wide path (/etc/containers, /etc/berth, /usr/share/containers)
/// moves under `root`, which holds only what a test writes there, and the
/// variables that name other files are cleared.
pub fn hermetic_config(c: &mut Command, root: &Path) {
    c.env("BERTH_CONFIG_ROOT", root);
    for var in [
        "CONTAINERS_CONF",
        "CONTAINERS_CONF_OVERRIDE",
        "CONTAINERS_REGISTRIES_CONF",
        "CONTAINERS_STORAGE_CONF",
        "BERTH_CONTAINERS_CONF",
        "BERTH_STORAGE_CONF",
        "BERTH_SIGNATURE_POLICY",
        "BERTH_STORAGE_DRIVER",
    ] {
        c.env_remove(var);
    }
}

/// Poll `f` for up to 10 s.
/// Whether `pid` runs (exists and is not a zombie).
pub fn alive(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

pub fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !f() {
        assert!(
            std::time::Instant::now() < end,
            "timed out waiting for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
