//! `berth run` and the container commands with real containers (as root):
//! output and exit codes, the image config merged with options, bind
//! mounts, read-only roots, detached containers with their logs.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use serde_json::json;

#[test]
fn run_rm_prints_output_and_exits_with_the_code() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let layers = env.layers();
    let out = env.berth(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "echo hello; echo oops >&2; exit 3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "hello\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "oops\n");
    assert!(env.ps().is_empty(), "--rm left a container");
    assert_eq!(env.stored_containers(), 0);
    assert_eq!(env.layers(), layers, "the rw layer was left behind");
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}

#[test]
fn image_config_and_options_are_merged() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.load_image(
        "configured",
        &json!({
            "Env": ["PATH=/bin:/usr/bin", "FROM_IMAGE=1", "OVERRIDE=image"],
            "User": "berth",
            "WorkingDir": "/tmp",
            "Entrypoint": ["sh", "-c"],
            "Cmd": ["echo default"],
        }),
    );
    let script = "echo $FROM_IMAGE $OVERRIDE $HOME; id -u; id -g; id -G; pwd; hostname";
    let out = env.ok(&["run", "--rm", "-e", "OVERRIDE=user", "configured", script]);
    let (head, host) = out.rsplit_once("/tmp\n").unwrap();
    assert_eq!(head, "1 user /home/berth\n1000\n1000\n1000 10\n", "{out}");
    assert_eq!(host.trim().len(), 12, "hostname is the short id: {out}");
    // The image's Cmd when none is given.
    assert_eq!(env.ok(&["run", "--rm", "configured"]), "default\n");
    // -u with names, -w, --hostname, --entrypoint.
    let out = env.ok(&[
        "run",
        "--rm",
        "-u",
        "nobody:wheel",
        "-w",
        "/etc",
        "--hostname",
        "box",
        "--entrypoint",
        "sh",
        "configured",
        "-c",
        "id -u; id -g; pwd; hostname; cat /etc/hostname",
    ]);
    assert_eq!(out, "65534\n10\n/etc\nbox\nbox\n");
    // An unknown user is one clear error.
    let out = env.berth(&["run", "--rm", "-u", "nosuch", "configured", "true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nosuch"));
    assert_eq!(env.stored_containers(), 0);
}

#[test]
fn confinement_is_podmans_and_can_be_loosened() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let caps = |args: &[&str]| {
        let mut a = vec!["run", "--rm"];
        a.extend_from_slice(args);
        a.extend_from_slice(&[
            "busybox",
            "sh",
            "-c",
            "grep -E 'CapBnd|Seccomp:' /proc/self/status",
        ]);
        env.ok(&a)
    };
    let out = caps(&[]);
    assert!(out.contains("CapBnd:\t00000000800405fb"), "{out}");
    assert!(out.contains("Seccomp:\t2"), "{out}");
    let out = caps(&[
        "--cap-add",
        "net_admin",
        "--cap-drop",
        "KILL",
        "--security-opt",
        "seccomp=unconfined",
    ]);
    assert!(out.contains("CapBnd:\t00000000800415db"), "{out}");
    assert!(out.contains("Seccomp:\t0"), "{out}");
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let ours = ours.lines().find(|l| l.starts_with("CapBnd:")).unwrap();
    let out = caps(&["--privileged"]);
    assert!(out.contains(ours), "{out} vs {ours}");
    assert!(out.contains("Seccomp:\t0"), "{out}");
    // Masked and read-only paths.
    let out = env.berth(&[
        "run",
        "--rm",
        "busybox",
        "sh",
        "-c",
        "cat /proc/kcore | wc -c; echo 1 > /proc/sys/kernel/panic",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "0\n");
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn volumes_tmpfs_and_read_only_root() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let host = env.dir.path().join("shared");
    std::fs::create_dir(&host).unwrap();
    std::fs::write(host.join("in"), "from host\n").unwrap();
    let v = format!("{}:/data", host.display());
    let out = env.ok(&[
        "run",
        "--rm",
        "-v",
        &v,
        "busybox",
        "sh",
        "-c",
        "cat /data/in; echo back > /data/out",
    ]);
    assert_eq!(out, "from host\n");
    assert_eq!(std::fs::read_to_string(host.join("out")).unwrap(), "back\n");
    let ro = format!("{}:/data:ro", host.display());
    let out = env.berth(&["run", "--rm", "-v", &ro, "busybox", "touch", "/data/x"]);
    assert_ne!(out.status.code(), Some(0));
    assert!(!host.join("x").exists());
    // --read-only: / refuses writes, /tmp and --tmpfs mounts take them.
    let out = env.berth(&[
        "run",
        "--rm",
        "--read-only",
        "--tmpfs",
        "/scratch",
        "busybox",
        "sh",
        "-c",
        "touch /tmp/a && touch /scratch/b && echo ok; touch /x",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("Read-only file system"));
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn detached_run_logs_stop_rm() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "run", "-d", "--name", "chatty", "busybox", "sh", "-c",
        "echo one; echo two >&2; printf part; trap 'echo bye; exit 7' TERM; while true; do sleep 0.1; done",
    ]);
    let id = id.trim().to_string();
    assert_eq!(id.len(), 64);
    let log = env.runroot().join("containers").join(&id).join("ctr.log");
    eventually("the log", || {
        std::fs::read_to_string(&log).is_ok_and(|l| l.lines().count() >= 2)
    });
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for l in &lines {
        let f: Vec<&str> = l.splitn(4, ' ').collect();
        assert_eq!(f[0].len(), 30, "timestamp of {l:?}");
        assert!(f[0].ends_with('Z') && f[0].as_bytes()[10] == b'T', "{l:?}");
    }
    assert!(lines[0].ends_with(" stdout F one"), "{text}");
    assert!(lines[1].ends_with(" stderr F two"), "{text}");
    let ps = env.ps();
    assert_eq!(ps[0]["Names"][0], "chatty");
    assert_eq!(ps[0]["State"], "running");
    let out = env.ok(&["ps", "-q"]);
    assert_eq!(out.trim(), &id[..12]);
    // Stop: the trap's exit code, and the unterminated piece became a P line.
    env.ok(&["stop", "chatty"]);
    let ps = env.ps();
    assert_eq!(ps[0]["State"], "exited");
    assert_eq!(ps[0]["ExitCode"], 7);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.lines().any(|l| l.ends_with(" stdout F partbye")),
        "{text}"
    );
    let out = env.berth(&["logs", "chatty"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "one\npartbye\n");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "two\n");
    assert_eq!(env.ok(&["logs", "--tail", "1", "chatty"]), "partbye\n");
    assert_eq!(env.ok(&["wait", "chatty"]).trim(), "7");
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
    env.ok(&["rm", "chatty"]);
    assert!(env.ps().is_empty());
    assert_eq!(env.stored_containers(), 0);
    assert!(!env.runroot().join("containers").join(&id).exists());
}

#[test]
fn create_start_attach_and_wait() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "create",
        "--name",
        "later",
        "busybox",
        "sh",
        "-c",
        "echo ran; exit 4",
    ]);
    assert_eq!(env.ps()[0]["State"], "created");
    let out = env.berth(&["start", "-a", id.trim()]);
    assert_eq!(out.status.code(), Some(4));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ran\n");
    // Started again, detached.
    env.ok(&["start", "later"]);
    assert_eq!(env.ok(&["wait", "later"]).trim(), "4");
    // The log has both runs: start -a's and the detached one's (podman's).
    assert_eq!(env.ok(&["logs", "later"]), "ran\nran\n");
    let info: serde_json::Value = serde_json::from_str(&env.ok(&["inspect", "later"])).unwrap();
    assert_eq!(info[0]["State"]["ExitCode"], 4);
    assert!(info[0]["State"]["CgroupPath"]
        .as_str()
        .unwrap()
        .starts_with(&env.cgroup_parent));
}

#[test]
fn exec_runs_in_the_running_container() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run", "-d", "--name", "host", "-e", "KEPT=yes", "busybox", "sleep", "1000",
    ]);
    let out = env.berth(&[
        "exec",
        "-u",
        "berth",
        "-e",
        "X=1",
        "-w",
        "/tmp",
        "host",
        "sh",
        "-c",
        "id -u; echo $X $KEPT; pwd; cat /proc/1/cmdline | tr '\\0' ' '; exit 5",
    ]);
    assert_eq!(
        out.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "1000\n1 yes\n/tmp\nsleep 1000 "
    );
    let out = env.berth(&["exec", "host", "nosuchcmd"]);
    assert_eq!(out.status.code(), Some(127));
    env.ok(&["rm", "-f", "host"]);
    let out = env.berth(&["exec", "host", "true"]);
    assert_eq!(out.status.code(), Some(125));
}

#[test]
fn start_after_the_runroot_was_lost_rebuilds_the_bundle() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "create", "--name", "again", "-e", "A=b", "busybox", "sh", "-c", "echo $A",
    ]);
    // As after a reboot: the runroot (a tmpfs) is empty.
    std::fs::remove_dir_all(env.runroot().join("containers").join(id.trim())).unwrap();
    assert_eq!(env.ps()[0]["State"], "created");
    let out = env.berth(&["start", "-a", "again"]);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "b\n",
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn foreground_run_passes_signals_on() {
    require!(is_root(), "containers need root");
    use std::io::BufRead as _;
    let env = Env::new();
    let mut child = env
        .command(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "trap 'echo got TERM; exit 9' TERM; echo ready; while :; do sleep 0.1; done",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    let st = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "got TERM\n");
    assert_eq!(child.wait().unwrap().code(), Some(9));
    assert!(env.ps().is_empty());
}

#[test]
fn logs_follow_until_the_container_exits() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "slow",
        "busybox",
        "sh",
        "-c",
        "for i in 1 2 3; do echo line $i; sleep 0.2; done",
    ]);
    let out = env.ok(&["logs", "-f", "slow"]);
    assert_eq!(out, "line 1\nline 2\nline 3\n");
}

#[test]
fn run_with_a_terminal() {
    require!(is_root(), "containers need root");
    require!(
        std::path::Path::new("/usr/bin/script").exists(),
        "script(1) gives the test a terminal"
    );
    let env = Env::new();
    let cmd = env.command(&[
        "run",
        "--rm",
        "-it",
        "busybox",
        "sh",
        "-c",
        "tty; echo $TERM; exit 6",
    ]);
    let line = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = std::process::Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("/dev/pts/"), "{text}");
    assert!(text.contains("xterm"), "{text}");
    assert_eq!(out.status.code(), Some(6), "{text}");
    assert!(env.ps().is_empty());
}

#[test]
fn detached_rm_removes_itself_when_done() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&["run", "-d", "--rm", "busybox", "true"]);
    eventually("the container to be removed", || {
        env.ps().is_empty() && env.stored_containers() == 0
    });
    assert!(env.cgroups_left().is_empty(), "{:?}", env.cgroups_left());
}
