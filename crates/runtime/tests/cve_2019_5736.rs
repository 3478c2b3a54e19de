//! CVE-2019-5736, by the attack itself: a container process waits for a
//! `#!/proc/self/exe` script to be started in its pid namespace, grabs the
//! interpreter's `/proc/PID/exe` and writes over it once nothing executes
//! it. Run against a copy of the runtime binary, once through `exec` and
//! once as a container's entrypoint; the copy must come out unchanged.
//!
//! `BERTH_RUNTIME_UNDER_ATTACK=/path/to/berth-runtime` attacks another
//! build (an old one shows the attack working).

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::json;
use std::io::{Read, Seek};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ATTACKER_SRC: &str = "tests/fixtures/cve_2019_5736_attacker.c";
/// How long the attacker looks for its target, then tries to write.
const FIND_SECONDS: &str = "6";
const WRITE_SECONDS: &str = "2";

/// The attacker, built static with the host's C compiler.
fn build_attacker(dir: &Path) -> PathBuf {
    let out = dir.join("attacker");
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(ATTACKER_SRC);
    let status = Command::new(&cc)
        .args(["-static", "-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("run the C compiler");
    assert!(status.success(), "building {ATTACKER_SRC} failed");
    out
}

/// A runtime whose binary is a private copy, the attack's target.
struct Target {
    dir: tempfile::TempDir,
    rt: Runtime,
    original: Vec<u8>,
}

impl Target {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let bin = std::env::var("BERTH_RUNTIME_UNDER_ATTACK").unwrap_or_else(|_| BIN.into());
        let original = std::fs::read(&bin).unwrap();
        std::fs::copy(&bin, dir.path().join("berth-runtime")).unwrap();
        Target {
            dir,
            rt: Runtime::new(),
            original,
        }
    }

    fn binary(&self) -> PathBuf {
        self.dir.path().join("berth-runtime")
    }

    /// Output through a file: a detached container would hold a pipe open.
    fn run(&self, args: &[&str]) -> std::process::Output {
        let mut err = tempfile::tempfile().unwrap();
        let status = Command::new(self.binary())
            .arg("--root")
            .arg(self.rt.root.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err.try_clone().unwrap())
            .status()
            .expect("start the runtime copy");
        let mut stderr = Vec::new();
        err.seek(std::io::SeekFrom::Start(0)).unwrap();
        err.read_to_end(&mut stderr).unwrap();
        std::process::Output {
            status,
            stdout: Vec::new(),
            stderr,
        }
    }

    fn assert_unchanged(&self, report: &str) {
        eprintln!("attacker's report:\n{report}");
        let now = std::fs::read(self.binary()).unwrap();
        assert!(
            now == self.original,
            "the container overwrote the runtime binary on the host\nattacker's report:\n{report}"
        );
        assert!(
            report.contains("RESULT:"),
            "the attacker never finished: {report}"
        );
        assert!(
            !report.contains("RESULT: overwritten"),
            "the attacker says it wrote: {report}"
        );
    }
}

/// The attacker's container: /attacker as init, /evil as the bait script.
fn attacker_bundle(attacker: &Path) -> Bundle {
    let b = bundle(&["/attacker", "/report", FIND_SECONDS, WRITE_SECONDS]);
    plant(&b, attacker);
    b
}

fn plant(b: &Bundle, attacker: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let root = b.rootfs();
    std::fs::copy(attacker, root.join("attacker")).unwrap();
    std::fs::write(root.join("evil"), "#!/proc/self/exe\n").unwrap();
    std::fs::set_permissions(root.join("evil"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn start_attacker(t: &Target, b: &mut Bundle) {
    // The report is written inside the rootfs.
    b.config["root"]["readonly"] = json!(false);
    b.write_config().unwrap();
    t.rt.track(b);
    let out = t.run(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(out.status.success(), "start attacker: {}", stderr(&out));
    let report = b.rootfs().join("report");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&report).is_ok_and(|r| r.contains("ready")) {
        assert!(Instant::now() < deadline, "the attacker never started");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait for the attacker's verdict and return its report.
fn finish(t: &Target, b: &Bundle) -> String {
    let report = b.rootfs().join("report");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let text = std::fs::read_to_string(&report).unwrap_or_default();
        if text.contains("RESULT:") || Instant::now() > deadline {
            let pid = t.rt.state(&b.id)["pid"].as_i64().unwrap_or(0);
            reap(pid as i32);
            return text;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn exec_of_a_proc_self_exe_script_cannot_overwrite_the_runtime() {
    require!(is_root(), "needs root");
    let t = Target::new();
    let attacker = build_attacker(t.dir.path());
    let mut a = attacker_bundle(&attacker);
    start_attacker(&t, &mut a);
    // The host runs the container's /evil, as an admin's `exec` would.
    for _ in 0..3 {
        let out = t.run(&["exec", &a.id, "/evil"]);
        eprintln!("exec /evil: {}: {}", out.status, stderr(&out));
        let text = std::fs::read_to_string(a.rootfs().join("report")).unwrap_or_default();
        if text.contains("handle on") {
            break;
        }
    }
    let report = finish(&t, &a);
    t.assert_unchanged(&report);
}

#[test]
fn entrypoint_proc_self_exe_script_cannot_overwrite_the_runtime() {
    require!(is_root(), "needs root");
    let t = Target::new();
    let attacker = build_attacker(t.dir.path());
    let mut a = attacker_bundle(&attacker);
    start_attacker(&t, &mut a);
    let a_pid = t.rt.state(&a.id)["pid"].as_i64().unwrap();
    // A second container whose entrypoint is the script, in the attacker's
    // pid namespace so that the attacker sees its processes.
    let mut b = bundle(&["/evil"]);
    plant(&b, &attacker);
    for ns in b.config["linux"]["namespaces"].as_array_mut().unwrap() {
        if ns["type"] == "pid" {
            ns["path"] = json!(format!("/proc/{a_pid}/ns/pid"));
        }
    }
    b.write_config().unwrap();
    t.rt.track(&b);
    for i in 0..3 {
        let id = format!("{}-{i}", b.id);
        let _ = t.run(&["run", "-b", b.path().to_str().unwrap(), &id]);
        let _ = t.run(&["delete", "--force", &id]);
        let text = std::fs::read_to_string(a.rootfs().join("report")).unwrap_or_default();
        if text.contains("handle on") {
            break;
        }
    }
    let report = finish(&t, &a);
    t.assert_unchanged(&report);
}
