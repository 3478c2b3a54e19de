//! `--restart` with real containers: the monitor starts the container
//! again per policy, counts it in inspect's RestartCount, and never
//! restarts an exit caused by `stop` or `kill` (podman 4.3's rules, checked
//! beside podman by hand: on-failure:2 of `exit 3` runs 3 times and ends
//! with RestartCount 2; `always` stays exited after stop and after kill).

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::time::Duration;

fn status(env: &Env, name: &str) -> (String, u64) {
    let v = env.inspect(name);
    (
        v["State"]["Status"].as_str().unwrap_or("").to_string(),
        v["RestartCount"].as_u64().unwrap(),
    )
}

#[test]
fn on_failure_restarts_up_to_its_retries() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "flaky",
        "--restart",
        "on-failure:2",
        "busybox",
        "sh",
        "-c",
        "echo run; exit 3",
    ]);
    eventually("two restarts and a final exit", || {
        status(&env, "flaky") == ("exited".into(), 2)
    });
    // No third restart comes.
    std::thread::sleep(Duration::from_millis(800));
    let v = env.inspect("flaky");
    assert_eq!(v["RestartCount"], 2);
    assert_eq!(v["State"]["Status"], "exited");
    assert_eq!(v["State"]["ExitCode"], 3);
    assert_eq!(
        v["HostConfig"]["RestartPolicy"],
        serde_json::json!({"Name": "on-failure", "MaximumRetryCount": 2})
    );
    assert_eq!(env.ok(&["logs", "flaky"]), "run\nrun\nrun\n");
    // The monitor left with the last exit: nothing waits any more.
    let id = v["Id"].as_str().unwrap();
    assert!(env.state(id)["monitor"].is_null(), "{}", env.state(id));
}

#[test]
fn on_failure_leaves_a_clean_exit_alone() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "fine",
        "--restart",
        "on-failure",
        "busybox",
        "true",
    ]);
    eventually("the exit", || status(&env, "fine").0 == "exited");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(status(&env, "fine"), ("exited".into(), 0));
}

#[test]
fn always_restarts_until_the_user_stops_or_kills_it() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "loop",
        "--restart",
        "always",
        "busybox",
        "sh",
        "-c",
        "sleep 0.2",
    ]);
    eventually("restarts after clean exits", || status(&env, "loop").1 >= 2);
    let policy = &env.inspect("loop")["HostConfig"]["RestartPolicy"];
    assert_eq!(policy["Name"], "always");
    // Between runs a stop finds it exited; wait for a run to stop.
    eventually("a running moment", || status(&env, "loop").0 == "running");
    env.ok(&["stop", "-t", "1", "loop"]);
    let (state, count) = status(&env, "loop");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(status(&env, "loop"), (state.clone(), count));
    assert_eq!(state, "exited");

    // A start by the user runs it under the policy again; a kill ends it.
    env.ok(&["start", "loop"]);
    eventually("one more restart", || status(&env, "loop").1 > count);
    eventually("a running moment", || status(&env, "loop").0 == "running");
    env.ok(&["kill", "loop"]);
    let after_kill = status(&env, "loop");
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(status(&env, "loop"), after_kill);
    assert_eq!(after_kill.0, "exited");
    env.ok(&["rm", "loop"]);
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}

#[test]
fn a_foreground_run_returns_and_the_policy_goes_on_detached() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = env.berth(&[
        "run",
        "--name",
        "fg",
        "--restart",
        "on-failure:1",
        "busybox",
        "sh",
        "-c",
        "echo once; exit 4",
    ]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "once\n");
    eventually("the restart's exit", || {
        status(&env, "fg") == ("exited".into(), 1) && env.ok(&["logs", "fg"]) == "once\nonce\n"
    });
}

#[test]
fn bad_policies_are_podmans_errors_and_leave_nothing() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let cases: [(&[&str], &str); 6] = [
        (
            &["--restart", "bogus"],
            "\"bogus\" is not a valid restart policy: invalid argument",
        ),
        (
            &["--restart", "on-failure:x"],
            "parsing restart policy retry count: strconv.Atoi: parsing \"x\": invalid syntax",
        ),
        (
            &["--restart", "on-failure:0"],
            "must specify restart policy retry count as a number greater than 0",
        ),
        (
            &["--restart", "always:3"],
            "restart policy retries can only be specified with on-failure restart policy",
        ),
        (
            &["--restart", "unless-stopped:1"],
            "restart policy retries can only be specified with on-failure restart policy",
        ),
        (
            &["--rm", "--restart", "always"],
            "the --rm option conflicts with --restart, when the restartPolicy is not \"\" and \"no\"",
        ),
    ];
    for (flags, msg) in cases {
        let mut args = vec!["run"];
        args.extend_from_slice(flags);
        args.extend(["busybox", "true"]);
        let out = env.berth(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{flags:?}: {err}");
        assert_eq!(err.trim(), format!("Error: {msg}"), "{flags:?}");
    }
    assert_eq!(env.stored_containers(), 0);
    // `no` and `--rm` go together, as in podman.
    assert_eq!(
        env.ok(&["run", "--rm", "--restart", "no", "busybox", "echo", "ok"]),
        "ok\n"
    );
}
