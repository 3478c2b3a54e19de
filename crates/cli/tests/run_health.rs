//! Health checks with real containers: `--health-*` kept in inspect's
//! `Config.Healthcheck` (podman 4.3's shape, checked beside podman by
//! hand), `healthcheck run` through exec recording `State.Health`, and
//! podman's errors.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::json;

#[test]
fn healthcheck_run_records_the_results() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "hc",
        "--health-cmd",
        "test -e /tmp/ok && echo fine",
        "--health-retries",
        "2",
        "busybox",
        "sleep",
        "100",
    ]);
    let v = env.inspect("hc");
    assert_eq!(
        v["Config"]["Healthcheck"],
        json!({"Test": ["CMD-SHELL", "test -e /tmp/ok && echo fine"],
               "Interval": 30000000000u64, "Timeout": 30000000000u64, "Retries": 2})
    );
    assert_eq!(
        v["State"]["Health"],
        json!({"Status": "starting", "FailingStreak": 0, "Log": null})
    );
    for streak in 1..=2 {
        let out = env.berth(&["healthcheck", "run", "hc"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "unhealthy\n");
        assert_eq!(
            env.inspect("hc")["State"]["Health"]["FailingStreak"],
            streak
        );
    }
    assert_eq!(env.inspect("hc")["State"]["Health"]["Status"], "unhealthy");
    env.ok(&["exec", "hc", "touch", "/tmp/ok"]);
    assert_eq!(env.ok(&["healthcheck", "run", "hc"]), "");
    let health = &env.inspect("hc")["State"]["Health"];
    assert_eq!(health["Status"], "healthy");
    assert_eq!(health["FailingStreak"], 0);
    let log = health["Log"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[0]["ExitCode"], 1);
    assert_eq!(log[2]["ExitCode"], 0);
    assert_eq!(log[2]["Output"], "fine\n");
    // A stopped container has nothing to check.
    env.ok(&["stop", "-t", "1", "hc"]);
    assert_eq!(
        env.berth(&["healthcheck", "run", "hc"]).status.code(),
        Some(125)
    );
}

#[test]
fn exec_form_and_no_healthcheck() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "create",
        "--name",
        "ex",
        "--health-cmd",
        r#"["test","-e","/x"]"#,
        "--health-interval",
        "disable",
        "busybox",
        "true",
    ]);
    assert_eq!(
        env.inspect("ex")["Config"]["Healthcheck"],
        json!({"Test": ["CMD", "test", "-e", "/x"], "Timeout": 30000000000u64, "Retries": 3})
    );
    env.ok(&[
        "create",
        "--name",
        "none",
        "--no-healthcheck",
        "busybox",
        "true",
    ]);
    let v = env.inspect("none");
    assert_eq!(v["Config"]["Healthcheck"], json!({"Test": ["NONE"]}));
    assert!(v["State"].get("Health").is_none(), "{}", v["State"]);
    let out = env.berth(&["healthcheck", "run", "none"]);
    assert_eq!(out.status.code(), Some(125));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "Error: container has no defined healthcheck"
    );
    // Without health flags there is no Healthcheck key at all.
    env.ok(&["create", "--name", "plain", "busybox", "true"]);
    assert!(env.inspect("plain")["Config"].get("Healthcheck").is_none());
}

#[test]
fn bad_health_flags_are_podmans_errors() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let cases: [(&[&str], &str); 4] = [
        (
            &["--health-interval", "bogus"],
            "invalid healthcheck-interval: time: invalid duration \"bogus\"",
        ),
        (
            &["--health-retries", "0"],
            "healthcheck-retries must be greater than 0",
        ),
        (
            &["--health-timeout", "0s"],
            "healthcheck-timeout must be at least 1 second",
        ),
        (
            &["--no-healthcheck"],
            "cannot specify both --no-healthcheck and --health-cmd",
        ),
    ];
    for (flags, msg) in cases {
        let mut args = vec!["create", "--health-cmd", "true"];
        args.extend_from_slice(flags);
        args.extend(["busybox", "true"]);
        let out = env.berth(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{flags:?}: {err}");
        assert_eq!(err.trim(), format!("Error: {msg}"), "{flags:?}");
    }
    assert_eq!(env.stored_containers(), 0);
}

#[test]
fn a_check_past_its_timeout_is_killed_and_fails() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "--health-cmd",
        "sleep 30",
        "--health-timeout",
        "1s",
        "--health-retries",
        "1",
        "busybox",
        "sleep",
        "100",
    ]);
    let began = std::time::Instant::now();
    let out = env.berth(&["healthcheck", "run", "slow"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "unhealthy\n");
    assert!(
        began.elapsed() < std::time::Duration::from_secs(20),
        "the check ran to its end: {:?}",
        began.elapsed()
    );
    let health = &env.inspect("slow")["State"]["Health"];
    assert_eq!(health["Status"], "unhealthy");
    let log = health["Log"].as_array().unwrap();
    assert_eq!(log[0]["ExitCode"], 1);
    assert_eq!(
        log[0]["Output"],
        "healthcheck command exceeded timeout of 1s"
    );
    env.ok(&["rm", "-f", "slow"]);
}

#[test]
fn health_on_failure_takes_its_action_once_unhealthy() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = env.berth(&[
        "create",
        "--health-cmd",
        "false",
        "--health-on-failure",
        "reboot",
        "busybox",
    ]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "invalid on-failure action \"reboot\" for health check: supported actions are: none,kill,restart,stop"
        ),
        "{out:?}"
    );
    assert!(env.ps().is_empty(), "a container was made");
    for action in ["kill", "restart"] {
        env.ok(&[
            "run",
            "-d",
            "--name",
            action,
            "--health-cmd",
            "false",
            "--health-retries",
            "1",
            "--health-on-failure",
            action,
            "busybox",
            "sleep",
            "100",
        ]);
        let v = env.inspect(action);
        assert_eq!(v["Config"]["HealthcheckOnFailureAction"], action);
        let pid = v["State"]["Pid"].as_i64().unwrap();
        let out = env.berth(&["healthcheck", "run", action]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let state = &env.inspect(action)["State"];
        match action {
            "kill" => assert_eq!(state["Status"], "exited", "{state}"),
            _ => {
                assert_eq!(state["Status"], "running", "{state}");
                assert_ne!(state["Pid"].as_i64().unwrap(), pid, "not restarted");
            }
        }
        env.ok(&["rm", "-f", action]);
    }
}
