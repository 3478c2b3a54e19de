//! Bad input gets one clear error and leaves nothing behind: no state dir,
//! no cgroup, no process.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::json;

/// Create `b` and expect failure with `needle` in the error; then check
/// nothing of the container remains.
fn assert_create_fails(rt: &Runtime, b: &Bundle, needle: &str) {
    rt.track(b);
    let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success(), "create should fail");
    let err = stderr(&out);
    assert!(
        err.contains(needle),
        "error {err:?} should mention {needle:?}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one error line: {err:?}");
    assert!(!rt.state_dir(&b.id).exists(), "no state dir left");
    assert!(!cgroup_exists(&b.cgroups_path), "no cgroup left");
}

#[test]
fn malformed_config_json() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["true"]);
    std::fs::write(
        b.path().join("config.json"),
        "{\"ociVersion\": \"1.2.0\", \"process\": [",
    )
    .unwrap();
    assert_create_fails(&rt, &b, "is not a valid OCI runtime config");
}

#[test]
fn missing_config_json() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["true"]);
    std::fs::remove_file(b.path().join("config.json")).unwrap();
    assert_create_fails(&rt, &b, "cannot read runtime config");
}

#[test]
fn rootfs_that_does_not_exist() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["root"]["path"] = json!("no-such-rootfs");
    b.write_config().unwrap();
    assert_create_fails(&rt, &b, "no-such-rootfs");
}

#[test]
fn unknown_namespace_type() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "bogus"}));
    b.write_config().unwrap();
    assert_create_fails(&rt, &b, "bogus");
}

#[test]
fn executable_not_found_fails_create() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["no-such-command"]);
    assert_create_fails(&rt, &b, "executable file not found");
}

#[test]
fn failing_mount_is_reported_and_cleaned_up() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["mounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"destination": "/data", "type": "bind", "source": "/no/such/source", "options": ["rbind"]}));
    b.write_config().unwrap();
    assert_create_fails(&rt, &b, "/no/such/source");
}

#[test]
fn duplicate_container_id() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let b = bundle(&["sleep", "60"]);
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("already exists"), "{}", stderr(&out));
    // The first container is untouched.
    assert_eq!(rt.state(&b.id)["status"], "created");
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    // Created, not stopped: removing it takes --force (runtime spec).
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn start_of_a_container_that_is_not_created() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let missing = rt.run(&["start", "nope"]);
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("does not exist"));

    let b = bundle(&["true"]);
    rt.track(&b);
    rt.ok(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["start", &b.id]);
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    let out = rt.run(&["start", &b.id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("stopped"), "{}", stderr(&out));
    rt.ok(&["delete", &b.id]);
}

#[test]
fn invalid_ids_are_refused() {
    let rt = Runtime::new();
    for id in ["../escape", "a/b", ""] {
        let out = rt.run(&["state", id]);
        assert!(!out.status.success());
        assert!(
            stderr(&out).contains("invalid container id"),
            "{id}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn json_log_lines_for_engines() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let log = rt.root.path().join("runtime.log");
    let out = rt
        .cmd()
        .args([
            "--log",
            log.to_str().unwrap(),
            "--log-format",
            "json",
            "delete",
            "ghost",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let text = std::fs::read_to_string(&log).unwrap();
    let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(line["level"], "error");
    assert!(line["msg"].as_str().unwrap().contains("does not exist"));
    assert!(line["time"].as_str().is_some());
    // The engine that asked for the log reports the error: not twice.
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn debug_lines_only_with_debug() {
    let rt = Runtime::new();
    let quiet = rt.cmd().args(["state", "ghost"]).output().unwrap();
    assert!(!stderr(&quiet).contains("debug"), "{}", stderr(&quiet));
    let loud = rt
        .cmd()
        .args(["--debug", "state", "ghost"])
        .output()
        .unwrap();
    let err = stderr(&loud);
    assert!(
        err.contains("debug:") && err.contains("state ghost"),
        "{err}"
    );
    assert!(err.contains("does not exist"), "{err}");
}

#[test]
fn overlapping_id_mappings() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({"type": "user"}));
    b.config["linux"]["uidMappings"] = json!([
        {"containerID": 0, "hostID": 100000, "size": 1000},
        {"containerID": 500, "hostID": 300000, "size": 10}
    ]);
    b.config["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 100000, "size": 1000}]);
    b.write_config().unwrap();
    assert_create_fails(&rt, &b, "linux.uidMappings: mappings 0 and 1 overlap");
}

/// Values the spec says MUST be refused: each is one clear error about
/// the field, before anything is made.
#[test]
fn invalid_values_the_spec_says_must_be_refused() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    type Edit = fn(&mut serde_json::Value);
    let cases: Vec<(Edit, &str)> = vec![
        (
            |c| c["ociVersion"] = json!("invalid"),
            "ociVersion: \"invalid\" is not a SemVer",
        ),
        (
            |c| c["ociVersion"] = json!("1.0"),
            "is not a SemVer 2.0.0 version",
        ),
        (
            |c| c["ociVersion"] = json!("2.0.0"),
            "version 2.0.0 is not supported",
        ),
        (
            |c| c["annotations"] = json!({"": "x"}),
            "annotation key must not be an empty string",
        ),
        (
            |c| {
                c["process"]["rlimits"] = json!([
                    {"type": "RLIMIT_NOFILE", "soft": 10, "hard": 10},
                    {"type": "RLIMIT_NOFILE", "soft": 20, "hard": 20}
                ])
            },
            "RlimitNofile is listed twice",
        ),
        (
            |c| {
                c["process"]["rlimits"] = json!([{"type": "RLIMIT_NOFILE", "soft": 20, "hard": 10}])
            },
            "soft limit 20 is above hard limit 10",
        ),
        (
            |c| c["process"]["rlimits"] = json!([{"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1}]),
            "RLIMIT_BOGUS",
        ),
        (
            |c| c["linux"]["maskedPaths"] = json!(["proc/kcore"]),
            "linux.maskedPaths: \"proc/kcore\" is not an absolute path",
        ),
        (
            |c| c["linux"]["readonlyPaths"] = json!(["sys"]),
            "linux.readonlyPaths: \"sys\" is not an absolute path",
        ),
        (
            |c| {
                c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW",
                    "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]})
            },
            "syscalls[0] names no syscall",
        ),
        (
            |c| {
                c["linux"]["resources"]["blockIO"] =
                    json!({"weightDevice": [{"major": 8, "minor": 0}]})
            },
            "entry 8:0 needs a weight or a leafWeight",
        ),
        (
            |c| c["process"]["capabilities"]["bounding"] = json!(["CAP_NO_SUCH_THING"]),
            "CAP_NO_SUCH_THING",
        ),
        // A sysctl no namespace of the container scopes would change the host.
        (
            |c| c["linux"]["sysctl"] = json!({"kernel.panic": "1"}),
            "\"kernel.panic\" is not scoped by a namespace of the container",
        ),
        (
            |c| {
                c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
                let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
                ns.retain(|n| n["type"] != "network");
            },
            "needs a network namespace of the container's own",
        ),
        (
            |c| {
                c["linux"]["sysctl"] = json!({"net.ipv4.ip_forward": "1"});
                let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
                ns.retain(|n| n["type"] != "network");
                ns.push(json!({"type": "network", "path": "/proc/self/ns/net"}));
            },
            "needs a network namespace of the container's own",
        ),
        (
            |c| c["linux"]["sysctl"] = json!({"kernel.hostname": "x"}),
            "conflicts with the config's hostname field",
        ),
        (
            |c| c["linux"]["sysctl"] = json!({"net..ipv4": "1"}),
            "is not a sysctl name",
        ),
        // config.md: values of the wrong kind, paths that must be absolute.
        (
            |c| c["annotations"] = json!({"org.example.n": 1}),
            "is not a valid OCI runtime config",
        ),
        (
            |c| c["mounts"][0]["destination"] = json!("proc"),
            "destination \"proc\" is not absolute",
        ),
        (
            |c| c["process"]["cwd"] = json!("tmp"),
            "process.cwd: \"tmp\" is not an absolute path",
        ),
        (|c| c["process"]["args"] = json!([]), "process.args: empty"),
        (
            |c| c["hooks"] = json!({"poststop": [{"path": "bin/true"}]}),
            "hook path bin/true is not absolute",
        ),
        (
            |c| {
                let ns = c["linux"]["namespaces"].as_array_mut().unwrap();
                ns.push(json!({"type": "ipc"}));
            },
            "namespace type ipc listed twice",
        ),
    ];
    for (edit, needle) in cases {
        let mut b = bundle(&["true"]);
        edit(&mut b.config);
        b.write_config().unwrap();
        assert_create_fails(&rt, &b, needle);
    }
}
