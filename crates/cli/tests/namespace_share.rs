//! `--pid/--ipc/--uts/--network container:NAME` with a container that
//! does not run: as podman, starting the joiner starts it first (created
//! or exited), and the other is not removed while the joiner exists; and
//! `--hostname` refused in a UTS namespace not the container's own.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;

fn status(env: &Env, name: &str) -> String {
    env.inspect(name)["State"]["Status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_created_dependency_is_started_first() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["create", "--name", "dep", "busybox", "sleep", "1000"]);
    assert_eq!(status(&env, "dep"), "created");
    let out = env.ok(&[
        "run",
        "--rm",
        "--pid",
        "container:dep",
        "busybox",
        "ps",
        "-o",
        "pid,args",
    ]);
    // The dependency's sleep is pid 1 of the namespace the joiner sees.
    assert!(
        out.lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["1", "sleep", "1000"]),
        "{out}"
    );
    assert_eq!(status(&env, "dep"), "running");
}

#[test]
fn an_exited_dependency_is_started_again() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "dep",
        "--hostname",
        "dephost",
        "busybox",
        "sleep",
        "1000",
    ]);
    env.ok(&["stop", "-t", "0", "dep"]);
    assert_eq!(status(&env, "dep"), "exited");
    env.ok(&[
        "create",
        "--name",
        "j",
        "--uts",
        "container:dep",
        "--ipc",
        "container:dep",
        "busybox",
        "hostname",
    ]);
    let out = env.ok(&["start", "-a", "j"]);
    assert_eq!(out, "dephost\n");
    assert_eq!(status(&env, "dep"), "running");
    // Started again after the dependency restarted: the new process's
    // namespaces are joined, not the old one's.
    env.ok(&["restart", "-t", "0", "dep"]);
    assert_eq!(env.ok(&["start", "-a", "j"]), "dephost\n");
}

#[test]
fn hostname_in_a_shared_uts_namespace_is_refused() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["create", "--name", "dep", "busybox", "sleep", "1000"]);
    for uts in ["host", "container:dep"] {
        let out = env.berth(&[
            "run",
            "--rm",
            "--uts",
            uts,
            "--hostname",
            "foo",
            "busybox",
            "true",
        ]);
        assert_eq!(out.status.code(), Some(125), "{uts}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "Error: invalid config provided: cannot set hostname when running in the host UTS namespace: invalid configuration\n",
            "{uts}"
        );
    }
    // Nothing was made, and the dependency was not started.
    assert_eq!(env.ok(&["ps", "-aq"]).lines().count(), 1);
    assert_eq!(status(&env, "dep"), "created");
}

#[test]
fn network_container_joins_its_netns_and_keeps_it_from_removal() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let dep = env.ok(&["create", "--name", "dep", "busybox", "sleep", "1000"]);
    let dep = dep.trim();
    let j = env.ok(&[
        "create",
        "--name",
        "j",
        "--network",
        "container:dep",
        "busybox",
        "readlink",
        "/proc/self/ns/net",
    ]);
    let j = j.trim();
    // podman shows the other's id.
    assert_eq!(
        env.inspect("j")["HostConfig"]["NetworkMode"],
        format!("container:{dep}").as_str()
    );
    // Starting it starts the dependency, and it sees the same namespace.
    let out = env.ok(&["start", "-a", "j"]);
    assert_eq!(status(&env, "dep"), "running");
    let pid = env.inspect("dep")["State"]["Pid"].as_i64().unwrap();
    let theirs = std::fs::read_link(format!("/proc/{pid}/ns/net")).unwrap();
    assert_eq!(out.trim(), theirs.to_string_lossy(), "{out}");
    // The dependency can't go while j exists: podman's codes and words.
    let out = env.berth(&["rm", "dep"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = env.berth(&["rm", "-f", "dep"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "Error: container {dep} has dependent containers which must be removed before it: {j}\n"
        )
    );
    assert_eq!(status(&env, "dep"), "running");
    env.ok(&["rm", "j"]);
    env.ok(&["rm", "-f", "dep"]);
    // A container that is not there: nothing made.
    let out = env.berth(&["create", "--network", "container:nope", "busybox", "true"]);
    assert_eq!(out.status.code(), Some(125), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no container with name or ID \"nope\""),
        "{out:?}"
    );
    assert!(env.ps().is_empty());
}
