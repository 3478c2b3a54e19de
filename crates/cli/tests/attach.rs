//! `attach` through the monitor's attach socket, detach keys, `run -a`
//! and `--sig-proxy`, with real containers; terminals come from script(1),
//! as a user at a terminal would have one.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn have_script() -> bool {
    Path::new("/usr/bin/script").exists()
}

/// A berth command line for a shell, each argument quoted.
fn shell_line(env: &Env, args: &[&str]) -> String {
    let cmd = env.command(args);
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A berth command under script(1): we type into its terminal and read
/// what it shows as it comes.
struct Terminal {
    child: Child,
    shown: Arc<Mutex<Vec<u8>>>,
}

impl Terminal {
    fn start(env: &Env, args: &[&str]) -> Terminal {
        let mut child = Command::new("script")
            .args(["-qec", &shell_line(env, args), "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut out = child.stdout.take().unwrap();
        let shown = Arc::new(Mutex::new(Vec::new()));
        let sink = shown.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = out.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Terminal { child, shown }
    }

    fn shown(&self) -> String {
        String::from_utf8_lossy(&self.shown.lock().unwrap()).into_owned()
    }

    fn type_in(&mut self, keys: &[u8]) {
        let stdin = self.child.stdin.as_mut().unwrap();
        stdin.write_all(keys).unwrap();
        stdin.flush().unwrap();
    }

    fn wait_for_text(&self, text: &str) {
        let end = Instant::now() + Duration::from_secs(10);
        while !self.shown().contains(text) {
            assert!(Instant::now() < end, "no {text:?} in {:?}", self.shown());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The exit code of berth (script passes it on).
    fn exit_code(mut self) -> i32 {
        let end = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st.code().unwrap();
            }
            if Instant::now() > end {
                let _ = self.child.kill();
                panic!("still running; it showed {:?}", self.shown());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn running(env: &Env, name: &str) -> bool {
    env.inspect(name)["State"]["Running"] == true
}

#[test]
fn attach_to_a_terminal_shell_type_detach_and_come_back() {
    require!(is_root(), "containers need root");
    require!(have_script(), "script(1) gives the test a terminal");
    let env = Env::new();
    env.ok(&["run", "-dit", "--name", "sh", "busybox", "sh"]);
    let mut term = Terminal::start(&env, &["attach", "sh"]);
    term.type_in(b"echo hi-$((6*7))\r");
    term.wait_for_text("hi-42");
    // podman's ctrl-p ctrl-q: berth exits 0, the shell runs on.
    term.type_in(b"\x10\x11");
    assert_eq!(term.exit_code(), 0);
    assert!(running(&env, "sh"));
    // Back again, with our own keys; nothing of before is replayed.
    let mut term = Terminal::start(&env, &["attach", "--detach-keys", "ctrl-x", "sh"]);
    term.type_in(b"echo again-$((2+3))\r");
    term.wait_for_text("again-5");
    assert!(!term.shown().contains("hi-42"), "{}", term.shown());
    // ctrl-p ctrl-q are not the keys now: they go to the shell (whose
    // line ctrl-c then drops).
    term.type_in(b"\x10\x11");
    std::thread::sleep(Duration::from_millis(500));
    assert!(term.child.try_wait().unwrap().is_none(), "{}", term.shown());
    term.type_in(b"\x03exit 3\r");
    assert_eq!(term.exit_code(), 3);
    assert_eq!(env.ok(&["wait", "sh"]).trim(), "3");
    env.ok(&["rm", "sh"]);
}

#[test]
fn run_it_detaches_and_the_container_runs_on() {
    require!(is_root(), "containers need root");
    require!(have_script(), "script(1) gives the test a terminal");
    let env = Env::new();
    let mut term = Terminal::start(&env, &["run", "-it", "--name", "it", "busybox", "sh"]);
    term.type_in(b"echo x-$((1+1))\r");
    term.wait_for_text("x-2");
    term.type_in(b"\x10\x11");
    assert_eq!(term.exit_code(), 0);
    assert!(running(&env, "it"));
    // The session is in the log, as podman's.
    assert!(env.ok(&["logs", "it"]).contains("x-2"));
    // start -ai of a terminal container attaches the same way.
    env.ok(&["stop", "-t", "0", "it"]);
    let mut term = Terminal::start(&env, &["start", "-ai", "it"]);
    term.type_in(b"exit 7\r");
    assert_eq!(term.exit_code(), 7);
    env.ok(&["rm", "it"]);
}

#[test]
fn attach_without_a_terminal_gets_new_output_and_the_exit_code() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "w",
        "busybox",
        "sh",
        "-c",
        "echo before; while [ ! -e /tmp/go ]; do sleep 0.1; done; \
         echo out; echo err >&2; exit 5",
    ]);
    eventually("the first line", || env.ok(&["logs", "w"]) == "before\n");
    let attach = env
        .command(&["attach", "w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    env.ok(&["exec", "w", "touch", "/tmp/go"]);
    let out = attach.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    assert_eq!(out.status.code(), Some(5));
    // Only a running container can be attached to.
    let out = env.berth(&["attach", "w"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("running"),
        "{out:?}"
    );
}

#[test]
fn attach_feeds_the_stdin_of_an_interactive_container() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-di",
        "--name",
        "in",
        "busybox",
        "sh",
        "-c",
        "read line; echo got $line; exit 4",
    ]);
    let mut attach = env
        .command(&["attach", "in"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    attach
        .stdin
        .as_mut()
        .unwrap()
        .write_all(b"hello\n")
        .unwrap();
    let out = attach.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got hello\n");
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn run_attaches_only_the_streams_named() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let script = "echo out; echo err >&2";
    let out = env.berth(&[
        "run", "-a", "stdout", "--name", "o", "busybox", "sh", "-c", script,
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    let out = env.berth(&[
        "run", "-a", "STDERR", "--name", "e", "busybox", "sh", "-c", script,
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "err\n");
    // The log has both either way.
    let logs = env.berth(&["logs", "o"]);
    assert_eq!(String::from_utf8_lossy(&logs.stdout), "out\n");
    assert_eq!(String::from_utf8_lossy(&logs.stderr), "err\n");
    // A stream podman doesn't know, and bad detach keys: nothing made.
    for bad in [
        &["run", "-a", "stdfoo", "busybox", "true"][..],
        &["run", "--detach-keys", "ctrl-1", "busybox", "true"][..],
    ] {
        let out = env.berth(bad);
        assert_eq!(out.status.code(), Some(125), "{out:?}");
    }
    assert_eq!(env.ps().len(), 2);
}

#[test]
fn sig_proxy_passes_signals_on_unless_turned_off() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "t",
        "busybox",
        "sh",
        "-c",
        "trap 'echo got USR1' USR1; while :; do sleep 0.1; done",
    ]);
    let usr1 = |child: &Child| {
        // SAFETY: a signal to a child we started.
        unsafe { libc::kill(child.id() as i32, libc::SIGUSR1) };
    };
    let got = || env.ok(&["logs", "t"]).matches("got USR1").count();
    let mut off = env
        .command(&["attach", "--sig-proxy=false", "t"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    usr1(&off);
    // Not passed on: it is ours, and kills us.
    let st = off.wait().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&st), Some(10));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(got(), 0);
    assert!(running(&env, "t"));
    let mut on = env
        .command(&["attach", "t"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    usr1(&on);
    eventually("the container to get USR1", || got() == 1);
    assert!(on.try_wait().unwrap().is_none(), "attach ended");
    env.ok(&["stop", "-t", "0", "t"]);
    assert_eq!(on.wait().unwrap().code(), Some(137));
}

#[test]
fn exec_it_detaches_and_its_shell_runs_on() {
    require!(is_root(), "containers need root");
    require!(have_script(), "script(1) gives the test a terminal");
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "e", "busybox", "sleep", "1000"]);
    let mut term = Terminal::start(&env, &["exec", "-it", "e", "sh"]);
    term.type_in(b"echo e-$((3*3))\r");
    term.wait_for_text("e-9");
    term.type_in(b"\x10\x11");
    assert_eq!(term.exit_code(), 0);
    // The shell runs on (its terminal held for it).
    std::thread::sleep(Duration::from_millis(300));
    let ps = env.ok(&["exec", "e", "ps"]);
    assert!(ps.lines().any(|l| l.trim_end().ends_with(" sh")), "{ps}");
    env.ok(&["rm", "-f", "e"]);
}

#[test]
fn exec_d_records_the_exit_code() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "x", "busybox", "sleep", "1000"]);
    let session = env.ok(&["exec", "-d", "x", "sh", "-c", "sleep 0.3; exit 3"]);
    assert_eq!(session.trim().len(), 64, "{session}");
    let died = || {
        env.ok(&["events", "--stream=false", "--format", "json"])
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|e| e["Status"] == "exec_died")
    };
    eventually("the exec_died event", || died().is_some());
    let e = died().unwrap();
    assert_eq!(e["ContainerExitCode"], 3, "{e}");
    assert_eq!(e["Name"], "x", "{e}");
    // A command the runtime can't start is still exec's error.
    let out = env.berth(&["exec", "-d", "x", "/nonexistent"]);
    assert_ne!(out.status.code(), Some(0), "{out:?}");
    env.ok(&["rm", "-f", "x"]);
}
