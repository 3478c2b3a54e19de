//! `--init` with real containers (as root): berth-init is pid 1, passes
//! signals and exit codes on, and reaps orphans.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::time::Instant;

#[test]
fn init_is_pid_one_and_passes_the_exit_code_on() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let out = env.ok(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$",
    ]);
    assert_eq!(
        out,
        "/run/berth-init sh -c tr '\\0' ' ' < /proc/1/cmdline; echo; echo $$ \n2\n"
    );
    // ps and inspect show the user's command, not the init.
    env.ok(&["create", "--init", "--name", "c", "busybox", "sleep", "5"]);
    assert_eq!(env.ps()[0]["Command"], serde_json::json!(["sleep", "5"]));
    let code = |args: &[&str]| {
        let mut a = vec!["run", "--rm", "--init", "busybox"];
        a.extend_from_slice(args);
        env.berth(&a).status.code()
    };
    assert_eq!(code(&["sh", "-c", "exit 7"]), Some(7));
    assert_eq!(code(&["sh", "-c", "kill -9 $$"]), Some(137));
    assert_eq!(code(&["true"]), Some(0));
    // The init is read-only inside.
    let out = env.berth(&[
        "run",
        "--rm",
        "--init",
        "busybox",
        "sh",
        "-c",
        "echo x > /run/berth-init",
    ]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn stop_with_init_ends_sleep_by_sigterm() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run", "-d", "--init", "--name", "s", "busybox", "sleep", "1000",
    ]);
    let t = Instant::now();
    env.ok(&["stop", "-t", "30", "s"]);
    let took = t.elapsed();
    // 143 = 128 + SIGTERM: the signal reached sleep through the init
    // (as pid 1, sleep would ignore it and get SIGKILL, 137, after 30 s).
    assert_eq!(env.ps()[0]["ExitCode"], 143, "{:?}", env.ps());
    println!("stop of sleep with --init took {took:?}");
    // Without --init: pid 1 ignores SIGTERM, so the timeout's SIGKILL ends it.
    env.ok(&["run", "-d", "--name", "plain", "busybox", "sleep", "1000"]);
    env.ok(&["stop", "-t", "1", "plain"]);
    let ps = env.ps();
    let plain = ps.iter().find(|c| c["Names"][0] == "plain").unwrap();
    assert_eq!(plain["ExitCode"], 137);
}

fn zombies(env: &Env, name: &str) -> usize {
    let out = env.ok(&["exec", name, "sh", "-c", "cat /proc/[0-9]*/stat"]);
    out.lines()
        .filter(|l| l.rsplit_once(") ").is_some_and(|(_, r)| r.starts_with('Z')))
        .count()
}

#[test]
fn orphans_are_reaped() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // The subshell's sleep is orphaned and re-parented to pid 1; pid 1
    // of the plain container is `sleep`, which never waits.
    let script = "(sleep 0.2 &); exec sleep 1000";
    env.ok(&[
        "run", "-d", "--init", "--name", "with", "busybox", "sh", "-c", script,
    ]);
    env.ok(&[
        "run", "-d", "--name", "without", "busybox", "sh", "-c", script,
    ]);
    eventually("the orphan to die unreaped without init", || {
        zombies(&env, "without") == 1
    });
    assert_eq!(zombies(&env, "with"), 0);
    env.ok(&["rm", "-f", "with", "without"]);
    eventually("their cgroups to go", || env.cgroups_left().is_empty());
}
