//! systemd socket activation through `berth run`: berth started with a
//! listening socket as fd 3 and `LISTEN_FDS=1`/`LISTEN_PID=<berth>` (as
//! systemd starts a service) hands that very socket to the container's
//! process as fd 3 with `LISTEN_FDS`/`LISTEN_PID` set for it — in the
//! foreground and detached — and the process accepts a real connection on
//! it. Also podman's `--preserve-fds N`, and the bad inputs.
//!
//! busybox has no server that accepts on an inherited socket, so the
//! container runs this test binary (static, bind-mounted at /probe) as
//! the ignored test `probe_inside_container`: it accepts one connection on
//! fd 3 and answers with what it sees.

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::{eventually, Env};
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::MetadataExt as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};

/// Put `fd` at descriptor 3 of `cmd`'s child, inheritable.
fn as_fd3(cmd: &mut Command, fd: RawFd) {
    // SAFETY: dup2(2)/fcntl(2) only, both async-signal-safe.
    unsafe {
        cmd.pre_exec(move || {
            if fd == 3 {
                libc::fcntl(3, libc::F_SETFD, 0);
            } else if libc::dup2(fd, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// `berth ARGS…` started the way systemd starts a socket-activated
/// service: `LISTEN_PID` is berth's own pid (the shell execs berth).
fn activated(env: &Env, args: &[&str], fd: RawFd) -> Command {
    let berth = env.command(args);
    let line = std::iter::once(berth.get_program())
        .chain(berth.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ");
    let mut cmd = Command::new("sh");
    cmd.args(["-c", &format!("LISTEN_FDS=1 LISTEN_PID=$$ exec {line}")])
        .stdin(Stdio::null());
    as_fd3(&mut cmd, fd);
    cmd
}

fn probe_volume() -> String {
    format!("{}:/probe:ro", std::env::current_exe().unwrap().display())
}

/// Through `sh -c 'exec …'`: the command is looked up in the image before
/// the volume is there; exec keeps the probe pid 1.
const PROBE: [&str; 3] = [
    "sh",
    "-c",
    "exec /probe --ignored --exact probe_inside_container --test-threads=1 -q",
];

/// Connect to the listener and read the container's one-line answer.
fn ask(listener: &TcpListener) -> String {
    let mut conn = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    conn.write_all(b"hello\n").unwrap();
    let mut line = String::new();
    BufReader::new(conn).read_line(&mut line).unwrap();
    line.trim().to_string()
}

fn socket_inode(l: &TcpListener) -> u64 {
    let path = format!("/proc/self/fd/{}", l.as_raw_fd());
    std::fs::metadata(path).unwrap().ino()
}

#[test]
fn a_foreground_container_accepts_on_the_activation_socket() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let vol = probe_volume();
    let mut args = vec![
        "run",
        "--rm",
        "--hostname",
        "activated",
        "-v",
        &vol,
        "busybox",
    ];
    args.extend(PROBE);
    let child = activated(&env, &args, listener.as_raw_fd())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let answer = ask(&listener);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let inode = socket_inode(&listener);
    assert_eq!(
        answer,
        format!("LISTEN_FDS=1 LISTEN_PID=1 pid=1 host=activated fd3=socket:[{inode}] got=hello")
    );
    assert!(env.ps().is_empty(), "--rm left a container");
}

#[test]
fn a_detached_container_gets_the_socket_and_its_monitor_lets_go() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let inode = socket_inode(&listener);
    let vol = probe_volume();
    let mut args = vec![
        "run",
        "-d",
        "--name",
        "svc",
        "--hostname",
        "svc",
        "-v",
        &vol,
        "busybox",
    ];
    args.extend(PROBE);
    let out = activated(&env, &args, listener.as_raw_fd())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    // The probe waits in accept(2): the container runs; its monitor
    // closed its copy of the socket once the container had it.
    let monitor = env.state(&id)["monitor"]["pid"].as_i64().unwrap();
    let socket = format!("socket:[{inode}]");
    let held: Vec<String> = std::fs::read_dir(format!("/proc/{monitor}/fd"))
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|l| l.display().to_string())
        .filter(|l| *l == socket)
        .collect();
    assert!(held.is_empty(), "the monitor still holds {socket}");
    assert_eq!(
        ask(&listener),
        format!("LISTEN_FDS=1 LISTEN_PID=1 pid=1 host=svc fd3={socket} got=hello")
    );
    assert_eq!(env.ok(&["wait", "svc"]).trim(), "0");
    eventually("the monitor to leave", || {
        std::fs::read(format!("/proc/{monitor}/cmdline")).map_or(true, |c| c.is_empty())
    });
}

#[test]
fn preserve_fds_passes_descriptors_without_activation() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let file = env.dir.path().join("fd3");
    std::fs::write(&file, "through fd 3\n").unwrap();
    let f = std::fs::File::open(&file).unwrap();
    let mut cmd = env.command(&[
        "run",
        "--rm",
        "--preserve-fds",
        "1",
        "busybox",
        "sh",
        "-c",
        "cat <&3; echo LISTEN_FDS=${LISTEN_FDS-unset}",
    ]);
    as_fd3(&mut cmd, f.as_raw_fd());
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "through fd 3\nLISTEN_FDS=unset\n"
    );
}

#[test]
fn descriptors_that_are_not_open_are_refused() {
    require!(is_root(), "containers need root");
    let env = Env::new();
    let layers = env.layers();
    // --preserve-fds 2 with only fd 3 open.
    let f = std::fs::File::open("/dev/null").unwrap();
    let mut cmd = env.command(&["run", "--rm", "--preserve-fds", "2", "busybox", "true"]);
    as_fd3(&mut cmd, f.as_raw_fd());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("descriptor 4 is not open"), "{err}");
    // LISTEN_FDS naming us but no socket at fd 3.
    let berth = env.command(&["run", "--rm", "busybox", "true"]);
    let line = std::iter::once(berth.get_program())
        .chain(berth.get_args())
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ");
    let out = Command::new("sh")
        .args(["-c", &format!("LISTEN_FDS=1 LISTEN_PID=$$ exec {line}")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("descriptor 3 is not open"), "{err}");
    assert!(env.ps().is_empty());
    assert_eq!(env.stored_containers(), 0);
    assert_eq!(env.layers(), layers);
}

/// Not a test of its own: the server the containers above run (as pid 1,
/// from this binary bind-mounted at /probe). Accepts one connection on
/// fd 3 and answers with what the process sees.
#[test]
#[ignore = "runs inside a container started by the tests above"]
fn probe_inside_container() {
    let var = |n: &str| std::env::var(n).unwrap_or_else(|_| "unset".into());
    let fd3 = std::fs::read_link("/proc/self/fd/3").unwrap();
    // SAFETY: fd 3 is the listening socket handed to this process.
    let listener = unsafe { <TcpListener as std::os::fd::FromRawFd>::from_raw_fd(3) };
    let (conn, _) = listener.accept().unwrap();
    let mut got = String::new();
    BufReader::new(&conn).read_line(&mut got).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    writeln!(
        &conn,
        "LISTEN_FDS={} LISTEN_PID={} pid={} host={} fd3={} got={}",
        var("LISTEN_FDS"),
        var("LISTEN_PID"),
        std::process::id(),
        host.trim(),
        fd3.display(),
        got.trim()
    )
    .unwrap();
}
