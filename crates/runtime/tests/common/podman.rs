//! podman with its own store, state and tmp dirs under /dev/shm, calling
//! berth-runtime (tests/podman.rs, tests/podman_checkpoint.rs).

use berth_testkit::{remove_test_cgroup, test_cgroup_path, unique_name, write_oci_layout};
use std::path::Path;
use std::process::{Command, Output};

pub struct Podman {
    pub dir: tempfile::TempDir,
    pub cgroup_parent: String,
}

pub fn have_podman() -> bool {
    Path::new("/usr/bin/podman").exists()
}

impl Podman {
    /// A podman with the busybox fixture tagged `berth-busybox`; `name`
    /// tells its dirs and cgroup apart from another test's.
    pub fn new(name: &str) -> Self {
        let dir = tempfile::Builder::new()
            .prefix(&format!("berth-{name}-"))
            .tempdir_in("/dev/shm")
            .unwrap();
        let p = Podman {
            dir,
            cgroup_parent: test_cgroup_path(&unique_name(name)),
        };
        // podman names an oci: image after its path, which must be lowercase.
        let layout = Path::new("/dev/shm").join(unique_name(&format!("berth-{name}-layout")));
        write_oci_layout(&layout, "busybox").unwrap();
        let pulled = p.run(&["pull", "-q", &format!("oci:{}:busybox", layout.display())]);
        let _ = std::fs::remove_dir_all(&layout);
        assert!(
            pulled.status.success(),
            "podman pull: {}",
            String::from_utf8_lossy(&pulled.stderr)
        );
        p.ok(&[
            "tag",
            String::from_utf8_lossy(&pulled.stdout).trim(),
            "berth-busybox",
        ]);
        p
    }

    pub fn cmd(&self) -> Command {
        let d = self.dir.path();
        let mut c = Command::new("podman");
        c.arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args([
                "--cgroup-manager",
                "cgroupfs",
                "--storage-driver",
                "vfs",
                "--events-backend",
                "none",
            ])
            .arg("--runtime")
            .arg(super::BIN);
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().expect("run podman")
    }

    /// `podman ARGS…`, asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `podman run` with the options this machine needs: no network setup,
    /// a cgroup under the test parent, and rlimits root may set here.
    pub fn container(&self, extra: &[&str], cmd: &[&str]) -> Output {
        let mut args = vec![
            "run",
            "--network",
            "none",
            "--cgroup-parent",
            &self.cgroup_parent,
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
        ];
        args.extend_from_slice(extra);
        args.push("berth-busybox");
        args.extend_from_slice(cmd);
        self.run(&args)
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-af", "-t", "0"]);
        let _ = self.run(&["rmi", "-af"]);
        remove_test_cgroup(&self.cgroup_parent);
    }
}
