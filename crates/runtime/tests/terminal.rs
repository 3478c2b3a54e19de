//! `process.terminal`: the pty master reaches the console socket (as
//! conmon and containerd's shim receive it), or a foreground `run` proxies
//! it to its own terminal.

mod common;

use berth_testkit::{is_root, require};
use common::*;
use serde_json::json;
use std::io::{IoSliceMut, Read};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

fn receive_fd(stream: &std::os::unix::net::UnixStream) -> OwnedFd {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        stream.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(fds) = c {
            return unsafe { OwnedFd::from_raw_fd(fds[0]) };
        }
    }
    panic!("no fd received");
}

#[test]
fn console_socket_receives_the_pty_master() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "tty; stty size; test -c /dev/console && echo console; echo done",
    ]);
    b.config["process"]["terminal"] = json!(true);
    b.config["process"]["consoleSize"] = json!({"height": 33, "width": 101});
    b.write_config().unwrap();
    rt.track(&b);
    let sock_path = b.path().join("console.sock");
    let listener = UnixListener::bind(&sock_path).unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        receive_fd(&stream)
    });
    rt.ok(&[
        "create",
        "--console-socket",
        sock_path.to_str().unwrap(),
        "-b",
        b.path().to_str().unwrap(),
        &b.id,
    ]);
    let master = server.join().unwrap();
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    rt.ok(&["start", &b.id]);
    let mut out = String::new();
    let mut f = std::fs::File::from(master);
    let mut buf = [0u8; 1024];
    // Read until the slave closes (EIO) or "done" arrives.
    while !out.contains("done") {
        match f.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.push_str(&String::from_utf8_lossy(&buf[..n])),
        }
    }
    assert!(
        out.contains("/dev/pts/0"),
        "container's own devpts: {out:?}"
    );
    assert!(out.contains("33 101"), "consoleSize applied: {out:?}");
    assert!(out.contains("console"), "/dev/console is the pty: {out:?}");
    reap(pid);
    rt.wait_status(&b.id, "stopped");
    rt.ok(&["delete", &b.id]);
}

#[test]
fn foreground_run_proxies_the_terminal() {
    require!(is_root(), "needs root");
    require!(
        std::path::Path::new("/usr/bin/script").exists(),
        "script(1) not installed"
    );
    let rt = Runtime::new();
    let mut b = bundle(&["sh", "-c", "tty; echo exit-code-follows; exit 4"]);
    b.config["process"]["terminal"] = json!(true);
    b.write_config().unwrap();
    rt.track(&b);
    // script(1) gives the runtime a terminal of its own, as a user's shell would.
    let cmd = format!(
        "{BIN} --root {} run -b {} {}",
        rt.root.path().display(),
        b.path().display(),
        b.id
    );
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(text.contains("/dev/pts/0"), "{text:?} {}", stderr(&out));
    assert!(text.contains("exit-code-follows"), "{text:?}");
    assert_eq!(out.status.code(), Some(4));
}

#[test]
fn terminal_without_console_socket_or_with_a_non_socket_is_refused() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["process"]["terminal"] = json!(true);
    b.write_config().unwrap();
    rt.track(&b);
    let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("console-socket"), "{}", stderr(&out));
    assert!(!rt.state_dir(&b.id).exists());

    let not_socket = b.path().join("plain-file");
    std::fs::write(&not_socket, "").unwrap();
    let out = rt.run(&[
        "create",
        "--console-socket",
        not_socket.to_str().unwrap(),
        "-b",
        b.path().to_str().unwrap(),
        &b.id,
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("is not a unix socket"),
        "{}",
        stderr(&out)
    );
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
}
