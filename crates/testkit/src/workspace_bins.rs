//! The workspace's binaries that a test needs besides its own crate's:
//! `cargo test -p X` builds only X's binaries, and a stale runtime or
//! monitor left from an older build would test old code.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Builds the binaries of `packages` (`cargo build -q -p P… --bins`) once
/// per test process and returns the directory they are in (this test
/// binary's profile directory). Panics when the build fails: every test
/// that asks needs them.
pub fn build_workspace_bins(packages: &[&str]) -> PathBuf {
    static BUILT: Mutex<Vec<Vec<String>>> = Mutex::new(Vec::new());
    let want: Vec<String> = packages.iter().map(|p| p.to_string()).collect();
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if !built.contains(&want) {
        let mut cmd = Command::new(env!("CARGO"));
        cmd.args(["build", "-q"]);
        for p in packages {
            cmd.args(["-p", p]);
        }
        // The test's own CARGO_MANIFEST_DIR would make build scripts
        // (ring's) run again, rebuilding half the tree on every run.
        let st = cmd
            .arg("--bins")
            .env_remove("CARGO_MANIFEST_DIR")
            .status()
            .expect("running cargo build");
        assert!(st.success(), "building {packages:?} failed");
        built.push(want);
    }
    bin_dir()
}

/// The profile directory of the running test binary (`target/…/debug`,
/// the parent of its `deps`), where cargo puts the workspace's binaries.
pub fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    exe.parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from)
        .expect("a test binary under target/<profile>/deps")
}
