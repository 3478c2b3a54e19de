//! podman, a real engine, drives berth-runtime in runc's place: run,
//! detached run, exec, stop and rm of a busybox image.

mod common;

use berth_testkit::{is_root, require};
use common::podman::{have_podman, Podman};
use std::path::Path;
use std::process::Command;

#[test]
fn podman_run_rm_uses_berth_runtime() {
    require!(is_root(), "needs root");
    require!(have_podman(), "podman not installed");
    let p = Podman::new("podman");
    let out = p.container(
        &["--rm"],
        &[
            "sh",
            "-c",
            "echo hello from podman; cat /proc/1/cmdline | tr '\\0' ' '",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "hello from podman\nsh -c echo hello from podman; cat /proc/1/cmdline | tr '\\0' ' ' "
    );

    let out = p.container(&["--rm"], &["sh", "-c", "exit 3"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn podman_detached_exec_stop_rm() {
    require!(is_root(), "needs root");
    require!(have_podman(), "podman not installed");
    let p = Podman::new("podman");
    let out = p.container(&["-d", "--name", "berth-detached"], &["sleep", "300"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let ps = p.run(&["ps", "--format", "{{.Names}} {{.Status}}"]);
    assert!(
        String::from_utf8_lossy(&ps.stdout).contains("berth-detached Up"),
        "{:?}",
        ps
    );

    let exec = p.run(&[
        "exec",
        "berth-detached",
        "sh",
        "-c",
        "echo exec-ok; cat /proc/1/comm",
    ]);
    assert!(
        exec.status.success(),
        "{}",
        String::from_utf8_lossy(&exec.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&exec.stdout), "exec-ok\nsleep\n");
    let exec = p.run(&["exec", "berth-detached", "sh", "-c", "exit 5"]);
    assert_eq!(exec.status.code(), Some(5));

    let stop = p.run(&["stop", "-t", "1", "berth-detached"]);
    assert!(
        stop.status.success(),
        "{}",
        String::from_utf8_lossy(&stop.stderr)
    );
    let inspect = p.run(&["inspect", "--format", "{{.State.Status}}", "berth-detached"]);
    assert_eq!(String::from_utf8_lossy(&inspect.stdout).trim(), "exited");
    let rm = p.run(&["rm", "berth-detached"]);
    assert!(
        rm.status.success(),
        "{}",
        String::from_utf8_lossy(&rm.stderr)
    );
}

#[test]
fn podman_run_it_gets_a_terminal() {
    require!(is_root(), "needs root");
    require!(have_podman(), "podman not installed");
    require!(
        Path::new("/usr/bin/script").exists(),
        "script(1) not installed"
    );
    let p = Podman::new("podman");
    let cmd = p.cmd();
    let mut line: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    line.extend(
        [
            "run",
            "--rm",
            "-it",
            "--network",
            "none",
            "--cgroup-parent",
            &p.cgroup_parent,
            "--ulimit",
            "nofile=1024:1024",
            "--ulimit",
            "nproc=1024:1024",
            "berth-busybox",
            "sh",
            "-c",
            "tty; exit 6",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    // script(1) gives podman a terminal, as a user's shell would. conmon's
    // attach can lose the output of a container this short under load, so
    // one retry is allowed; the first failure is printed.
    let attempt = || {
        let out = Command::new("script")
            .args(["-qec", &line.join(" "), "/dev/null"])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let ok = text.contains("/dev/pts/0") && out.status.code() == Some(6);
        let what = format!(
            "{text:?} exit {:?} {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        (ok, what)
    };
    let (ok, first) = attempt();
    if !ok {
        eprintln!("podman -it, first attempt: {first}");
        let (ok, second) = attempt();
        assert!(ok, "{second}");
    }
}
