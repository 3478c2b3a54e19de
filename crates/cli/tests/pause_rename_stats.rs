//! `pause`/`unpause`, `rename` and `stats` on real containers, with what
//! podman 4.3 prints and exits with.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::time::Duration;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A container that prints a line every 50 ms while it runs.
const TICKER: &str = "i=0; while true; do i=$((i+1)); echo $i; sleep 0.05; done";

fn ticker(env: &Env, name: &str) {
    env.ok(&["run", "-d", "--name", name, "busybox", "sh", "-c", TICKER]);
    eventually("the first ticks", || {
        env.ok(&["logs", name]).lines().count() > 2
    });
}

/// Whether the log stops growing for half a second.
fn log_is_still(env: &Env, name: &str) -> bool {
    std::thread::sleep(Duration::from_millis(200));
    let before = env.ok(&["logs", name]);
    std::thread::sleep(Duration::from_millis(500));
    before == env.ok(&["logs", name])
}

#[test]
fn pause_freezes_and_unpause_thaws_as_ps_and_inspect_show() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    ticker(&env, "p");
    assert_eq!(env.ok(&["pause", "p"]), "p\n");
    assert!(
        log_is_still(&env, "p"),
        "a paused container went on printing"
    );
    let i = env.inspect("p");
    assert_eq!(i["State"]["Status"], "paused");
    assert_eq!(i["State"]["Running"], false);
    assert_eq!(i["State"]["Paused"], true);
    // ps leaves it out unless -a, as podman's, and names its state.
    assert_eq!(env.ok(&["ps", "-q"]), "");
    let ps = env.ps();
    assert_eq!(ps[0]["State"], "paused");
    assert_eq!(ps[0]["Status"], "Paused");
    let table = env.ok(&[
        "ps",
        "-a",
        "--filter",
        "status=paused",
        "--format",
        "{{.Names}}",
    ]);
    assert_eq!(table, "p\n");

    // Paused twice: podman's 125, and it stays paused.
    let again = env.berth(&["pause", "p"]);
    assert_eq!(again.status.code(), Some(125), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("already paused"),
        "{}",
        stderr(&again)
    );
    assert_eq!(env.inspect("p")["State"]["Status"], "paused");

    assert_eq!(env.ok(&["unpause", "p"]), "p\n");
    assert!(
        !log_is_still(&env, "p"),
        "an unpaused container stayed still"
    );
    let i = env.inspect("p");
    assert_eq!(i["State"]["Status"], "running");
    assert_eq!(i["State"]["Running"], true);
    assert_eq!(i["State"]["Paused"], false);
    let again = env.berth(&["unpause", "p"]);
    assert_eq!(again.status.code(), Some(125), "{}", stderr(&again));
    assert!(stderr(&again).contains("not paused"), "{}", stderr(&again));
}

#[test]
fn pause_of_a_missing_or_stopped_container_changes_nothing() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    ticker(&env, "live");
    // One missing name: the others are not paused either (podman looks
    // them all up first).
    let out = env.berth(&["pause", "live", "nosuch"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no container named \"nosuch\""),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.inspect("live")["State"]["Status"], "running");
    env.ok(&["create", "--name", "made", "busybox", "true"]);
    let out = env.berth(&["pause", "made"]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("can't pause"), "{}", stderr(&out));
    assert_eq!(env.inspect("made")["State"]["Status"], "created");
    // `container pause -a` pauses what runs, and prints its id.
    let id = env.inspect("live")["Id"].as_str().unwrap().to_string();
    assert_eq!(env.ok(&["container", "pause", "-a"]), format!("{id}\n"));
    assert_eq!(
        env.ok(&["container", "unpause", "--all"]),
        format!("{id}\n")
    );
    assert_eq!(env.inspect("live")["State"]["Status"], "running");
}

#[test]
fn a_paused_container_can_be_killed_stopped_and_removed() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // kill (SIGKILL) ends it: 137, as podman's.
    ticker(&env, "k");
    env.ok(&["pause", "k"]);
    assert_eq!(env.ok(&["kill", "k"]), "k\n");
    assert_eq!(env.ok(&["wait", "k"]), "137\n");
    let i = env.inspect("k");
    assert_eq!(i["State"]["Status"], "exited");
    assert_eq!(i["State"]["Paused"], false);
    // A signal it handles waits for the thaw, as podman's.
    let trap = "trap 'echo bye; exit 3' TERM; while true; do sleep 0.05; done";
    env.ok(&["run", "-d", "--name", "t", "busybox", "sh", "-c", trap]);
    env.ok(&["pause", "t"]);
    env.ok(&["kill", "-s", "TERM", "t"]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(env.inspect("t")["State"]["Status"], "paused");
    env.ok(&["unpause", "t"]);
    assert_eq!(env.ok(&["wait", "t"]), "3\n");
    // stop thaws it so its stop signal is acted on.
    env.ok(&["rm", "t"]);
    env.ok(&["run", "-d", "--name", "t", "busybox", "sh", "-c", trap]);
    env.ok(&["pause", "t"]);
    env.ok(&["stop", "-t", "5", "t"]);
    assert_eq!(env.inspect("t")["State"]["ExitCode"], 3);
    // rm -f of a paused one leaves nothing behind.
    ticker(&env, "r");
    env.ok(&["pause", "r"]);
    env.ok(&["rm", "-f", "r"]);
    assert!(!env
        .ok(&["ps", "-a", "--format", "{{.Names}}"])
        .contains('r'));
    env.ok(&["rm", "-f", "k", "t"]);
    eventually("every cgroup to go", || env.cgroups_left().is_empty());
}

#[test]
fn rename_changes_the_name_everywhere_and_keeps_names_unique() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["create", "--name", "a", "busybox", "true"]);
    env.ok(&["create", "--name", "b", "busybox", "true"]);
    let id = env.inspect("a")["Id"].as_str().unwrap().to_string();
    assert_eq!(env.ok(&["rename", "a", "c"]), "");
    assert_eq!(env.inspect("c")["Id"], id.as_str());
    assert_eq!(env.inspect("c")["Name"], "c");
    assert_eq!(env.berth(&["inspect", "a"]).status.code(), Some(125));
    // Taken, malformed, missing: 125, nothing changes.
    let taken = env.berth(&["rename", "c", "b"]);
    assert_eq!(taken.status.code(), Some(125), "{}", stderr(&taken));
    assert!(
        stderr(&taken).contains("\"b\" is already used"),
        "{}",
        stderr(&taken)
    );
    let bad = env.berth(&["rename", "c", "bad/name"]);
    assert_eq!(bad.status.code(), Some(125), "{}", stderr(&bad));
    assert!(
        stderr(&bad).contains("names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*"),
        "{}",
        stderr(&bad)
    );
    let missing = env.berth(&["rename", "nosuch", "x"]);
    assert_eq!(missing.status.code(), Some(125), "{}", stderr(&missing));
    let names = env.ok(&["ps", "-a", "--format", "{{.Names}}"]);
    let mut names: Vec<&str> = names.lines().collect();
    names.sort();
    assert_eq!(names, ["b", "c"]);
    // Its own name again is no error, as podman's.
    env.ok(&["rename", "c", "c"]);
    // A running container renamed is stopped by its new name.
    ticker(&env, "run1");
    env.ok(&["container", "rename", "run1", "run2"]);
    assert_eq!(env.ok(&["ps", "--format", "{{.Names}}"]), "run2\n");
    env.ok(&["stop", "-t", "1", "run2"]);
    assert_eq!(env.inspect("run2")["State"]["Status"], "exited");
    // The old name is free again.
    env.ok(&["create", "--name", "run1", "busybox", "true"]);
}

/// podman 4.3's `stats` header over narrow values.
const STATS_HEADER: &str = "ID            NAME        CPU %       MEM USAGE / LIMIT  MEM %       NET IO      BLOCK IO    PIDS        CPU TIME    AVG CPU %";

fn stats_json(env: &Env, args: &[&str]) -> Vec<serde_json::Value> {
    let mut all = vec!["stats", "--no-stream", "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&env.ok(&all)).unwrap()
}

#[test]
fn stats_reads_the_cgroup_and_the_netns() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    // Some CPU, a 64 MiB limit, traffic to the bridge (a refused
    // connection still sends and receives), then one process.
    let burn = "i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done; \
                wget -q -T 1 http://10.90.0.1:9/ 2>/dev/null; exec sleep 1000";
    env.ok(&[
        "run", "-d", "--name", "s", "-m", "64m", "busybox", "sh", "-c", burn,
    ]);
    eventually("the container to settle into sleep", || {
        stats_json(&env, &["s"])[0]["pids"] == "1"
            && stats_json(&env, &["s"])[0]["net_io"] != "0B / 0B"
    });
    let id = env.inspect("s")["Id"].as_str().unwrap().to_string();
    let row = &stats_json(&env, &["s"])[0];
    // podman's keys in podman's order, read from the text itself.
    let text = env.ok(&["stats", "--no-stream", "--format", "json", "s"]);
    let mut at = 0;
    for key in [
        "id",
        "name",
        "cpu_time",
        "cpu_percent",
        "avg_cpu",
        "mem_usage",
        "mem_percent",
        "net_io",
        "block_io",
        "pids",
    ] {
        let found = text[at..].find(&format!("\"{key}\":"));
        at += found.unwrap_or_else(|| panic!("{key} missing or out of order in {text}"));
    }
    assert_eq!(row.as_object().unwrap().len(), 10);
    assert_eq!(row["id"], &id[..12]);
    assert_eq!(row["name"], "s");
    let mem = row["mem_usage"].as_str().unwrap();
    assert!(mem.ends_with(" / 67.11MB"), "{mem}");
    assert_ne!(mem, "0B / 67.11MB");
    assert_ne!(row["cpu_time"], "0s");
    assert!(row["cpu_percent"].as_str().unwrap().ends_with('%'));
    let net = row["net_io"].as_str().unwrap();
    let (rx, tx) = net.split_once(" / ").unwrap();
    assert!(rx != "0B" && tx != "0B", "{net}");

    // A --network none container has no traffic; the default table lists
    // both running ones with podman's header.
    env.ok(&[
        "run",
        "-d",
        "--name",
        "quiet",
        "--network",
        "none",
        "busybox",
        "sleep",
        "1000",
    ]);
    assert_eq!(stats_json(&env, &["quiet"])[0]["net_io"], "0B / 0B");
    let table = env.ok(&["stats", "--no-stream"]);
    let lines: Vec<&str> = table.lines().collect();
    let columns = |l: &str| -> Vec<String> {
        l.split("  ")
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(String::from)
            .collect()
    };
    // Columns widen with their values, as podman's tabwriter does.
    assert_eq!(columns(lines[0]), columns(STATS_HEADER));
    assert!(lines[0].starts_with("ID            NAME        CPU %"));
    assert_eq!(lines.len(), 3, "{table}");
    // Templates see podman's fields; {{json .}} is the JSON list.
    let t = env.ok(&[
        "stats",
        "--no-stream",
        "--format",
        "{{.Name}} {{.PIDS}} {{.MemUsageBytes}}",
        "s",
    ]);
    assert!(
        t.starts_with("s 1 ") && t.trim_end().ends_with(" / 64MiB"),
        "{t}"
    );
    let j: serde_json::Value =
        serde_json::from_str(&env.ok(&["stats", "--no-stream", "--format", "{{json .}}", "s"]))
            .unwrap();
    assert_eq!(j[0]["name"], "s");
    // `container stats` is the same command.
    assert!(env
        .ok(&["container", "stats", "--no-stream", "quiet"])
        .contains("quiet"));
}

#[test]
fn stats_of_stopped_missing_and_conflicting_names() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["create", "--name", "made", "busybox", "true"]);
    // Not running: a row of zeros, as podman's.
    let row = &stats_json(&env, &["made"])[0];
    assert_eq!(row["cpu_time"], "0s");
    assert_eq!(row["mem_usage"], "0B / 0B");
    assert_eq!(row["pids"], "0");
    // By default only running ones; -a adds the others.
    assert_eq!(stats_json(&env, &[]).len(), 0);
    assert_eq!(stats_json(&env, &["-a"]).len(), 1);
    let missing = env.berth(&["stats", "--no-stream", "nosuch"]);
    assert_eq!(missing.status.code(), Some(125), "{}", stderr(&missing));
    assert!(
        stderr(&missing).contains("no container named \"nosuch\""),
        "{}",
        stderr(&missing)
    );
    let both = env.berth(&["stats", "--no-stream", "-a", "made"]);
    assert_eq!(both.status.code(), Some(125), "{}", stderr(&both));
    assert!(stderr(&both).contains("--all, --latest and containers cannot be used together"));
}
