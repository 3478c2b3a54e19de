//! `berth events`: the journal every berth process appends to, read back
//! as podman 4.3 prints its own file-logged events.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

fn journal(env: &Env, extra: &[&str]) -> Vec<Value> {
    let mut args = vec!["events", "--stream=false", "--format", "json"];
    args.extend_from_slice(extra);
    env.ok(&args)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_container_s_life_is_in_the_journal_in_order() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "e", "busybox", "sleep", "1000"]);
    let id = env
        .ok(&["inspect", "--format", "{{.Id}}", "e"])
        .trim()
        .to_string();
    env.ok(&["pause", "e"]);
    env.ok(&["unpause", "e"]);
    env.ok(&["rename", "e", "e2"]);
    env.ok(&["kill", "e2"]);
    env.ok(&["rm", "e2"]);
    let mine: Vec<Value> = journal(&env, &[])
        .into_iter()
        .filter(|e| e["ID"] == id.as_str())
        .collect();
    let statuses: Vec<&str> = mine.iter().map(|e| e["Status"].as_str().unwrap()).collect();
    // The monitor records the death while kill returns: either order.
    let (head, tail) = statuses.split_at(6);
    assert_eq!(
        head,
        ["create", "init", "start", "pause", "unpause", "rename"],
        "{statuses:?}"
    );
    let mut middle = tail[..2].to_vec();
    middle.sort();
    assert_eq!(middle, ["died", "kill"], "{statuses:?}");
    // podman's cleanup once the monitor released the run.
    assert_eq!(tail[2..], ["cleanup", "remove"], "{statuses:?}");
    let died = mine.iter().find(|e| e["Status"] == "died").unwrap();
    assert_eq!(died["ContainerExitCode"], 137);
    assert_eq!(died["Name"], "e2");
    assert_eq!(mine[0]["Name"], "e");
    assert_eq!(mine[0]["Image"], "busybox");
    assert_eq!(mine[0]["Type"], "container");
    // podman's keys, in podman's order (read from the text itself).
    let text = env.ok(&[
        "events",
        "--stream=false",
        "--format",
        "json",
        "--filter",
        "event=died",
    ]);
    let line = text.lines().find(|l| l.contains(&id)).unwrap();
    let mut at = 0;
    for key in [
        "ContainerExitCode",
        "ID",
        "Image",
        "Name",
        "Status",
        "Time",
        "Type",
        "Attributes",
    ] {
        let found = line[at..].find(&format!("\"{key}\":"));
        at += found.unwrap_or_else(|| panic!("{key} missing or out of order in {line}"));
    }
    assert_eq!(died.as_object().unwrap().len(), 8);

    // The text line, filters and templates.
    let text = env.ok(&["events", "--stream=false", "--filter", "event=create"]);
    let line = text.lines().find(|l| l.contains(&id)).unwrap();
    let re = regex_lite(line);
    assert!(re, "{line}");
    assert!(
        line.ends_with(&format!(
            " +0000 UTC container create {id} (image=busybox, name=e)"
        )),
        "{line}"
    );
    let only = env.ok(&[
        "events",
        "--stream=false",
        "--filter",
        "container=e2",
        "--filter",
        "event=died",
        "--format",
        "{{.Status}} {{.Name}} {{.ContainerExitCode}}",
    ]);
    assert_eq!(only, "died e2 137\n");
    // --since in the future and --until in the past leave nothing.
    assert!(journal(&env, &["--since", "2999-01-01T00:00:00Z"]).is_empty());
    assert!(journal(&env, &["--until", "2000-01-01T00:00:00Z"]).is_empty());
    assert!(!journal(&env, &["--since", "10m"]).is_empty());
    let bad = env.berth(&["events", "--stream=false", "--filter", "bogus=1"]);
    assert_eq!(bad.status.code(), Some(125), "{}", stderr(&bad));

    // Image events: tag, and rmi of a second name (an untag).
    env.ok(&["tag", "busybox", "localhost/other:1"]);
    env.ok(&["rmi", "localhost/other:1"]);
    let images = journal(&env, &["--filter", "type=image"]);
    let seen: Vec<(&str, &str)> = images
        .iter()
        .map(|e| (e["Status"].as_str().unwrap(), e["Name"].as_str().unwrap()))
        .collect();
    // run's own pull first (podman writes one even for a local image).
    assert_eq!(
        seen,
        [
            ("pull", "busybox"),
            ("tag", "localhost/other:1"),
            ("untag", "localhost/other:1")
        ]
    );
    assert_eq!(images[0]["Type"], "image");
}

/// `DATE TIME[.FRACTION] +0000 UTC …`, as Go prints a time.
fn regex_lite(line: &str) -> bool {
    let (date, rest) = line.split_at(10);
    let time = rest.trim_start().split(' ').next().unwrap_or("");
    date.len() == 10
        && date.as_bytes()[4] == b'-'
        && time.len() >= 8
        && time.as_bytes()[2] == b':'
        && rest.trim_start()[time.len()..].starts_with(" +0000 UTC ")
}

#[test]
fn events_follows_what_other_processes_append() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["create", "--name", "before", "busybox", "true"]);
    let mut follow = env
        .command(&["events", "--filter", "event=start", "--format", "{{.Name}}"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let out = follow.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    // Started after the follower opened the journal: only new events.
    std::thread::sleep(Duration::from_millis(500));
    env.ok(&["run", "--name", "later", "busybox", "true"]);
    let got = rx.recv_timeout(Duration::from_secs(10));
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(got.unwrap(), "later");
    assert!(
        rx.try_recv().is_err(),
        "the follower printed more than the start"
    );
    // Several writers at once: every line whole.
    std::thread::scope(|s| {
        for i in 0..4 {
            let env = &env;
            s.spawn(move || {
                for j in 0..3 {
                    env.ok(&["create", "--name", &format!("c{i}-{j}"), "busybox", "true"]);
                }
            });
        }
    });
    eventually("twelve creates", || {
        journal(&env, &["--filter", "event=create"]).len() == 14
    });
}

#[test]
fn attach_and_cleanup_events_as_podman_writes_them() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // A foreground run is attached to; its end is cleaned up (a --rm one
    // is removed instead).
    env.ok(&["run", "--name", "fg", "busybox", "true"]);
    env.ok(&["run", "--rm", "--name", "gone", "busybox", "true"]);
    env.ok(&["run", "-d", "--name", "bg", "busybox", "sleep", "1000"]);
    let attach = env.command(&["attach", "bg"]).spawn().unwrap();
    eventually("the attach event of bg", || {
        journal(
            &env,
            &["--filter", "event=attach", "--filter", "container=bg"],
        )
        .len()
            == 1
    });
    env.ok(&["stop", "-t", "0", "bg"]);
    attach.wait_with_output().unwrap();
    let of = |name: &str| -> Vec<String> {
        journal(&env, &["--filter", &format!("container={name}")])
            .iter()
            .map(|e| e["Status"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        of("fg"),
        ["create", "init", "start", "attach", "died", "cleanup"]
    );
    assert_eq!(
        of("gone"),
        ["create", "init", "start", "attach", "died", "remove"]
    );
    let bg = of("bg");
    assert_eq!(bg[..4], ["create", "init", "start", "attach"], "{bg:?}");
    // `stop` returns while the monitor records the end: stop's event
    // may come anywhere after attach; cleanup follows died.
    let at = |what: &str| bg.iter().position(|s| s == what).unwrap();
    assert!(at("died") < at("cleanup"), "{bg:?}");
    assert_eq!(bg.len(), 7, "{bg:?}");
    // The filter and podman's keys: no exit code on a cleanup.
    let cleanups = journal(&env, &["--filter", "event=cleanup"]);
    assert_eq!(cleanups.len(), 2, "{cleanups:?}");
    assert!(
        cleanups[0].get("ContainerExitCode").is_none(),
        "{cleanups:?}"
    );
    assert_eq!(cleanups[0]["Name"], "fg");
    assert_eq!(cleanups[0]["Type"], "container");
}
