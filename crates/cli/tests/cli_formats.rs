//! What scripts parse, as podman prints it: `--format` templates and JSON,
//! list filters and flags, the `container`/`image` groups with `exists`,
//! `logs` flags, `wait --condition` and `rm --all`.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::Value;

fn lines(s: &str) -> Vec<&str> {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort();
    v
}

/// Three containers: `up` (running, labelled), `done` (exited 3), `new`.
fn three(env: &Env) {
    let none = ["--network", "none"];
    env.ok(&[
        &["run", "-d", "--name", "up", "-l", "tier=web"][..],
        &none,
        &["busybox", "sleep", "1000"],
    ]
    .concat());
    let out = env.berth(
        &[
            &["run", "--name", "done"][..],
            &none,
            &["busybox", "sh", "-c", "echo bye; exit 3"],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(3));
    env.ok(&[
        &["create", "--name", "new"][..],
        &none,
        &["busybox", "true"],
    ]
    .concat());
}

#[test]
fn ps_templates_filters_and_flags() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    three(&env);
    assert_eq!(env.ok(&["ps", "--format", "{{.Names}}"]), "up\n");
    let all = env.ok(&["ps", "-a", "--format", "{{.Names}} {{.State}}"]);
    assert_eq!(lines(&all), ["done exited", "new created", "up running"]);
    let table = env.ok(&["ps", "-a", "--format", "table {{.Names}}\t{{.State}}"]);
    assert!(table.starts_with("NAMES"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
    let quiet_head = env.ok(&["ps", "-a", "--noheading"]);
    assert_eq!(quiet_head.lines().count(), 3, "{quiet_head}");
    let f = |filter: &str| env.ok(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"]);
    assert_eq!(f("status=exited"), "done\n");
    assert_eq!(f("exited=3"), "done\n");
    assert_eq!(f("label=tier=web"), "up\n");
    assert_eq!(f("label=tier"), "up\n");
    assert_eq!(f("name=^ne"), "new\n");
    assert_eq!(lines(&f("ancestor=busybox")), ["done", "new", "up"]);
    let two = env.ok(&[
        "ps",
        "-a",
        "--filter",
        "status=exited",
        "--filter",
        "status=created",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(lines(&two), ["done", "new"]);
    assert_eq!(env.ok(&["ps", "-q", "-l"]).trim().len(), 12);
    assert_eq!(
        env.ok(&["ps", "-q", "--no-trunc", "-n", "2"])
            .lines()
            .count(),
        2
    );
    let sorted = env.ok(&["ps", "-a", "--sort", "names", "--format", "{{.Names}}"]);
    assert_eq!(sorted, "done\nnew\nup\n");
    let bad = env.berth(&["ps", "--filter", "colour=red"]);
    assert_eq!(bad.status.code(), Some(125));
    // JSON rows have podman's keys and types.
    let rows: Value = serde_json::from_str(&env.ok(&["ps", "-a", "--format", "json"])).unwrap();
    let done = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["Names"][0] == "done")
        .unwrap();
    assert_eq!(done["ExitCode"], 3);
    assert!(done["ExitedAt"].as_i64().unwrap() > 0 && done["Created"].is_u64());
    assert_eq!(done["Image"], "localhost/busybox:latest");
    for key in [
        "AutoRemove",
        "Command",
        "Id",
        "ImageID",
        "Labels",
        "Mounts",
        "Pid",
        "Ports",
        "State",
        "Status",
    ] {
        assert!(done.get(key).is_some(), "{key} missing: {done}");
    }
    env.ok(&["rm", "-a", "-f"]);
    assert!(env.ps().is_empty());
}

#[test]
fn inspect_is_podman_s_shape_and_takes_templates() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    three(&env);
    let v: Value = serde_json::from_str(&env.ok(&["inspect", "up"])).unwrap();
    let c = &v[0];
    let state = &c["State"];
    assert_eq!(state["Status"], "running");
    assert_eq!(state["Running"], true);
    assert!(state["Pid"].as_i64().unwrap() > 0);
    for key in ["Paused", "ExitCode", "StartedAt", "FinishedAt", "OOMKilled"] {
        assert!(state.get(key).is_some(), "State.{key}: {state}");
    }
    let config = &c["Config"];
    assert_eq!(config["Cmd"], serde_json::json!(["sleep", "1000"]));
    assert_eq!(config["Labels"]["tier"], "web");
    assert!(config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().starts_with("PATH=")));
    assert_eq!(config["StopSignal"], 15);
    assert_eq!(config["Tty"], false);
    assert_eq!(config["WorkingDir"], "/");
    assert_eq!(c["HostConfig"]["NetworkMode"], "none");
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.State.Status}}", "done"]),
        "exited\n"
    );
    assert_eq!(
        env.ok(&["inspect", "--format", "{{.State.ExitCode}}", "done"]),
        "3\n"
    );
    assert_eq!(
        env.ok(&["inspect", "-f", "{{index .Config.Labels \"tier\"}}", "up"]),
        "web\n"
    );
    // An image: its real Created, tags and digests.
    let img: Value = serde_json::from_str(&env.ok(&["inspect", "busybox"])).unwrap();
    assert_eq!(img[0]["RepoTags"][0], "localhost/busybox:latest");
    assert!(img[0]["RepoDigests"][0]
        .as_str()
        .unwrap()
        .starts_with("localhost/busybox@sha256:"));
    assert_eq!(
        env.ok(&["inspect", "-f", "{{.Architecture}}", "busybox"])
            .trim(),
        img[0]["Architecture"]
    );
    let bad = env.berth(&["inspect", "-f", "{{.Nope}}", "up"]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("can't evaluate field Nope"));
    env.ok(&["rm", "-a", "-f"]);
}

#[test]
fn images_volumes_groups_and_exists() {
    require!(is_root(), "the store needs root");
    let env = Env::new();
    env.load_image("labelled", &serde_json::json!({"Labels": {"x": "1"}}));
    let names = env.ok(&["images", "--format", "{{.Repository}}:{{.Tag}}"]);
    assert_eq!(
        lines(&names),
        ["localhost/busybox:latest", "localhost/labelled:latest"]
    );
    assert_eq!(
        env.ok(&[
            "images",
            "--filter",
            "label=x=1",
            "--format",
            "{{.Repository}}"
        ]),
        "localhost/labelled\n"
    );
    assert_eq!(
        env.ok(&[
            "images",
            "--filter",
            "reference=busy*",
            "--noheading",
            "--format",
            "{{.Tag}}"
        ]),
        "latest\n"
    );
    assert_eq!(env.ok(&["images", "--filter", "dangling=true", "-q"]), "");
    assert_eq!(env.ok(&["images", "-q"]).lines().count(), 2);
    let json: Value = serde_json::from_str(&env.ok(&["images", "--format", "json"])).unwrap();
    assert!(
        json[0]["RepoDigests"].is_array()
            && json[0]["Size"].is_u64()
            && json[0]["CreatedAt"].is_string()
    );
    let digests = env.ok(&["images", "--digests"]);
    assert!(
        digests.starts_with("REPOSITORY") && digests.contains("sha256:"),
        "{digests}"
    );
    // Groups and exists.
    assert_eq!(env.ok(&["image", "ls", "-q"]), env.ok(&["images", "-q"]));
    assert!(env.berth(&["image", "exists", "busybox"]).status.success());
    let no = env.berth(&["image", "exists", "nope"]);
    assert_eq!(no.status.code(), Some(1));
    assert!(no.stderr.is_empty() && no.stdout.is_empty());
    assert_eq!(
        env.berth(&["container", "exists", "nope"]).status.code(),
        Some(1)
    );
    env.ok(&["volume", "create", "v1"]);
    assert!(env.berth(&["volume", "exists", "v1"]).status.success());
    assert_eq!(
        env.berth(&["volume", "exists", "v2"]).status.code(),
        Some(1)
    );
    assert_eq!(
        env.ok(&["volume", "ls", "--format", "{{.Name}}:{{.Driver}}"]),
        "v1:local\n"
    );
    assert_eq!(
        env.ok(&["volume", "inspect", "-f", "{{.Name}}", "v1"]),
        "v1\n"
    );
    assert_eq!(
        env.ok(&["volume", "ls", "--filter", "dangling=true", "-q"]),
        "v1\n"
    );
    let driver = env.ok(&["info", "--format", "{{.Store.GraphDriverName}}"]);
    assert!(
        ["overlay\n", "vfs\n"].contains(&driver.as_str()),
        "{driver}"
    );
    assert_eq!(
        env.ok(&["version", "--format", "{{.Client.Version}}"])
            .trim(),
        env!("CARGO_PKG_VERSION")
    );
    env.ok(&["volume", "rm", "v1"]);
}

#[test]
fn logs_flags_and_wait_conditions() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    three(&env);
    let stamped = env.ok(&["logs", "-t", "done"]);
    let (time, text) = stamped.trim_end().split_once(' ').unwrap();
    assert!(humantime::parse_rfc3339_weak(time).is_ok(), "{stamped}");
    assert_eq!(text, "bye");
    assert_eq!(env.ok(&["logs", "--since", "10m", "done"]), "bye\n");
    assert_eq!(env.ok(&["logs", "--until", "10m", "done"]), "");
    assert_eq!(env.ok(&["logs", "-n", "done", "up"]), "done bye\n");
    assert_eq!(
        env.ok(&["wait", "--condition", "running", "up"]).trim(),
        "-1"
    );
    assert_eq!(
        env.ok(&["wait", "--condition", "created", "new"]).trim(),
        "-1"
    );
    env.ok(&["rm", "-a", "-f"]);
    assert!(env.ps().is_empty());
}

/// A boolean flag takes a value only after `=`, as Go's flags: the word
/// after a bare `--tls-verify` or `-H` is the image, not the flag's value.
#[test]
fn bare_boolean_flags_leave_the_next_word_alone() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let none = ["--network", "none"];
    let out = env.ok(&[
        &["run", "--rm", "--tls-verify"][..],
        &none,
        &["busybox", "echo", "ran"],
    ]
    .concat());
    assert_eq!(out, "ran\n");
    let out = env.ok(&[
        &["run", "--rm", "--tls-verify=false"][..],
        &none,
        &["busybox", "echo", "ran"],
    ]
    .concat());
    assert_eq!(out, "ran\n");
    let human = env.ok(&["history", "-H", "busybox"]);
    let exact = env.ok(&["history", "-H=false", "busybox"]);
    assert!(human.contains("ago"), "{human}");
    assert!(!exact.contains("ago"), "{exact}");
}
