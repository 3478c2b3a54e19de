//! The default /etc/berth/ the Debian package installs
//! (packaging/etc/berth/): as shipped, every key commented out, it changes
//! nothing; with its examples uncommented it still parses, and the values
//! reach the container.

mod engine_env;

use engine_env::Env;
use std::path::Path;

const PACKAGED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../packaging/etc/berth");
const FILES: [&str; 3] = ["storage.conf", "containers.conf", "registries.conf"];
/// What the container sees of the defaults containers.conf sets.
const PROBE: &str =
    "echo nofile=$(ulimit -n); echo TERM=${TERM:-unset}; grep CapEff /proc/self/status";

/// Put the packaged files where `env`'s berth reads /etc/berth from; with
/// `uncomment`, every example line uncommented: `#key = ...`, `#[table]`,
/// `#  "item",` (the prose is `# text`).
fn install(env: &Env, uncomment: bool) {
    let etc = env.dir.path().join("sysconf/etc/berth");
    std::fs::create_dir_all(&etc).unwrap();
    for f in FILES {
        let text = std::fs::read_to_string(Path::new(PACKAGED).join(f)).unwrap();
        let text = if uncomment {
            text.lines()
                .map(|l| match l.strip_prefix('#') {
                    Some(rest)
                        if rest.starts_with("  ")
                            || rest.chars().next().is_some_and(|c| c != ' ') =>
                    {
                        rest
                    }
                    _ => l,
                })
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            text
        };
        std::fs::write(etc.join(f), text).unwrap();
    }
}

fn probe(env: &Env) -> String {
    env.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        PROBE,
    ])
}

fn search_registries(env: &Env) -> serde_json::Value {
    let info: serde_json::Value =
        serde_json::from_str(&env.ok(&["info", "--format", "json"])).unwrap();
    info["registries"]["search"].clone()
}

#[test]
fn the_packaged_config_as_shipped_changes_nothing() {
    let env = Env::new();
    let before = probe(&env);
    let search = search_registries(&env);
    install(&env, false);
    assert_eq!(probe(&env), before);
    assert_eq!(search_registries(&env), search);
    assert_eq!(search, serde_json::json!(["docker.io"]));
}

#[test]
fn the_packaged_examples_uncommented_parse_and_apply() {
    let env = Env::new();
    let default_caps = probe(&env)
        .lines()
        .find(|l| l.starts_with("CapEff"))
        .unwrap()
        .to_string();
    install(&env, true);
    let out = probe(&env);
    assert!(out.contains("nofile=1024\n"), "{out}");
    assert!(out.contains("TERM=xterm\n"), "{out}");
    // The listed capabilities are the built-in default set.
    assert!(out.contains(&default_caps), "{out} vs {default_caps}");
    assert_eq!(search_registries(&env), serde_json::json!(["docker.io"]));
}
