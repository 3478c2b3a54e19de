//! `restart`, `top`, and `mount`/`umount` of containers (as root, real
//! containers).

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::path::{Path, PathBuf};

#[test]
fn restart_running_and_exited_containers() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    env.ok(&[
        "run",
        "-d",
        "--name",
        "r",
        "busybox",
        "sh",
        "-c",
        "echo up; trap 'exit 0' TERM; while true; do sleep 0.1; done",
    ]);
    let before = env.inspect("r")["State"]["Pid"].as_i64().unwrap();
    let id = env.ok(&["restart", "-t", "5", "r"]);
    assert_eq!(id.trim().len(), 64);
    let after = env.inspect("r");
    assert_eq!(after["State"]["Status"], "running");
    assert_ne!(after["State"]["Pid"].as_i64().unwrap(), before);
    eventually("the second run's output", || {
        env.ok(&["logs", "r"]) == "up\nup\n"
    });
    // An exited container is just started.
    env.ok(&["run", "-d", "--name", "e", "busybox", "echo", "hi"]);
    assert_eq!(env.ok(&["wait", "e"]), "0\n");
    env.ok(&["restart", "e"]);
    assert_eq!(env.ok(&["wait", "e"]), "0\n");
    assert_eq!(env.ok(&["logs", "e"]), "hi\nhi\n");
    let err = String::from_utf8(env.berth(&["restart", "nope"]).stderr).unwrap();
    assert!(err.contains("no container named \"nope\""), "{err}");
}

#[test]
fn restart_keeps_a_rm_container_which_its_next_exit_removes() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let script = "trap 'exit 0' TERM; while true; do sleep 0.1; done";
    env.ok(&[
        "run", "-d", "--rm", "--name", "rr", "busybox", "sh", "-c", script,
    ]);
    let before = env.inspect("rr")["State"]["Pid"].as_i64().unwrap();
    env.ok(&["restart", "-t", "5", "rr"]);
    let after = env.inspect("rr");
    assert_eq!(after["State"]["Status"], "running");
    assert_ne!(after["State"]["Pid"].as_i64().unwrap(), before);
    // The restart's mark is spent: the next stop removes it, as --rm says.
    env.ok(&["stop", "-t", "5", "rr"]);
    eventually("the --rm container to go", || {
        !env.ok(&["ps", "-a", "--format", "json"]).contains("\"rr\"")
    });
}

#[test]
fn top_shows_the_containers_processes() {
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
        "sleep 1000 & exec sleep 1001",
    ]);
    let mut out = String::new();
    // Both exec'd: a child caught between fork and exec still shows sh.
    eventually("both sleeps", || {
        out = env.ok(&["top", "t"]);
        out.lines().count() == 3 && out.contains("sleep 1000") && !out.contains("sh -c")
    });
    let lines: Vec<Vec<&str>> = out
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["USER", "PID", "PPID", "%CPU", "ELAPSED", "TTY", "TIME", "COMMAND"]
    );
    // pid 1 (the exec'd sleep 1001) and its child, pids as seen inside.
    assert_eq!(lines[1][..3], ["root", "1", "0"], "{out}");
    assert_eq!(lines[1][5], "?");
    assert_eq!(lines[1][7..], ["sleep", "1001"], "{out}");
    assert_eq!(lines[2][2], "1", "{out}");
    assert_eq!(lines[2][7..], ["sleep", "1000"], "{out}");
    assert!(lines[1][4].ends_with('s'), "ELAPSED like Go's: {out}");
    // Descriptors, words or a comma list.
    let out = env.ok(&["top", "t", "pid,comm", "hpid", "user"]);
    let first: Vec<&str> = out.lines().nth(1).unwrap().split_whitespace().collect();
    let host_pid = env.inspect("t")["State"]["Pid"]
        .as_i64()
        .unwrap()
        .to_string();
    assert_eq!(first, ["1", "sleep", host_pid.as_str(), "root"], "{out}");
    let err = String::from_utf8(env.berth(&["top", "t", "bogus"]).stderr).unwrap();
    assert!(err.contains("bogus") && err.contains("supported"), "{err}");
    env.ok(&["rm", "-f", "t"]);
    env.ok(&["create", "--name", "idle", "busybox", "true"]);
    let err = String::from_utf8(env.berth(&["top", "idle"]).stderr).unwrap();
    assert!(err.contains("is created"), "{err}");
}

fn mounted(path: &Path) -> bool {
    let p = path.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .any(|l| l.split(' ').nth(4) == Some(p.as_str()))
}

#[test]
fn mount_gives_the_containers_files_to_the_host() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let id = env.ok(&[
        "create",
        "--name",
        "m",
        "busybox",
        "sh",
        "-c",
        "cat /from-host; echo ctr > /from-ctr",
    ]);
    let path = PathBuf::from(env.ok(&["mount", "m"]).trim());
    assert!(mounted(&path));
    std::fs::write(path.join("from-host"), "host\n").unwrap();
    assert_eq!(
        env.ok(&["mount"]),
        format!("{}  {}\n", &id[..12], path.display())
    );
    // The container sees the host's write, the host sees the container's;
    // the run's own mount and unmount leave the user's mount alone.
    assert_eq!(env.ok(&["start", "-a", "m"]), "host\n");
    assert!(
        mounted(&path),
        "the end of the run unmounted the user's mount"
    );
    assert_eq!(
        std::fs::read_to_string(path.join("from-ctr")).unwrap(),
        "ctr\n"
    );
    // Counted: two mounts need two umounts.
    assert_eq!(env.ok(&["mount", "m"]).trim(), path.display().to_string());
    env.ok(&["umount", "m"]);
    assert!(mounted(&path));
    env.ok(&["umount", "m"]);
    assert!(!mounted(&path));
    assert_eq!(env.ok(&["mount"]), "");
    // A running container: mount, stop, still mounted; umount -f ends it.
    env.ok(&["run", "-d", "--name", "live", "busybox", "sleep", "1000"]);
    let live = PathBuf::from(env.ok(&["mount", "live"]).trim());
    env.ok(&["mount", "live"]);
    assert!(env.ok(&["mount"]).contains(&live.display().to_string()));
    env.ok(&["stop", "-t", "0", "live"]);
    assert!(mounted(&live));
    env.ok(&["umount", "-f", "live"]);
    assert!(!mounted(&live));
    // Images still mount as before.
    let img = PathBuf::from(env.ok(&["mount", "busybox"]).trim());
    assert!(img.join("bin/busybox").exists());
    env.ok(&["umount", "busybox"]);
    let err = String::from_utf8(env.berth(&["umount", "nope"]).stderr).unwrap();
    assert!(!err.is_empty());
}
