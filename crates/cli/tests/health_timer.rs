//! Health checks on a timer: the container's monitor runs the check every
//! `--health-interval`, so `inspect` turns `unhealthy` without anyone
//! running `healthcheck run`; `disable` runs none; failures in the start
//! period don't count.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use std::time::{Duration, Instant};

/// Poll `f` for up to 40 s (each check is a berth process of its own).
fn within(what: &str, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(40);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn health(env: &Env, name: &str) -> serde_json::Value {
    env.inspect(name)["State"]["Health"].clone()
}

#[test]
fn a_failing_check_turns_unhealthy_on_its_own() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "h",
        "--health-cmd",
        "test -e /tmp/ok",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        "busybox",
        "sh",
        "-c",
        "touch /tmp/ok; exec sleep 1000",
    ]);
    within("healthy", || health(&env, "h")["Status"] == "healthy");
    env.ok(&["exec", "h", "rm", "/tmp/ok"]);
    within("unhealthy", || health(&env, "h")["Status"] == "unhealthy");
    let h = health(&env, "h");
    assert!(h["FailingStreak"].as_u64().unwrap() >= 2, "{h}");
    assert_eq!(h["Log"].as_array().unwrap().last().unwrap()["ExitCode"], 1);
    env.ok(&["rm", "-f", "h"]);
}

#[test]
fn disabled_interval_runs_no_check_and_start_period_forgives() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "off",
        "--health-cmd",
        "false",
        "--health-interval",
        "disable",
        "busybox",
        "sleep",
        "1000",
    ]);
    env.ok(&[
        "run",
        "-d",
        "--name",
        "young",
        "--health-cmd",
        "false",
        "--health-interval",
        "1s",
        "--health-retries",
        "1",
        "--health-start-period",
        "1h",
        "busybox",
        "sleep",
        "1000",
    ]);
    // The young one's checks run and fail, but don't count.
    within("checks of the young one", || {
        health(&env, "young")["Log"]
            .as_array()
            .is_some_and(|l| l.len() >= 2)
    });
    let h = health(&env, "young");
    assert_eq!(h["Status"], "starting", "{h}");
    assert_eq!(h["FailingStreak"], 0, "{h}");
    // Meanwhile the disabled one ran none.
    let h = health(&env, "off");
    assert_eq!(h["Status"], "starting", "{h}");
    assert!(h["Log"].is_null(), "{h}");
    env.ok(&["rm", "-f", "off", "young"]);
}
