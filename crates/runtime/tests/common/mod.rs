//! Shared helpers for the runtime's integration tests: a private state root
//! per test, a command builder for the real binary, and cleanup guards.
#![allow(dead_code)]

pub mod podman;

use berth_testkit::Bundle;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_berth-runtime");

/// Orphaned container inits are re-parented to us instead of the machine's
/// pid 1 (which does not reap), so tests can reap them by pid.
pub fn become_subreaper() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
    });
}

/// A runtime with its own `--root`, removed with everything it holds.
pub struct Runtime {
    pub root: tempfile::TempDir,
    ids: std::cell::RefCell<Vec<(String, String)>>,
}

impl Runtime {
    pub fn new() -> Self {
        become_subreaper();
        Runtime {
            root: tempfile::tempdir().unwrap(),
            ids: Default::default(),
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(BIN);
        c.arg("--root").arg(self.root.path());
        c
    }

    /// Run `berth-runtime --root R ARGS…` and collect its output. Output
    /// goes through files, not pipes: a detached container inherits them and
    /// would hold a pipe open long after the runtime exits.
    pub fn run(&self, args: &[&str]) -> Output {
        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let status = self
            .cmd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(err.try_clone().unwrap())
            .status()
            .expect("spawn berth-runtime");
        Output {
            status,
            stdout: read_all(out),
            stderr: read_all(err),
        }
    }

    /// Like `run`, asserting success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth-runtime {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Remember a container so it is force-deleted and its cgroup removed
    /// when the runtime is dropped, even if the test fails.
    pub fn track(&self, bundle: &Bundle) {
        self.ids
            .borrow_mut()
            .push((bundle.id.clone(), bundle.cgroups_path.clone()));
    }

    pub fn state(&self, id: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["state", id])).expect("state prints JSON")
    }

    pub fn state_dir(&self, id: &str) -> PathBuf {
        self.root.path().join(id)
    }

    /// Poll `state` until its status is `want`.
    pub fn wait_status(&self, id: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let st = self.state(id);
            if st["status"] == want {
                return;
            }
            assert!(Instant::now() < deadline, "{id} never became {want}: {st}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        for (id, cg) in self.ids.borrow().iter() {
            let pid = serde_json::from_slice::<serde_json::Value>(&self.run(&["state", id]).stdout)
                .ok()
                .and_then(|v| v["pid"].as_i64());
            let _ = self.run(&["delete", "--force", id]);
            if let Some(pid) = pid.filter(|p| *p > 0) {
                reap(pid as i32);
            }
            berth_testkit::remove_test_cgroup(cg);
        }
    }
}

fn read_all(mut f: std::fs::File) -> Vec<u8> {
    use std::io::{Read, Seek};
    let mut buf = Vec::new();
    f.seek(std::io::SeekFrom::Start(0)).unwrap();
    f.read_to_end(&mut buf).unwrap();
    buf
}

/// Reap `pid` if it is our (adopted) child and has exited or soon will.
/// `state` says pid 0 once a container stopped; waitpid(0) would reap any
/// child of ours, such as another test's runtime, stealing its exit status.
pub fn reap(pid: i32) {
    if pid <= 0 {
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        match nix::sys::wait::waitpid(
            nix::unistd::Pid::from_raw(pid),
            Some(nix::sys::wait::WaitPidFlag::WNOHANG),
        ) {
            Ok(nix::sys::wait::WaitStatus::StillAlive) => {
                std::thread::sleep(Duration::from_millis(5))
            }
            _ => return,
        }
    }
}

/// Whether the cgroup at `path` exists in any hierarchy.
pub fn cgroup_exists(path: &str) -> bool {
    let rel = path.trim_start_matches('/');
    std::fs::read_dir("/sys/fs/cgroup")
        .map(|entries| entries.flatten().any(|e| e.path().join(rel).is_dir()))
        .unwrap_or(false)
        || Path::new("/sys/fs/cgroup").join(rel).is_dir()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn bundle(args: &[&str]) -> Bundle {
    Bundle::new(args).expect("make busybox bundle")
}

/// Whether a criu that works on this kernel is on PATH (scripts/install-criu
/// builds one where Debian's does not pass `criu check`).
pub fn criu_works() -> bool {
    Command::new("criu")
        .arg("check")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A count must be 1, 2, 3… with no number twice: a restore that started
/// the process afresh would count from 1 again.
pub fn assert_consecutive(seen: &[u32]) {
    let want: Vec<u32> = (1..=seen.len() as u32).collect();
    assert_eq!(seen, want.as_slice(), "the count restarted or skipped");
}
