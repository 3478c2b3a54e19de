//! Terminals beyond the foreground `run -it`: a detached container with a
//! pty (`run -dit`, `create -t` + `start`) whose monitor logs it and holds
//! it open, and `exec -t`/`-it` relayed through our own terminal — under a
//! real pty from script(1), as a user at a terminal would have.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn have_script() -> bool {
    Path::new("/usr/bin/script").exists()
}

/// `line` (a shell command line) under script(1): a pty of its own whose
/// stdin is `input`.
fn under_script(line: &str, input: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = Command::new("script")
        .args(["-qec", line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
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

fn id_of(env: &Env, name: &str) -> String {
    env.ps()
        .into_iter()
        .find(|c| c["Names"][0] == name)
        .map(|c| c["Id"].as_str().unwrap().to_string())
        .unwrap()
}

fn alive(pid: i64) -> bool {
    // A zombie has no cmdline left.
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

#[test]
fn detached_terminal_output_is_logged() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "-t",
        "--name",
        "dt",
        "busybox",
        "sh",
        "-c",
        "echo hello; tty; stty size",
    ]);
    assert_eq!(env.ok(&["wait", "dt"]).trim(), "0");
    // A terminal turns \n into \r\n; the log keeps what the pty said, as
    // podman's does.
    // With nobody's terminal to copy, the size is the classic 24×80.
    assert_eq!(env.ok(&["logs", "dt"]), "hello\r\n/dev/pts/0\r\n24 80\r\n");
    // create -t, then a detached start, the same way.
    env.ok(&[
        "create",
        "-t",
        "--name",
        "ct",
        "busybox",
        "sh",
        "-c",
        "tty; exit 4",
    ]);
    env.ok(&["start", "ct"]);
    assert_eq!(env.ok(&["wait", "ct"]).trim(), "4");
    assert_eq!(env.ok(&["logs", "ct"]), "/dev/pts/0\r\n");
    let id = id_of(&env, "ct");
    let record = env.runroot().join("containers").join(id);
    assert!(!record.join("console.sock").exists(), "console socket left");
}

#[test]
fn detached_interactive_shell_waits_on_its_terminal() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["run", "-dit", "--name", "shell", "busybox", "sh"]);
    let id = id_of(&env, "shell");
    let state = env.state(&id);
    let monitor = state["monitor"]["pid"].as_i64().unwrap();
    let init = state["process"]["pid"].as_i64().unwrap();
    // Its stdin is the pty, and the monitor holds the master: the shell
    // waits for input instead of reading EOF and leaving.
    assert_eq!(
        env.ok(&["exec", "shell", "readlink", "/proc/1/fd/0"])
            .trim(),
        "/dev/pts/0"
    );
    let fds: Vec<String> = std::fs::read_dir(format!("/proc/{monitor}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|l| l.display().to_string())
        .collect();
    assert!(fds.iter().any(|l| l == "/dev/pts/ptmx"), "{fds:?}");
    // What reaches the terminal while it runs is logged.
    env.ok(&["exec", "shell", "sh", "-c", "echo from-exec > /proc/1/fd/1"]);
    eventually("the terminal's output in the log", || {
        env.ok(&["logs", "shell"]).contains("from-exec")
    });
    let ps = env.ps();
    assert_eq!(ps[0]["State"], "running", "{ps:?}");
    let stat = std::fs::read_to_string(format!("/proc/{init}/stat")).unwrap();
    let st = stat.rsplit(')').next().unwrap().split_whitespace().next();
    assert_eq!(
        st,
        Some("S"),
        "the shell should sleep reading its tty: {stat}"
    );
    // An interactive shell ignores SIGTERM: stop kills it after -t.
    env.ok(&["stop", "-t", "1", "shell"]);
    assert_eq!(env.ok(&["wait", "shell"]).trim(), "137");
    eventually("the monitor to leave", || !alive(monitor));
    let record = env.runroot().join("containers").join(&id);
    assert!(!record.join("console.sock").exists(), "console socket left");
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}

#[test]
fn exec_with_a_terminal_relays_input_output_and_exit_code() {
    require!(is_root(), "containers need root");
    require!(have_script(), "script(1) gives the test a terminal");
    let env = Env::new();
    env.ok(&["run", "-d", "--name", "x", "busybox", "sleep", "1000"]);
    // -t: a pty of our terminal's size, TERM set, the process's exit code.
    let exec = shell_line(
        &env,
        &[
            "exec",
            "-t",
            "x",
            "sh",
            "-c",
            "tty; stty size; echo $TERM; exit 5",
        ],
    );
    let out = under_script(&format!("stty rows 33 cols 77; {exec}; echo code=$?"), b"");
    // Without -i our terminal stays cooked and adds its own \r.
    let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    assert!(text.contains("/dev/pts/0\n33 77\nxterm\n"), "{text:?}");
    assert!(text.contains("code=5"), "{text:?}");
    // -it: what we type reaches the shell in the container (our terminal
    // raw, the container's cooked), and our terminal is given back as it
    // was.
    let exec = shell_line(&env, &["exec", "-it", "x", "sh"]);
    let out = under_script(
        &format!(
            "before=$(stty -g); {exec}; echo code=$?; \
             [ \"$before\" = \"$(stty -g)\" ] && echo restored"
        ),
        b"echo hi-$((6*7))\nexit 3\n",
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("hi-42"), "{text:?}");
    assert!(text.contains("code=3"), "{text:?}");
    assert!(text.contains("restored"), "{text:?}");
    // No exec socket is left behind.
    let id = id_of(&env, "x");
    let left: Vec<_> = std::fs::read_dir(env.runroot().join("containers").join(id))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("exec-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn exec_terminal_follows_resizes() {
    require!(is_root(), "containers need root");
    require!(have_script(), "script(1) gives the test a terminal");
    let env = Env::new();
    let sync = env.dir.path().join("sync");
    std::fs::create_dir(&sync).unwrap();
    let vol = format!("{}:/sync", sync.display());
    env.ok(&[
        "run", "-d", "--name", "r", "-v", &vol, "busybox", "sleep", "1000",
    ]);
    // The process reports its size, says so through the shared directory,
    // and waits (a bounded while) for the size to change; the resize
    // comes from our side's terminal (SIGWINCH to berth). Every wait is
    // bounded, so a failure fails rather than hangs. (No single quotes in
    // the command: shell_line quotes with them.)
    let exec = shell_line(
        &env,
        &[
            "exec",
            "-t",
            "r",
            "sh",
            "-c",
            "stty size; touch /sync/ready; i=0; \
             while [ \"$(stty size)\" = \"33 77\" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; \
             stty size",
        ],
    );
    let line = format!(
        "stty rows 33 cols 77; {exec} & \
         i=0; while [ ! -e '{0}/ready' ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; \
         stty rows 40 cols 100; wait",
        sync.display()
    );
    let out = under_script(&line, b"");
    let text = String::from_utf8_lossy(&out.stdout);
    let sizes: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(sizes, ["33 77", "40 100"], "{text:?}");
}
