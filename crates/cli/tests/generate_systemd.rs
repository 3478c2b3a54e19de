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
    run_as_systemd_notified(env, argv, None)
}

/// [`run_as_systemd`] of a `Type=notify` unit: `NOTIFY_SOCKET` set.
fn run_as_systemd_notified(env: &Env, argv: &[String], notify: Option<&Path>) {
    let mut cmd = Command::new(&argv[0]);
    cmd.env_clear();
    if let Some(n) = notify {
        cmd.env("NOTIFY_SOCKET", n);
    }
    let out = cmd
        .args(&argv[1..])
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
        start.contains(
            " run --rm --sdnotify=conmon -d --replace --name fresh -e GREETING=hi busybox sleep 1000"
        ),
        "{start}"
    );
    assert!(text.contains("\nType=notify\nNotifyAccess=all\n"), "{text}");
    let old = env.inspect("fresh")["Id"].as_str().unwrap().to_string();
    // The service manager's socket: the monitor says READY with its pid.
    let notify = env.dir.path().join("notify.sock");
    let manager = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    manager
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    run_as_systemd_notified(&env, &exec(&text, "ExecStart"), Some(&notify));
    let mut buf = [0u8; 128];
    let n = manager.recv(&mut buf).expect("no READY");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    let pid = msg
        .strip_prefix("MAINPID=")
        .and_then(|m| m.strip_suffix("\nREADY=1"))
        .unwrap_or_else(|| panic!("{msg:?}"));
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&cmdline).contains("monitor"),
        "MAINPID {pid} is not the monitor"
    );
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
fn podman_flags_shape_the_unit() {
    require!(is_root(), "needs root");
    require!(
        Path::new("/usr/bin/systemd-analyze").exists(),
        "systemd-analyze not installed"
    );
    let env = Env::new();
    env.ok(&["create", "--name", "flags", "busybox", "sleep", "1000"]);
    let text = env.ok(&[
        "generate",
        "systemd",
        "--name",
        "--no-header",
        "--wants",
        "time-sync.target",
        "--after",
        "local-fs.target",
        "--after",
        "sysinit.target",
        "--requires",
        "basic.target",
        "-e",
        "GREETING=hello world",
        "--env",
        "RATE=100%",
        "--restart-sec",
        "15",
        "--start-timeout",
        "90",
        "--restart-policy",
        "always",
        "--container-prefix",
        "ctr",
        "--separator",
        "_",
        "flags",
    ]);
    assert!(text.starts_with("[Unit]\n"), "{text}");
    for line in [
        "Wants=time-sync.target\n",
        "After=local-fs.target\n",
        "After=sysinit.target\n",
        "Requires=basic.target\n",
        "Environment=\"GREETING=hello world\"\n",
        "Environment=RATE=100%%\n",
        "RestartSec=15\n",
        "TimeoutStartSec=90\n",
        "Restart=always\n",
    ] {
        assert!(text.contains(line), "no {line:?} in\n{text}");
    }
    verify(env.dir.path(), "ctr_flags", &text);
    // --files writes PREFIX SEP NAME.service in the working directory.
    let out = env
        .command(&["generate", "systemd", "--name", "--files", "flags"])
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let file = env.dir.path().join("container-flags.service");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        file.display().to_string()
    );
    verify(
        env.dir.path(),
        "container-flags",
        &std::fs::read_to_string(&file).unwrap(),
    );
    // Bad values change nothing and say what is wrong.
    for bad in [
        vec!["--env", "NOVALUE=x\ny=1"],
        vec!["--wants", "a.service b.service"],
    ] {
        let mut args = vec!["generate", "systemd", "--name"];
        args.extend(bad.iter().copied());
        args.push("flags");
        let out = env.berth(&args);
        assert!(!out.status.success(), "{bad:?} accepted");
    }
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
