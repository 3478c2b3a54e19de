//! podman drives berth-runtime's `checkpoint` and `restore`: a counting
//! container is checkpointed, restored in place, then exported and
//! restored under a new name; its log counts on without starting over.

use berth_testkit::{
    is_root, remove_test_cgroup, require, test_cgroup_path, unique_name, write_oci_layout,
};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_berth-runtime");

/// podman with a private store under /dev/shm, calling berth-runtime.
struct Podman {
    dir: tempfile::TempDir,
    cgroup_parent: String,
}

impl Podman {
    fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("berth-podman-cr-")
            .tempdir_in("/dev/shm")
            .unwrap();
        let p = Podman {
            dir,
            cgroup_parent: test_cgroup_path(&unique_name("podman-cr")),
        };
        // podman names an oci: image after its path, which must be lowercase.
        let layout = Path::new("/dev/shm").join(unique_name("berth-podman-cr-layout"));
        write_oci_layout(&layout, "busybox").unwrap();
        let pulled = p.ok(&["pull", "-q", &format!("oci:{}:busybox", layout.display())]);
        let _ = std::fs::remove_dir_all(&layout);
        p.ok(&["tag", pulled.trim(), "berth-busybox"]);
        p
    }

    fn run(&self, args: &[&str]) -> Output {
        let d = self.dir.path();
        Command::new("podman")
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("runroot"))
            .arg("--tmpdir")
            .arg(d.join("tmp"))
            .args(["--cgroup-manager", "cgroupfs", "--storage-driver", "vfs"])
            .args(["--events-backend", "none", "--runtime", BIN])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run podman")
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "podman {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The numbers the container `name` has printed so far.
    fn counted(&self, name: &str) -> Vec<u32> {
        self.ok(&["logs", name])
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    }

    /// Poll until `name` has printed at least `n` numbers.
    fn wait_count(&self, name: &str, n: usize) -> Vec<u32> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let seen = self.counted(name);
            if seen.len() >= n {
                return seen;
            }
            assert!(Instant::now() < deadline, "{name} stuck at {seen:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Podman {
    fn drop(&mut self) {
        let _ = self.run(&["rm", "-af", "-t", "0"]);
        let _ = self.run(&["rmi", "-af"]);
        remove_test_cgroup(&self.cgroup_parent);
    }
}

fn criu_works() -> bool {
    Command::new("criu")
        .arg("check")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn assert_consecutive(seen: &[u32]) {
    let want: Vec<u32> = (1..=seen.len() as u32).collect();
    assert_eq!(seen, want.as_slice(), "the count restarted or skipped");
}

#[test]
fn podman_checkpoint_restore_and_export_import() {
    require!(is_root(), "needs root");
    require!(
        Path::new("/usr/bin/podman").exists(),
        "podman not installed"
    );
    require!(
        criu_works(),
        "needs a criu that passes `criu check` (scripts/install-criu)"
    );
    let p = Podman::new();
    let script = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done";
    p.ok(&[
        "run",
        "-d",
        "--name",
        "cr1",
        "--network",
        "none",
        "--cgroup-parent",
        &p.cgroup_parent,
        "--ulimit",
        "nofile=1024:1024",
        "--ulimit",
        "nproc=1024:1024",
        "berth-busybox",
        "sh",
        "-c",
        script,
    ]);
    p.wait_count("cr1", 3);

    p.ok(&["container", "checkpoint", "cr1"]);
    let status = p.ok(&["inspect", "--format", "{{.State.Status}}", "cr1"]);
    assert_eq!(status.trim(), "exited");
    let n = p.counted("cr1").len();
    p.ok(&["container", "restore", "cr1"]);
    assert_consecutive(&p.wait_count("cr1", n + 3));

    let export = p.dir.path().join("cr1.tar.gz");
    let export = export.to_str().unwrap();
    p.ok(&["container", "checkpoint", "--export", export, "cr1"]);
    let n = p.counted("cr1").len();
    p.ok(&["rm", "cr1"]);
    p.ok(&["container", "restore", "--import", export, "--name", "cr2"]);
    assert_consecutive(&p.wait_count("cr2", n + 3));
    let status = p.ok(&["inspect", "--format", "{{.State.Status}}", "cr2"]);
    assert_eq!(status.trim(), "running");
    p.ok(&["rm", "-f", "-t", "0", "cr2"]);
}
