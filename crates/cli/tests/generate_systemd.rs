//! `berth generate systemd`: the unit passes `systemd-analyze verify`, and
//! its commands, run as systemd would run them, start and stop the
//! container (with `--new`: create it afresh and remove it).

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use std::path::Path;
use std::process::{Command, Stdio};

fn verify(dir: &Path, unit: &str, text: &str) {
    let path = dir.join(format!("{unit}.service"));
    std::fs::write(&path, text).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.trim().is_empty(),
        "{err}\n{text}"
    );
}

/// The words of `Key=` (no quoting in these units), without a leading `-`.
fn exec(text: &str, key: &str) -> Vec<String> {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key} in {text}"));
    line.trim_start_matches('-')
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Run an Exec line as systemd would: a clean environment, cwd /.
fn run_as_systemd(env: &Env, argv: &[String]) {
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        // The test's own empty configuration, as the Env's commands use.
        .env("BERTH_CONFIG_ROOT", env.dir.path().join("sysconf"))
        .current_dir("/")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn status(env: &Env, name: &str) -> Option<String> {
    env.ps()
        .iter()
        .find(|c| c["Names"][0] == name)
        .map(|c| c["State"].as_str().unwrap_or_default().to_string())
}

#[test]
fn unit_starts_and_stops_the_existing_container() {
    require!(is_root(), "needs root");
    require!(
        Path::new("/usr/bin/systemd-analyze").exists(),
        "systemd-analyze not installed"
    );
    let env = Env::new();
    env.ok(&["create", "--name", "web", "busybox", "sleep", "1000"]);
    let text = env.ok(&["generate", "systemd", "--name", "-t", "3", "web"]);
    assert!(text.contains("# container-web.service\n"), "{text}");
    assert!(text.contains("Restart=on-failure\n"), "{text}");
    assert!(text.contains("TimeoutStopSec=63\n"), "{text}");
    assert!(text.contains("Type=forking\n"), "{text}");
    verify(env.dir.path(), "container-web", &text);
    run_as_systemd(&env, &exec(&text, "ExecStart"));
    assert_eq!(status(&env, "web").as_deref(), Some("running"));
    run_as_systemd(&env, &exec(&text, "ExecStop"));
    assert_eq!(status(&env, "web").as_deref(), Some("exited"));
    // By id, the unit is named after the id.
    let id = env.inspect("web")["Id"].as_str().unwrap().to_string();
    let by_id = env.ok(&["generate", "systemd", "web"]);
    assert!(by_id.contains(&format!("ExecStart={} ", engine_env::BERTH)));
    assert!(by_id.contains(&format!("start {id}\n")), "{by_id}");
}

#[test]
fn new_unit_creates_the_container_afresh_and_removes_it() {
    require!(is_root(), "needs root");
    require!(
        Path::new("/usr/bin/systemd-analyze").exists(),
        "systemd-analyze not installed"
    );
    let env = Env::new();
    env.ok(&[
        "create",
        "--name",
        "fresh",
        "-e",
        "GREETING=hi",
        "busybox",
        "sleep",
        "1000",
    ]);
    let text = env.ok(&["generate", "systemd", "--new", "--name", "fresh"]);
    verify(env.dir.path(), "container-fresh", &text);
    let start = exec(&text, "ExecStart").join(" ");
    assert!(
        start.contains(" run --rm -d --replace --name fresh -e GREETING=hi busybox sleep 1000"),
        "{start}"
    );
    let old = env.inspect("fresh")["Id"].as_str().unwrap().to_string();
    run_as_systemd(&env, &exec(&text, "ExecStart"));
    let new = env.inspect("fresh");
    assert_ne!(new["Id"].as_str().unwrap(), old, "not replaced");
    assert_eq!(status(&env, "fresh").as_deref(), Some("running"));
    assert!(new["Config"]["Env"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e == "GREETING=hi"));
    run_as_systemd(&env, &exec(&text, "ExecStop"));
    run_as_systemd(&env, &exec(&text, "ExecStopPost"));
    assert_eq!(status(&env, "fresh"), None, "container left after stop");
}

#[test]
fn bad_input_is_refused() {
    require!(is_root(), "needs root");
    let env = Env::new();
    env.ok(&["create", "--name", "c", "busybox", "true"]);
    let out = env.berth(&["generate", "systemd", "--restart-policy", "sometimes", "c"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--restart-policy"));
    let out = env.berth(&["generate", "systemd", "nosuch"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nosuch"));
}
