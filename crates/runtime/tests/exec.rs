//! `exec`: a new process joins a running container's namespaces and cgroup.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::json;

fn running(rt: &Runtime) -> (Bundle, i32) {
    let b = bundle(&["sleep", "300"]);
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    (b, pid)
}

fn stop(rt: &Runtime, b: &Bundle, pid: i32) {
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
}

#[test]
fn exec_joins_the_container_and_passes_exit_codes() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (b, pid) = running(&rt);
    let out = rt.run(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "hostname; cat /proc/1/comm; echo $$; grep -c memory /proc/self/cgroup",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let lines: Vec<String> = stdout(&out).lines().map(String::from).collect();
    assert_eq!(lines[0], "berth", "same uts namespace");
    assert_eq!(
        lines[1], "sleep",
        "same pid namespace: pid 1 is the container's init"
    );
    assert_ne!(lines[2], "1");
    let code = rt
        .run(&["exec", &b.id, "sh", "-c", "exit 42"])
        .status
        .code();
    assert_eq!(code, Some(42));
    // The exec'd process is in the container's cgroup.
    let out = rt.run(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "cat /proc/self/cgroup | grep pids",
    ]);
    assert!(
        stdout(&out).trim_end().ends_with(":pids:/"),
        "{}",
        stdout(&out)
    );
    stop(&rt, &b, pid);
}

#[test]
fn exec_flags_env_cwd_user() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (b, pid) = running(&rt);
    let out = rt.run(&[
        "exec",
        "--env",
        "SHIP=berth",
        "--cwd",
        "/tmp",
        "--user",
        "1000:1000",
        &b.id,
        "sh",
        "-c",
        "echo $SHIP; pwd; id -u; id -g",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "berth\n/tmp\n1000\n1000\n");
    stop(&rt, &b, pid);
}

#[test]
fn exec_process_file_and_detach_with_pid_file() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (b, pid) = running(&rt);
    let proc_file = b.path().join("process.json");
    std::fs::write(
        &proc_file,
        json!({"args": ["sh", "-c", "echo from-file $GREETING"], "env": ["PATH=/bin", "GREETING=hi"], "cwd": "/", "user": {"uid": 0, "gid": 0}})
            .to_string(),
    )
    .unwrap();
    let out = rt.run(&["exec", "--process", proc_file.to_str().unwrap(), &b.id]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "from-file hi\n");

    let pid_file = b.path().join("exec.pid");
    rt.ok(&[
        "exec",
        "-d",
        "--pid-file",
        pid_file.to_str().unwrap(),
        &b.id,
        "sleep",
        "5",
    ]);
    let exec_pid: i32 = std::fs::read_to_string(&pid_file).unwrap().parse().unwrap();
    assert_eq!(
        std::fs::read_to_string(format!("/proc/{exec_pid}/comm"))
            .unwrap()
            .trim(),
        "sleep"
    );
    let pids: Vec<i32> = serde_json::from_str(&rt.ok(&["ps", "-f", "json", &b.id])).unwrap();
    assert!(pids.contains(&exec_pid), "{pids:?} should hold {exec_pid}");
    // The detached process was adopted by this test (a subreaper): reap it,
    // or the container's init waits for it forever while dying.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(exec_pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    reap(exec_pid);
    stop(&rt, &b, pid);
}

#[test]
fn exec_errors_are_clear() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let (b, pid) = running(&rt);
    let out = rt.run(&["exec", &b.id, "no-such-binary"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("executable file not found"),
        "{}",
        stderr(&out)
    );
    stop(&rt, &b, pid);

    let b2 = bundle(&["true"]);
    rt.track(&b2);
    rt.ok(&["run", "-d", "-b", b2.path().to_str().unwrap(), &b2.id]);
    let pid2 = rt.state(&b2.id)["pid"].as_i64().unwrap() as i32;
    reap(pid2);
    rt.wait_status(&b2.id, "stopped");
    let out = rt.run(&["exec", &b2.id, "true"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("stopped"), "{}", stderr(&out));
    rt.ok(&["delete", &b2.id]);

    let out = rt.run(&["exec", "ghost", "true"]);
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}
