//! `container prune` and `exec -d`, `--env-file`, `--privileged` on real
//! containers.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::io::Write;
use std::process::Stdio;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn id_of(env: &Env, name: &str) -> String {
    env.ok(&["inspect", "--format", "{{.Id}}", name])
        .trim()
        .to_string()
}

#[test]
fn container_prune_removes_what_does_not_run_and_prints_ids() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "create", "--name", "made", "--label", "keep=yes", "busybox", "true",
    ]);
    env.ok(&["run", "--name", "done", "busybox", "true"]);
    env.ok(&["run", "-d", "--name", "live", "busybox", "sleep", "1000"]);
    env.ok(&["run", "-d", "--name", "frozen", "busybox", "sleep", "1000"]);
    env.ok(&["pause", "frozen"]);
    let (made, done) = (id_of(&env, "made"), id_of(&env, "done"));
    // Not confirmed: nothing goes.
    let mut ask = env
        .command(&["container", "prune"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    ask.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = ask.wait_with_output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "WARNING! This will remove all non running containers.\nAre you sure you want to continue? [y/N] "
    );
    assert_eq!(env.ps().len(), 4);
    // A label filter keeps the others; `until` in the past keeps all.
    assert_eq!(
        env.ok(&["container", "prune", "-f", "--filter", "until=1h"]),
        ""
    );
    assert_eq!(
        env.ok(&["container", "prune", "-f", "--filter", "label=keep=yes"]),
        format!("{made}\n")
    );
    assert_eq!(env.ok(&["container", "prune", "-f"]), format!("{done}\n"));
    let mut left: Vec<String> = env
        .ok(&["ps", "-a", "--format", "{{.Names}}"])
        .lines()
        .map(String::from)
        .collect();
    left.sort();
    assert_eq!(left, ["frozen", "live"]);
    let bad = env.berth(&["container", "prune", "-f", "--filter", "bogus=1"]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(
        stderr(&bad).contains("bogus is an invalid filter"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn exec_detached_with_an_env_file_and_privileged() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "x", "busybox", "sleep", "1000"]);
    let file = env.dir.path().join("exec.env");
    std::fs::write(&file, "# comment\nFROM_FILE=one\nBOTH=file\n").unwrap();
    let file = file.to_str().unwrap();
    let out = env.ok(&[
        "exec",
        "--env-file",
        file,
        "-e",
        "BOTH=flag",
        "x",
        "sh",
        "-c",
        "echo $FROM_FILE $BOTH",
    ]);
    assert_eq!(out, "one flag\n");
    let missing = env.berth(&["exec", "--env-file", "/nonexistent.env", "x", "true"]);
    assert_eq!(missing.status.code(), Some(125));
    assert!(
        stderr(&missing).contains("/nonexistent.env"),
        "{}",
        stderr(&missing)
    );

    // -d returns at once with a session id; the process runs on.
    let started = std::time::Instant::now();
    let id = env.ok(&[
        "exec",
        "-d",
        "x",
        "sh",
        "-c",
        "sleep 1; touch /tmp/ran; sleep 1000",
    ]);
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
    let id = id.trim();
    assert_eq!(id.len(), 64, "{id}");
    assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    eventually("the detached exec to run", || {
        env.berth(&["exec", "x", "test", "-e", "/tmp/ran"])
            .status
            .success()
    });
    eventually("the detached exec's last command", || {
        env.ok(&["top", "x"]).contains("sleep 1000")
    });

    // --privileged: every capability in the effective set; without, not.
    let caps = |args: &[&str]| {
        let mut all = vec!["exec"];
        all.extend_from_slice(args);
        all.extend(["x", "grep", "CapEff", "/proc/self/status"]);
        env.ok(&all).split_whitespace().nth(1).unwrap().to_string()
    };
    let full = caps(&["--privileged"]);
    let plain = caps(&[]);
    let bits = |h: &str| u64::from_str_radix(h, 16).unwrap().count_ones();
    assert!(bits(&full) >= 40, "{full}");
    assert!(bits(&plain) < bits(&full), "{plain} vs {full}");
    // exec into a paused container is refused.
    env.ok(&["pause", "x"]);
    let paused = env.berth(&["exec", "x", "true"]);
    assert_eq!(paused.status.code(), Some(125), "{}", stderr(&paused));
    env.ok(&["unpause", "x"]);
}
