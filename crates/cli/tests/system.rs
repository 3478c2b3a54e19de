//! `berth info`, `version` and `system df|prune` against a real store with
//! real containers: the numbers match what is there, prune removes exactly
//! what podman's would and keeps what is in use.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::Value;
use std::io::Write;
use std::process::Stdio;

fn json(env: &Env, args: &[&str]) -> Value {
    serde_json::from_str(&env.ok(args)).unwrap_or_else(|e| panic!("{args:?}: {e}"))
}

#[test]
fn info_describes_the_host_the_store_and_the_runtime() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "done",
        "busybox",
        "true",
    ]);
    let info = json(&env, &["info", "--format", "json"]);
    assert_eq!(info["host"]["os"], "linux");
    assert_eq!(
        info["host"]["kernel"].as_str().unwrap(),
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap()
            .trim()
    );
    assert!(matches!(
        info["host"]["cgroupVersion"].as_str(),
        Some("v1" | "v2")
    ));
    assert!(info["host"]["ociRuntime"]["version"]
        .as_str()
        .unwrap()
        .starts_with("berth-runtime "));
    assert_eq!(info["store"]["graphRoot"], env.root().to_str().unwrap());
    assert_eq!(info["store"]["runRoot"], env.runroot().to_str().unwrap());
    assert_eq!(info["store"]["imageStore"]["number"], 1);
    assert_eq!(info["store"]["containerStore"]["number"], 1);
    assert_eq!(info["store"]["containerStore"]["stopped"], 1);
    assert!(info["registries"]["search"].is_array());
    // The default form is podman's YAML-like one.
    let text = env.ok(&["info"]);
    assert!(text.starts_with("host:\n  arch: "), "{text}");
    assert!(text.contains("\nstore:\n"), "{text}");
    // `system info` is the same command.
    assert_eq!(
        json(&env, &["system", "info", "--format", "json"])["store"],
        info["store"]
    );
    assert!(!env
        .berth(&["info", "--format", "{{.Host.Arch"])
        .status
        .success());
}

#[test]
fn version_in_both_shapes() {
    require!(is_root(), "the runtime is found as root");
    let env = Env::new();
    let text = env.ok(&["version"]);
    assert!(text.starts_with(&format!("Version:      {}\n", env!("CARGO_PKG_VERSION"))));
    let v = json(&env, &["version", "--format", "json"]);
    assert_eq!(v["Client"]["Version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(v["Client"]["Os"], "linux");
}

fn df(env: &Env) -> Vec<Value> {
    json(env, &["system", "df", "--format", "json"])
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn df_counts_and_prune_removes_only_what_is_unused() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // A second, untagged image: dangling.
    env.load_image("other", &serde_json::json!({"Env": ["X=1"]}));
    env.ok(&["untag", "other"]);
    env.ok(&[
        "run",
        "--network",
        "none",
        "--name",
        "stopped",
        "busybox",
        "sh",
        "-c",
        "head -c 200000 /dev/zero > /big",
    ]);
    env.ok(&["volume", "create", "kept"]);
    env.ok(&["volume", "create", "loose"]);
    env.ok(&[
        "run",
        "-d",
        "--network",
        "none",
        "--name",
        "up",
        "-v",
        "kept:/data",
        "busybox",
        "sleep",
        "600",
    ]);
    let rows = df(&env);
    let row = |kind: &str| rows.iter().find(|r| r["Type"] == kind).unwrap().clone();
    assert_eq!(row("Images")["Total"], 2);
    assert_eq!(row("Images")["Active"], 1);
    assert_eq!(row("Containers")["Total"], 2);
    assert_eq!(row("Containers")["Active"], 1);
    assert!(row("Containers")["RawReclaimable"].as_u64().unwrap() >= 200_000);
    assert_eq!(row("Local Volumes")["Total"], 2);
    assert_eq!(row("Local Volumes")["Active"], 1);
    let text = env.ok(&["system", "df"]);
    assert!(text.starts_with("TYPE"), "{text}");

    // Without --force, anything but "y" keeps everything.
    let mut child = env
        .command(&["system", "prune", "--volumes"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"n\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("Are you sure"));
    assert_eq!(df(&env), rows, "a refused prune changed something");

    // Stopped containers, dangling images, unused volumes go; the running
    // container, its image and its volume stay.
    let out = env.ok(&["system", "prune", "--force", "--volumes"]);
    assert!(out.contains("Total reclaimed space:"), "{out}");
    let names: Vec<String> = env
        .ps()
        .iter()
        .map(|c| c["Names"][0].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(env.ps().len(), 1, "{names:?}");
    assert_eq!(env.ps()[0]["State"], "running");
    let volumes = env.ok(&["volume", "ls", "-q"]);
    assert_eq!(volumes, "kept\n");
    let images = json(&env, &["images", "--format", "json"]);
    assert_eq!(images.as_array().unwrap().len(), 1);
    assert_eq!(env.ok(&["exec", "up", "echo", "alive"]), "alive\n");

    // -a takes unused named images too, once nothing uses them.
    env.ok(&["rm", "-f", "up"]);
    env.ok(&["system", "prune", "-a", "-f", "--volumes"]);
    let rows = df(&env);
    assert!(rows.iter().all(|r| r["Total"] == 0), "{rows:?}");
}
