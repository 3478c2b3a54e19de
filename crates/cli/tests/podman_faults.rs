//! Faults a podman user hit on berth, each reproduced as that user would:
//! `rmi -f` of an image with running containers, a closed stdout, loopback
//! under `--network none`, `wait` on a `--rm` container, `kill` then `rm`,
//! the logs of a foreground run, and podman's exit codes.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{alive, Env};
use std::os::unix::process::ExitStatusExt as _;
use std::process::Stdio;

fn pid_of(env: &Env, id: &str) -> i64 {
    env.state(id)["process"]["pid"].as_i64().unwrap()
}

#[test]
fn rmi_force_stops_and_removes_the_running_containers_of_the_image() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // Its own image (a label makes the id differ from busybox's).
    env.load_image("doomed", &serde_json::json!({"Labels": {"fate": "doomed"}}));
    let mut inits = Vec::new();
    for name in ["a", "b"] {
        let id = env.ok(&[
            "run",
            "-d",
            "--name",
            name,
            "--network",
            "none",
            "doomed",
            "sleep",
            "1000",
        ]);
        let id = id.trim().to_string();
        inits.push((
            pid_of(&env, &id),
            env.state(&id)["monitor"]["pid"].as_i64().unwrap(),
        ));
    }
    let out = env.berth(&["rmi", "doomed"]);
    assert_eq!(out.status.code(), Some(2), "in use: {out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("in use"),
        "{out:?}"
    );
    assert_eq!(env.ps().len(), 2, "a refused rmi removed containers");

    let out = env.ok(&["rmi", "-f", "doomed"]);
    assert!(out.contains("Deleted: "), "{out}");
    for (init, monitor) in inits {
        assert!(!alive(init), "the container's process still runs");
        assert!(!alive(monitor), "the container's monitor still runs");
    }
    assert!(env.ps().is_empty());
    assert_eq!(env.stored_containers(), 0);
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
    let left = std::fs::read_dir(env.runroot().join("containers"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(left, 0, "run state left behind");
    let out = env.berth(&["stop", "a"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no container"),
        "{out:?}"
    );
}

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    require!(is_root(), "the store needs root");
    let env = Env::new();
    for _ in 0..20 {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = env
            .command(&["inspect", "busybox"])
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{:?} {err}",
            out.status
        );
    }
}

#[test]
fn network_none_has_loopback_up() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--hostname",
        "lonely",
        "busybox",
        "sh",
        "-c",
        "httpd -p 127.0.0.1:8080 -h /etc && wget -q -O- http://127.0.0.1:8080/hostname",
    ]);
    assert_eq!(out.trim(), "lonely");
}

#[test]
fn wait_on_a_removed_as_it_exits_container_prints_its_code() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "run",
        "-d",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "sleep 0.5; exit 3",
    ]);
    let out = env.berth(&["wait", id.trim()]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "3", "{out:?}");
    assert!(out.status.success());
    assert!(env.ps().is_empty());
}

#[test]
fn kill_returns_once_the_container_exited() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    for _ in 0..5 {
        env.ok(&[
            "run",
            "-d",
            "--name",
            "k",
            "--network",
            "none",
            "busybox",
            "sleep",
            "1000",
        ]);
        env.ok(&["kill", "k"]);
        let ps = env.ps();
        assert_eq!(ps[0]["State"], "exited", "{ps:?}");
        assert_eq!(ps[0]["ExitCode"], 137, "{ps:?}");
        env.ok(&["rm", "k"]);
    }
}

/// `args` exits with `code`; its stderr.
fn exits(env: &Env, args: &[&str], code: i32) -> String {
    let out = env.berth(args);
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "berth {args:?}: {err}");
    err
}

#[test]
fn exit_codes_are_podman_s() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // Bad flags are berth's error; help is not an error.
    exits(&env, &["ps", "--no-such-flag"], 125);
    exits(&env, &["run"], 125);
    exits(&env, &["ps", "--help"], 0);
    // 127: no such command; 126: there but not executable, or no workdir.
    let none = ["run", "--rm", "--network", "none", "busybox"];
    exits(&env, &[&none[..], &["nosuch"]].concat(), 127);
    let err = exits(&env, &[&none[..], &["/etc"]].concat(), 126);
    assert!(err.contains("is a directory"), "{err}");
    exits(&env, &[&none[..], &["/etc/passwd"]].concat(), 126);
    let err = exits(
        &env,
        &[
            "run",
            "--rm",
            "--network",
            "none",
            "-w",
            "/x",
            "busybox",
            "pwd",
        ],
        126,
    );
    assert!(err.contains("workdir \"/x\" does not exist"), "{err}");
    assert!(env.ps().is_empty(), "a refused run left a container");
    // The container's own code.
    exits(&env, &[&none[..], &["sh", "-c", "exit 42"]].concat(), 42);
    // rm and rmi: 1 missing, 2 in use, silent with -f or --ignore.
    exits(&env, &["rm", "nosuch"], 1);
    exits(&env, &["rmi", "nosuch"], 1);
    for args in [
        &["rm", "-f", "nosuch"][..],
        &["rm", "--ignore", "nosuch"],
        &["rmi", "-f", "nosuch"],
        &["rmi", "--ignore", "nosuch"],
    ] {
        let out = env.berth(args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        assert!(
            out.stdout.is_empty() && out.stderr.is_empty(),
            "{args:?}: {out:?}"
        );
    }
    env.ok(&[
        "run",
        "-d",
        "--name",
        "busy",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    exits(&env, &["rm", "busy"], 2);
    exits(&env, &["rmi", "busybox"], 2);
    // Starting a running container is done already: its name, exit 0.
    assert_eq!(env.ok(&["start", "busy"]).trim(), "busy");
    env.ok(&["rm", "-f", "busy"]);
}

#[test]
fn foreground_output_is_logged() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let script = "echo out; echo err >&2; printf tail";
    let out = env.berth(&[
        "run",
        "--name",
        "fg",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\ntail");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    let logs = env.berth(&["logs", "fg"]);
    assert_eq!(String::from_utf8_lossy(&logs.stdout), "out\ntail");
    assert_eq!(String::from_utf8_lossy(&logs.stderr), "err\n");
    // start -a logs the next run after it.
    let out = env.berth(&["start", "-a", "fg"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\ntail");
    let logs = env.ok(&["logs", "fg"]);
    assert_eq!(logs, "out\ntailout\ntail");
    env.ok(&["rm", "fg"]);

    // With -t, what the pty said, under a real terminal from script(1).
    if std::path::Path::new("/usr/bin/script").exists() {
        let cmd = env.command(&[
            "run",
            "-t",
            "--name",
            "tt",
            "--network",
            "none",
            "busybox",
            "echo",
            "hi",
        ]);
        let line = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| format!("'{}'", a.to_string_lossy()))
            .collect::<Vec<_>>()
            .join(" ");
        let out = std::process::Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        assert_eq!(env.ok(&["logs", "tt"]), "hi\r\n");
        env.ok(&["rm", "tt"]);
    }
}
