//! podman drives berth-runtime's `checkpoint` and `restore`: a counting
//! container is checkpointed, restored in place, then exported and
//! restored under a new name; its log counts on without starting over.

mod common;

use berth_testkit::{is_root, require};
use common::podman::{have_podman, Podman};
use common::{assert_consecutive, criu_works};
use std::time::{Duration, Instant};

/// The counts of a podman container that prints 1, 2, 3…
impl Podman {
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

#[test]
fn podman_checkpoint_restore_and_export_import() {
    require!(is_root(), "needs root");
    require!(have_podman(), "podman not installed");
    require!(
        criu_works(),
        "needs a criu that passes `criu check` (scripts/install-criu)"
    );
    let p = Podman::new("podman-cr");
    let script = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done";
    let run = p.container(&["-d", "--name", "cr1"], &["sh", "-c", script]);
    assert!(
        run.status.success(),
        "podman run: {}",
        String::from_utf8_lossy(&run.stderr)
    );
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
