//! A foreground `run -i` runs under the container's monitor, as podman's
//! does under conmon: it outlives a client that was killed. The end of
//! the client's stdin closes the container's (a `cat` in it ends), for
//! `run -i` and `attach` alike; without a terminal the detach keys are
//! plain input, as podman 4.3 passes them. And `attach --latest`.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::io::Write;
use std::process::Stdio;

fn status(env: &Env, name: &str) -> String {
    env.inspect(name)["State"]["Status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn run_i_passes_stdin_and_its_end_and_no_detach_keys() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let mut run = env
        .command(&["run", "-i", "--rm", "busybox", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // ctrl-p ctrl-q without a terminal are bytes for the container.
    run.stdin
        .take()
        .unwrap()
        .write_all(b"hi\n\x10\x11")
        .unwrap();
    let out = run.wait_with_output().unwrap();
    assert_eq!(out.stdout, b"hi\n\x10\x11");
    assert_eq!(out.status.code(), Some(0));
    assert!(env.ps().is_empty(), "{:?}", env.ps());
}

#[test]
fn run_i_outlives_a_killed_client_under_its_monitor() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let mut run = env
        .command(&[
            "run",
            "-i",
            "--name",
            "k",
            "busybox",
            "sh",
            "-c",
            "echo up; read line; echo got $line; exit 4",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    eventually("the container to start", || {
        String::from_utf8_lossy(&env.berth(&["logs", "k"]).stdout).contains("up")
    });
    run.kill().unwrap();
    run.wait().unwrap();
    // Its monitor holds it: still running, and reachable by attach.
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(status(&env, "k"), "running");
    let mut attach = env
        .command(&["attach", "k"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    attach.stdin.take().unwrap().write_all(b"there\n").unwrap();
    let out = attach.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got there\n");
    assert_eq!(out.status.code(), Some(4));
    // The monitor logged all of it and recorded the exit.
    assert_eq!(env.ok(&["logs", "k"]), "up\ngot there\n");
    assert_eq!(env.inspect("k")["State"]["ExitCode"], 4);
    env.ok(&["rm", "k"]);
}

#[test]
fn attach_latest_and_the_end_of_its_stdin() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // podman's words, before there is anything to attach to.
    for (args, words) in [
        (
            &["attach"][..],
            "requires a name, id, or the \"--latest\" flag",
        ),
        (
            &["attach", "-l", "x"][..],
            "--latest and containers cannot be used together",
        ),
        (&["attach", "--latest"][..], "no such container"),
    ] {
        let out = env.berth(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(words), "{args:?}: {err}");
    }
    env.ok(&["run", "-d", "--name", "old", "busybox", "sleep", "1000"]);
    env.ok(&[
        "run",
        "-di",
        "--name",
        "new",
        "busybox",
        "sh",
        "-c",
        "cat; echo cat-ended; exit 6",
    ]);
    // -l is the one made last; the end of our stdin ends its cat.
    let mut attach = env
        .command(&["attach", "-l"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    attach.stdin.take().unwrap().write_all(b"hello\n").unwrap();
    let out = attach.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\ncat-ended\n");
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(status(&env, "old"), "running");
    env.ok(&["rm", "-f", "old", "new"]);
}
