//! Hostile configs: a few hundred mutated `config.json` files per run —
//! wrong types, absurd numbers, `..` paths, bogus namespaces, id maps,
//! rlimits, capabilities, seccomp profiles and hooks. Each `run` must end
//! in a clean error or a clean run: no panic, no hang, and nothing left:
//! no state directory, no cgroup, no mount, no file outside the bundle.
//!
//! The seed is fixed so a failure reproduces; `BERTH_FUZZ_SEED` and
//! `BERTH_FUZZ_CASES` change it and the number of cases. Mutations never
//! reach the host on purpose: cgroups stay under the test parent, a
//! namespace path never names a host namespace of its own type, bind
//! sources and the rootfs stay inside the test's directory, hooks are
//! `true`, `false`, `sleep` with a timeout, or missing.

mod common;
mod mutations;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use mutations::{Ctx, Rng, MUTATORS};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEFAULT_SEED: u64 = 0x6265_7274_685f_667a;
const DEFAULT_CASES: usize = 300;
const CASE_TIMEOUT: Duration = Duration::from_secs(20);

/// `path` with `.` and `..` resolved by its letters.
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Undo what would reach the host instead of testing the runtime (see the
/// module doc): every other mutation stands.
fn keep_off_the_host(c: &mut Value, x: &Ctx, bundle: &Path, fuzz_root: &Path) {
    if c["linux"].is_object() {
        // An empty or relative path would nest in this shell's cgroup, an
        // escaping one reach other cgroups: only the case's own may be used.
        let own = format!("/berth-test/{}", x.id);
        let cg = c["linux"]["cgroupsPath"].as_str().unwrap_or_default();
        let cleaned = clean(cg);
        if !cg.starts_with('/') || !(cleaned == own || cleaned.starts_with(&format!("{own}/"))) {
            c["linux"]["cgroupsPath"] = json!(own);
        }
        if let Some(ns) = c["linux"]["namespaces"].as_array_mut() {
            for n in ns.iter_mut() {
                let (Some(typ), Some(path)) = (n["type"].as_str(), n["path"].as_str()) else {
                    continue;
                };
                let file = match typ {
                    "network" => "net",
                    "mount" => "mnt",
                    t => t,
                };
                // A host namespace of the entry's own type (joining the
                // host's mount namespace would pivot the host), or any other
                // existing file a wrong-typed value happened to name.
                let host = path.starts_with("/proc/") && path.ends_with(&format!("/{file}"));
                let other = Path::new(path).exists()
                    && !path.starts_with("/proc/self/ns/")
                    && path != "/dev/null";
                if host || other {
                    n["path"] = json!(format!("/no/such/{}", x.tag));
                }
            }
        }
    }
    let inside = |p: &str| {
        std::fs::canonicalize(bundle.join(p)).map_or(true, |real| real.starts_with(fuzz_root))
    };
    if let Some(p) = c["root"]["path"].as_str() {
        if !inside(p) {
            c["root"]["path"] = json!("rootfs");
        }
    }
    if let Some(mounts) = c["mounts"].as_array_mut() {
        for m in mounts.iter_mut() {
            if m["source"].as_str().is_some_and(|s| !inside(s)) {
                m["source"] = json!("rootfs/tmp");
            }
        }
    }
    let allowed = ["/bin/true", "/bin/false", "/bin/sleep", "/bin/sh"];
    if let Some(kinds) = c["hooks"].as_object_mut() {
        for list in kinds.values_mut().filter_map(Value::as_array_mut) {
            for h in list.iter_mut() {
                let path = h["path"].as_str().unwrap_or_default().to_owned();
                let path = path.as_str();
                if Path::new(path).exists() && !allowed.contains(&path) {
                    h["path"] = json!("/bin/false");
                }
                if path == "/bin/sleep" && h["timeout"].as_i64().is_none_or(|t| t > 2) {
                    h["timeout"] = json!(1);
                }
            }
        }
    }
}

/// Host state a case must not change: mounts and files named by the tag.
fn snapshot_mounts() -> BTreeSet<String> {
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            format!("{} {}", f.get(4).unwrap_or(&""), f.get(3).unwrap_or(&""))
        })
        .collect()
}

fn tagged_files(tag: &str, dirs: &[PathBuf]) -> Vec<PathBuf> {
    dirs.iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains(tag))
        .collect()
}

/// Names of cgroups under the test parent that belong to case `id`.
fn leftover_cgroups(id: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for h in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        let parent = h.path().join("berth-test");
        for e in std::fs::read_dir(parent).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name == id || name.starts_with(&format!("{id}-")) {
                out.insert(name);
            }
        }
    }
    out
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn hostile_configs_end_cleanly_and_leave_nothing_behind() {
    require!(is_root(), "needs root");
    let seed: u64 = env_or("BERTH_FUZZ_SEED", DEFAULT_SEED);
    let cases: usize = env_or("BERTH_FUZZ_CASES", DEFAULT_CASES);
    let rt = Runtime::new();
    let fuzz_root = tempfile::tempdir().unwrap();
    let fuzz_root_real = fuzz_root.path().canonicalize().unwrap();
    let b = Bundle::new_in(fuzz_root.path(), &["true"]).unwrap();
    let bundle = b.path().canonicalize().unwrap();
    let tag = format!("berth-fuzz-{}", std::process::id());
    let watched: Vec<PathBuf> = ["/", "/tmp", "/run", "/dev/shm", "/etc", "/var/tmp"]
        .iter()
        .map(PathBuf::from)
        .chain([fuzz_root_real.clone(), std::env::temp_dir()])
        .collect();
    let mounts_before = snapshot_mounts();
    let mut rng = Rng(seed | 1);
    let mut failures = Vec::new();
    let mut outcomes = std::collections::BTreeMap::new();
    let started = Instant::now();
    for case in 0..cases {
        let x = Ctx {
            id: format!("{tag}-{case}"),
            tag: tag.clone(),
        };
        let mut config = berth_testkit::default_config(&["true"], &format!("/berth-test/{}", x.id));
        config["process"]["args"] = rng
            .pick(&[
                json!(["true"]),
                json!(["sh", "-c", "exit 3"]),
                json!(["echo", "hi"]),
            ])
            .clone();
        for _ in 0..1 + rng.below(3) {
            rng.pick(&MUTATORS)(&mut rng, &mut config, &x);
        }
        keep_off_the_host(&mut config, &x, &bundle, &fuzz_root_real);
        let text = serde_json::to_string_pretty(&config).unwrap();
        std::fs::write(bundle.join("config.json"), &text).unwrap();
        let mut fail =
            |why: String| failures.push(format!("case {case} (seed {seed:#x}): {why}\n{text}"));

        let out = tempfile::tempfile().unwrap();
        let err = tempfile::tempfile().unwrap();
        let mut child = rt
            .cmd()
            .args(["run", "-b"])
            .arg(&bundle)
            .arg(&x.id)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err.try_clone().unwrap())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + CASE_TIMEOUT;
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(2));
        };
        let stderr_text = {
            use std::io::{Read, Seek};
            let mut e = err;
            let mut s = String::new();
            let _ = e.seek(std::io::SeekFrom::Start(0));
            let _ = e.read_to_string(&mut s);
            s
        };
        let outcome = match status.and_then(|s| s.code()) {
            Some(0) => "ran, exit 0".to_owned(),
            Some(3) => "ran, exit 3".to_owned(),
            Some(1) => {
                // Group runtime errors by the field or step they name.
                let last = stderr_text.lines().last().unwrap_or_default();
                let last = last.trim_start_matches("berth-runtime: ");
                let short = last.split(": ").take(2).collect::<Vec<_>>().join(": ");
                let short = short.replace(bundle.to_str().unwrap_or_default(), "BUNDLE");
                format!("error: {}", short.chars().take(60).collect::<String>())
            }
            other => format!("exit {other:?}"),
        };
        *outcomes.entry(outcome).or_insert(0usize) += 1;
        match status {
            None => fail(format!("hung for {CASE_TIMEOUT:?}")),
            Some(s) => {
                use std::os::unix::process::ExitStatusExt;
                if matches!(s.code(), Some(101 | 134)) || stderr_text.contains("panicked") {
                    fail(format!("panicked ({s}): {stderr_text}"));
                } else if let Some(sig) = s.signal() {
                    fail(format!("the runtime died of signal {sig}: {stderr_text}"));
                }
            }
        }
        // Orphans of a killed runtime come to us (subreaper): reap them.
        while let Ok(st) = nix::sys::wait::waitpid(None, Some(nix::sys::wait::WaitPidFlag::WNOHANG))
        {
            if st == nix::sys::wait::WaitStatus::StillAlive {
                break;
            }
        }
        if rt.state_dir(&x.id).exists() {
            fail(format!(
                "state directory left behind; stderr: {stderr_text}"
            ));
            let _ = Command::new(BIN)
                .arg("--root")
                .arg(rt.root.path())
                .args(["delete", "--force", &x.id])
                .status();
        }
        let left = leftover_cgroups(&x.id);
        if !left.is_empty() {
            fail(format!(
                "cgroups left behind: {left:?}; stderr: {stderr_text}"
            ));
            for name in &left {
                berth_testkit::remove_test_cgroup(&format!("/berth-test/{name}"));
            }
        }
        let new_mounts: Vec<String> = snapshot_mounts()
            .difference(&mounts_before)
            .filter(|m| m.contains(&tag) || m.contains(fuzz_root_real.to_str().unwrap()))
            .cloned()
            .collect();
        if !new_mounts.is_empty() {
            fail(format!("mounts left on the host: {new_mounts:?}"));
        }
        let escaped = tagged_files(&tag, &watched);
        if !escaped.is_empty() {
            fail(format!("files made outside the bundle: {escaped:?}"));
            for p in escaped {
                let _ = std::fs::remove_dir_all(&p).or_else(|_| std::fs::remove_file(&p));
            }
        }
    }
    let elapsed = started.elapsed();
    let mounts_after = snapshot_mounts();
    let stray: Vec<&String> = mounts_after.difference(&mounts_before).collect();
    assert!(
        stray.is_empty(),
        "mounts appeared on the host during the run: {stray:?}"
    );
    let remaining: Vec<_> = std::fs::read_dir(rt.root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert!(
        remaining.is_empty(),
        "state left under --root: {remaining:?}"
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} cases failed:\n{}",
        failures.len(),
        failures.join("\n---\n")
    );
    eprintln!("{cases} hostile configs in {elapsed:?}, seed {seed:#x}; outcomes:");
    for (outcome, n) in &outcomes {
        eprintln!("{n:5}  {outcome}");
    }
}
