//! config.json for representative option sets, compared with what berth
//! wrote when the spec was still string-keyed JSON (fixtures under
//! `tests/fixtures/spec/`). The comparison is on meaning: capability sets
//! are sorted, and the parts that depend on the machine (the seccomp
//! profile, checked in `seccomp_profile`, and the cgroup namespace, which
//! only cgroup v2 hosts get) are left out.

use crate::image_config::ResolvedUser;
use crate::options::{CreateOptions, NetworkMode, Ulimit, Volume};
use serde_json::Value;
use std::path::Path;

fn cases() -> Vec<(&'static str, CreateOptions)> {
    let base = CreateOptions::default;
    let volume = |s: &str| Volume::parse(s).unwrap();
    vec![
        ("default", base()),
        (
            "privileged",
            CreateOptions {
                privileged: true,
                ..base()
            },
        ),
        (
            "read-only",
            CreateOptions {
                read_only: true,
                tmpfs: vec!["/tmp:size=1m".into()],
                ..base()
            },
        ),
        (
            "tmpfs",
            CreateOptions {
                tmpfs: vec!["/scratch:size=1m,mode=700".into(), "/x".into()],
                ..base()
            },
        ),
        (
            "volumes",
            CreateOptions {
                volumes: vec![volume("/srv:/data:ro"), volume("/var/lib/x:/w")],
                ..base()
            },
        ),
        (
            "resources",
            CreateOptions {
                memory: Some(64 << 20),
                cpus: Some(1.5),
                pids_limit: Some(100),
                ..base()
            },
        ),
        (
            "ulimits",
            CreateOptions {
                ulimits: vec![
                    Ulimit::parse("nofile=100:200").unwrap(),
                    Ulimit::parse("nproc=unlimited").unwrap(),
                ],
                ..base()
            },
        ),
        (
            "tty",
            CreateOptions {
                tty: true,
                ..base()
            },
        ),
        (
            "network-bridge",
            CreateOptions {
                network: NetworkMode::Bridge,
                ..base()
            },
        ),
        (
            "network-none",
            CreateOptions {
                network: NetworkMode::None,
                ..base()
            },
        ),
        (
            "network-host",
            CreateOptions {
                network: NetworkMode::Host,
                ..base()
            },
        ),
        (
            "capabilities",
            CreateOptions {
                cap_add: vec!["net_admin".into(), "CAP_SYS_PTRACE".into()],
                cap_drop: vec!["chown".into()],
                ..base()
            },
        ),
        (
            "seccomp-unconfined",
            CreateOptions {
                seccomp_unconfined: true,
                ..base()
            },
        ),
    ]
}

/// The config.json of `opts` as JSON, over a fixed image and inputs.
fn config_json(opts: &CreateOptions) -> Value {
    let user = ResolvedUser {
        uid: 1000,
        gid: 1000,
        additional_gids: vec![10],
        home: Some("/home/u".into()),
    };
    let image = crate::image_config::parse(
        "t",
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},
            "config":{"Entrypoint":["/ep"],"Cmd":["a"],"Env":["A=1"],"WorkingDir":"/w"}}"#,
    )
    .unwrap();
    let inputs = crate::spec::SpecInputs {
        id: "0123456789abcdef",
        rootfs: Path::new("/r"),
        files: Path::new("/f"),
        cgroups_path: "/berth-test/x",
        hostname: "h",
        user: &user,
        netns: (opts.network == NetworkMode::Bridge).then_some(Path::new("/run/netns/x")),
    };
    let image = crate::image_config::execution(&image);
    let spec = crate::spec::build(opts, &image, &inputs).unwrap();
    serde_json::to_value(spec).unwrap()
}

/// What the runtime reads from it, independent of order in sets and of
/// the machine.
fn meaning(mut v: Value) -> Value {
    let linux = v["linux"].as_object_mut().unwrap();
    linux.remove("seccomp");
    if let Some(ns) = linux.get_mut("namespaces").and_then(Value::as_array_mut) {
        ns.retain(|n| n["type"] != "cgroup");
    }
    if let Some(caps) = v["process"]["capabilities"].as_object_mut() {
        for set in caps.values_mut() {
            if let Some(list) = set.as_array_mut() {
                list.sort_by_key(|c| c.as_str().unwrap_or_default().to_string());
            }
        }
    }
    v
}

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/spec/{name}.json"))
}

#[test]
fn config_json_means_what_it_meant() {
    for (name, opts) in cases() {
        let ours = meaning(config_json(&opts));
        let before: Value = serde_json::from_slice(&std::fs::read(fixture(name)).unwrap()).unwrap();
        assert_eq!(ours, before, "{name}");
    }
}
