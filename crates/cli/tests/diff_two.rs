//! `diff A B` as podman 4.3's: what changed from B's filesystem to A's,
//! each a container or an image, in lines or `--format json`; nothing is
//! left mounted, and a missing name is a clear error.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::{json, Value};

fn run(env: &Env, name: &str, script: &str) {
    env.ok(&[
        "run",
        "--name",
        name,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        script,
    ]);
}

fn mounts_under(env: &Env) -> Vec<String> {
    let root = env.dir.path().display().to_string();
    std::fs::read_to_string("/proc/mounts")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&root))
        .map(str::to_string)
        .collect()
}

#[test]
fn diff_of_two_containers_and_of_a_container_and_an_image() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    run(&env, "x", "echo a > /a; echo b > /b; rm /etc/group");
    run(&env, "y", "echo a2 > /a; echo d > /d; rm /etc/passwd");

    let out = env.ok(&["diff", "x", "y"]);
    let lines: Vec<&str> = out.lines().collect();
    for want in [
        "C /a",
        "A /b",
        "D /d",
        "C /etc",
        "D /etc/group",
        "A /etc/passwd",
    ] {
        assert!(lines.contains(&want), "{want} missing from\n{out}");
    }
    // Nothing else but the mount points berth made in each (hostname,
    // hosts, resolv.conf), which differ in time.
    let known = [
        "C /a",
        "A /b",
        "D /d",
        "C /etc",
        "D /etc/group",
        "A /etc/passwd",
        "C /etc/hostname",
        "C /etc/hosts",
        "C /etc/resolv.conf",
    ];
    for l in &lines {
        assert!(known.contains(l), "{l} in\n{out}");
    }
    // The other way round, the opposite.
    let back = env.ok(&["diff", "y", "x"]);
    for want in ["A /d", "D /b", "A /etc/group", "D /etc/passwd"] {
        assert!(back.lines().any(|l| l == want), "{want} missing:\n{back}");
    }

    // A container against its image: the container's own changes.
    let out = env.ok(&["diff", "x", "busybox"]);
    let lines: Vec<&str> = out.lines().collect();
    for want in ["A /a", "A /b", "C /etc", "D /etc/group"] {
        assert!(lines.contains(&want), "{want} missing from\n{out}");
    }
    assert!(
        !lines.contains(&"A /d") && !out.contains("/etc/passwd"),
        "{out}"
    );
    // An image against a container, and an image against itself.
    let out = env.ok(&["diff", "busybox", "x"]);
    assert!(out.lines().any(|l| l == "D /a"), "{out}");
    assert_eq!(env.ok(&["diff", "busybox", "busybox"]), "");

    // podman's JSON.
    let json: Value =
        serde_json::from_str(&env.ok(&["diff", "--format", "json", "x", "y"])).unwrap();
    assert_eq!(json["added"], json!(["/b", "/etc/passwd"]));
    assert_eq!(json["changed"][0], "/a");
    assert_eq!(json["deleted"], json!(["/d", "/etc/group"]));

    assert!(mounts_under(&env).is_empty(), "{:?}", mounts_under(&env));

    // Bad input: a clear error, exit 125, nothing left mounted.
    let bad = env.berth(&["diff", "x", "nosuch"]);
    assert_eq!(bad.status.code(), Some(125));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("nosuch not found"), "{err}");
    let bad = env.berth(&["diff", "x", "y", "busybox"]);
    assert_eq!(bad.status.code(), Some(125));
    assert!(mounts_under(&env).is_empty(), "{:?}", mounts_under(&env));
    env.ok(&["rm", "x", "y"]);
}
