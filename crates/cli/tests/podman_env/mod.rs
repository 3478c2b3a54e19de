//! A private podman (Debian's 4.3) beside berth's `Env`, as the yardstick
//! of the compatibility suite. Everything it touches lives in one temp
//! directory: its store and runroot, its `tmp_dir` (file locks, events,
//! exit files: nothing in /run/libpod or the shared /dev/shm/libpod_lock),
//! its network config dir, and the configuration files named by
//! `CONTAINERS_CONF`/`CONTAINERS_STORAGE_CONF`/`CONTAINERS_REGISTRIES_CONF`,
//! so neither podman's default store nor the host's containers.conf is
//! read or written. The private containers.conf is all podman needs here
//! (no `unshare -m`): runc (crun refuses this hybrid cgroup host),
//! cgroupfs, file events, and ulimits within this machine's hard limits.
//! Containers go under a cgroup parent in /berth-test (conmon's cgroup
//! nests there too). Drop removes the containers and the store through
//! podman, kills what is left of its processes by PID (those in our
//! cgroups), unmounts whatever is still mounted under the directory,
//! removes the cgroups, and deletes the directory only when nothing is
//! mounted under it any more.
#![allow(dead_code)]

pub mod harness;
pub mod normalise;
pub mod shape;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub const PODMAN: &str = "podman";

/// Whether podman is installed.
pub fn have_podman() -> bool {
    Command::new(PODMAN)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub struct Podman {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
    pub cgroup_parent: String,
}

impl Podman {
    pub fn new() -> Podman {
        let dir = tempfile::Builder::new()
            .prefix("berth-podman-")
            .tempdir()
            .unwrap();
        let path = dir.path().to_path_buf();
        let p = Podman {
            cgroup_parent: berth_testkit::test_cgroup_path(&berth_testkit::unique_name("podman")),
            dir: Some(dir),
            path,
        };
        for d in ["tmp", "net"] {
            std::fs::create_dir_all(p.path.join(d)).unwrap();
        }
        std::fs::write(
            p.containers_conf(),
            format!(
                "[containers]\n\
                 default_ulimits = [\"nofile=1024:1024\", \"nproc=1024:1024\"]\n\
                 [engine]\n\
                 cgroup_manager = \"cgroupfs\"\n\
                 events_logger = \"file\"\n\
                 runtime = \"runc\"\n\
                 lock_type = \"file\"\n\
                 tmp_dir = \"{}\"\n\
                 [network]\n\
                 network_config_dir = \"{}\"\n",
                p.path.join("tmp").display(),
                p.path.join("net").display()
            ),
        )
        .unwrap();
        std::fs::write(
            p.storage_conf(),
            format!(
                "[storage]\ndriver = \"overlay\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                p.root().display(),
                p.runroot().display()
            ),
        )
        .unwrap();
        std::fs::write(p.path.join("registries.conf"), "").unwrap();
        p
    }

    pub fn dir(&self) -> &Path {
        &self.path
    }

    pub fn root(&self) -> PathBuf {
        self.path.join("root")
    }

    pub fn runroot(&self) -> PathBuf {
        self.path.join("run")
    }

    fn containers_conf(&self) -> PathBuf {
        self.path.join("containers.conf")
    }

    fn storage_conf(&self) -> PathBuf {
        self.path.join("storage.conf")
    }

    /// `podman --root R --runroot RR ARGS`, with `--cgroup-parent` added
    /// to `run` and `create` (containers.conf has no such default).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(PODMAN);
        c.env("CONTAINERS_CONF", self.containers_conf())
            .env("CONTAINERS_STORAGE_CONF", self.storage_conf())
            .env(
                "CONTAINERS_REGISTRIES_CONF",
                self.path.join("registries.conf"),
            )
            .env_remove("CONTAINERS_CONF_OVERRIDE")
            .env_remove("CONTAINER_HOST")
            .env_remove("CONTAINER_CONNECTION")
            .arg("--root")
            .arg(self.root())
            .arg("--runroot")
            .arg(self.runroot())
            .stdin(Stdio::null());
        match args.first() {
            Some(&sub) if sub == "run" || sub == "create" => {
                c.arg(sub)
                    .arg("--cgroup-parent")
                    .arg(&self.cgroup_parent)
                    .args(&args[1..]);
            }
            _ => {
                c.args(args);
            }
        }
        c
    }

    /// Run and require success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "podman {args:?}: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Load the busybox fixture as `name` (a full name such as
    /// `localhost/busybox:latest`): the testkit's OCI layout with that
    /// name as its `ref.name`, as an oci-archive, through `podman load`
    /// (a `pull oci:DIR` would name the image after the directory).
    pub fn load_busybox(&self, name: &str) {
        let layout = self.path.join("layout");
        berth_testkit::write_oci_layout(&layout, name).unwrap();
        let archive = self.path.join("busybox.oci.tar");
        let mut b = tar::Builder::new(std::fs::File::create(&archive).unwrap());
        b.append_dir_all(".", &layout).unwrap();
        b.finish().unwrap();
        let out = self.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
        assert!(out.contains(name), "podman load named it otherwise: {out}");
    }

    /// Processes in our cgroups (containers and conmons), any hierarchy.
    fn our_pids(&self) -> Vec<i32> {
        let rel = self.cgroup_parent.trim_start_matches('/');
        let mut pids = Vec::new();
        let Ok(hier) = std::fs::read_dir("/sys/fs/cgroup") else {
            return pids;
        };
        for h in hier.flatten() {
            collect_procs(&h.path().join(rel), &mut pids);
        }
        pids.sort_unstable();
        pids.dedup();
        pids
    }

    /// Mount points under our directory, deepest first.
    pub fn mounts(&self) -> Vec<String> {
        let base = self.path.display().to_string();
        let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
        let mut points: Vec<String> = mountinfo
            .lines()
            .filter_map(|l| l.split(' ').nth(4))
            .filter(|p| p.starts_with(&base))
            .map(str::to_string)
            .collect();
        points.sort_by_key(|p| std::cmp::Reverse(p.len()));
        points.dedup();
        points
    }
}

fn collect_procs(dir: &Path, pids: &mut Vec<i32>) {
    if let Ok(s) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        pids.extend(s.split_whitespace().filter_map(|p| p.parse::<i32>().ok()));
    }
    if let Ok(d) = std::fs::read_dir(dir) {
        for e in d.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                collect_procs(&e.path(), pids);
            }
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let quiet = |args: &[&str]| {
            let _ = self
                .command(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        };
        // Containers (stopping them, their conmons exit and run cleanup),
        // volumes, then images and storage.
        quiet(&["rm", "-a", "-f", "-t", "0"]);
        quiet(&["volume", "rm", "-a", "-f"]);
        quiet(&["system", "reset", "-f"]);
        // Whatever still runs in our cgroups, by PID.
        for pid in self.our_pids() {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
        for p in self.mounts() {
            let _ = Command::new("umount").args(["-l", &p]).status();
        }
        let end = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !self.our_pids().is_empty() && std::time::Instant::now() < end {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        berth_testkit::remove_test_cgroup(&self.cgroup_parent);
        let left = self.mounts();
        if left.is_empty() {
            drop(self.dir.take());
        } else {
            // Never delete through a mount: leave the directory behind.
            let kept = self.dir.take().map(|d| d.keep());
            eprintln!("podman left mounts {left:?}; kept {kept:?}");
        }
    }
}
