//! `berth run --sdnotify=container|conmon|ignore` under a `NOTIFY_SOCKET`
//! served by the test (a unix datagram socket, as systemd's): what the
//! service manager receives, in the foreground and detached.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use std::os::unix::net::UnixDatagram;
use std::process::{Child, Stdio};
use std::time::Duration;

/// Runs inside the container (this test binary, as `/probe`): sends
/// READY=1 with a status and a MAINPID of its own namespace to
/// `$NOTIFY_SOCKET`, or prints that it has none; then stays `PROBE_STAY`
/// seconds.
#[test]
#[ignore]
fn probe_inside_container() {
    match std::env::var("NOTIFY_SOCKET") {
        Ok(path) => {
            let s = UnixDatagram::unbound().unwrap();
            s.send_to(b"READY=1\nSTATUS=probe up\nMAINPID=1", path)
                .unwrap();
            println!("notified");
        }
        Err(_) => println!("no NOTIFY_SOCKET"),
    }
    let stay: u64 = std::env::var("PROBE_STAY")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    std::thread::sleep(Duration::from_secs(stay));
}

/// An image `probe` that runs this test binary's probe.
fn load_probe(env: &Env) {
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_mode(0o755);
    h.set_size(exe.len() as u64);
    b.append_data(&mut h, "probe", exe.as_slice()).unwrap();
    let tar = b.into_inner().unwrap();
    env.load_image_with_layer(
        "probe",
        &serde_json::json!({
            "Cmd": ["/probe", "--ignored", "--exact", "probe_inside_container", "--test-threads=1", "-q", "--nocapture"],
        }),
        Some(&tar),
    );
}

/// The service manager's socket.
fn manager(env: &Env) -> (UnixDatagram, std::path::PathBuf) {
    let path = env.dir.path().join("notify.sock");
    let s = UnixDatagram::bind(&path).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    (s, path)
}

fn receive(s: &UnixDatagram) -> String {
    let mut buf = [0u8; 512];
    let n = s.recv(&mut buf).expect("no notification arrived");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn spawn(env: &Env, socket: &std::path::Path, args: &[&str]) -> Child {
    env.command(args)
        .env("NOTIFY_SOCKET", socket)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn finish(child: Child) -> String {
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn cmdline(pid: &str) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

#[test]
fn container_mode_relays_the_containers_ready_in_the_foreground() {
    require!(is_root(), "needs root");
    let env = Env::new();
    load_probe(&env);
    let (m, path) = manager(&env);
    let child = spawn(
        &env,
        &path,
        &["run", "--rm", "--sdnotify=container", "probe"],
    );
    let waiter = child.id();
    let msg = receive(&m);
    assert!(finish(child).contains("notified"));
    // READY and STATUS pass; MAINPID is the foreground berth's, the
    // container's own (1) means nothing outside.
    assert_eq!(msg, format!("READY=1\nSTATUS=probe up\nMAINPID={waiter}"));
    // The default is podman's: container.
    let child = spawn(&env, &path, &["run", "--rm", "probe"]);
    let waiter = child.id();
    let msg = receive(&m);
    finish(child);
    assert_eq!(msg, format!("READY=1\nSTATUS=probe up\nMAINPID={waiter}"));
}

#[test]
fn container_mode_relays_through_the_monitor_when_detached() {
    require!(is_root(), "needs root");
    let env = Env::new();
    load_probe(&env);
    let (m, path) = manager(&env);
    let child = spawn(
        &env,
        &path,
        &[
            "run",
            "-d",
            "--name",
            "bg",
            "-e",
            "PROBE_STAY=60",
            "--sdnotify=container",
            "probe",
        ],
    );
    let cli = child.id();
    finish(child);
    let msg = receive(&m);
    let pid = msg
        .strip_prefix("READY=1\nSTATUS=probe up\nMAINPID=")
        .unwrap_or_else(|| panic!("{msg:?}"));
    // The monitor, which outlives `berth run -d`, is the main pid.
    assert_ne!(pid, cli.to_string());
    let monitor = cmdline(pid);
    assert!(monitor.contains("monitor"), "MAINPID {pid} is {monitor:?}");
    let logs = env.ok(&["logs", "bg"]);
    assert!(logs.contains("notified"), "{logs}");
    env.ok(&["rm", "-f", "bg"]);
}

#[test]
fn conmon_mode_says_ready_itself_and_hides_the_socket() {
    require!(is_root(), "needs root");
    let env = Env::new();
    load_probe(&env);
    let (m, path) = manager(&env);
    let child = spawn(&env, &path, &["run", "--rm", "--sdnotify=conmon", "probe"]);
    let waiter = child.id();
    let msg = receive(&m);
    // The container saw no socket.
    assert!(finish(child).contains("no NOTIFY_SOCKET"));
    assert_eq!(msg, format!("MAINPID={waiter}\nREADY=1"));

    let child = spawn(
        &env,
        &path,
        &[
            "run",
            "-d",
            "--name",
            "bg",
            "--sdnotify=conmon",
            "busybox",
            "sleep",
            "60",
        ],
    );
    finish(child);
    let msg = receive(&m);
    let pid = msg
        .strip_prefix("MAINPID=")
        .and_then(|m| m.strip_suffix("\nREADY=1"))
        .unwrap_or_else(|| panic!("{msg:?}"));
    assert!(cmdline(pid).contains("monitor"), "MAINPID {pid}");
    env.ok(&["rm", "-f", "bg"]);
}

#[test]
fn ignore_mode_sends_nothing_and_bad_values_are_refused() {
    require!(is_root(), "needs root");
    let env = Env::new();
    load_probe(&env);
    let (m, path) = manager(&env);
    let child = spawn(&env, &path, &["run", "--rm", "--sdnotify=ignore", "probe"]);
    assert!(finish(child).contains("no NOTIFY_SOCKET"));
    m.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 64];
    assert!(m.recv(&mut buf).is_err(), "something was sent");

    let out = env
        .command(&["run", "--rm", "--sdnotify=bogus", "busybox", "true"])
        .env("NOTIFY_SOCKET", &path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("invalid sdnotify value \"bogus\": must be conmon, container or ignore"),
        "{err}"
    );
    assert!(env.ps().is_empty(), "a container was made");
    assert!(m.recv(&mut buf).is_err(), "something was sent");
}
