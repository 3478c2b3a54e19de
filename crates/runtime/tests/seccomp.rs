//! `linux.seccomp` in real containers: errno rules, kill actions, argument
//! conditions, unknown names, bad profiles, the program cache and the
//! notify listener.

mod common;

use berth_testkit::{is_root, require, Bundle};
use common::*;
use serde_json::{json, Value};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// The profile podman 4.3 generates for a default `podman run`.
const PODMAN_PROFILE: &str = include_str!("fixtures/podman-seccomp-oci.json");
const CACHE_DIR: &str = "/run/berth-runtime/seccomp-cache";

/// Run `b` in the foreground; returns (exit code, stdout, stderr).
fn run_bundle(rt: &Runtime, b: &Bundle) -> (i32, String, String) {
    b.write_config().unwrap();
    rt.track(b);
    let out = rt.run(&["run", "-b", b.path().to_str().unwrap(), &b.id]);
    (out.status.code().unwrap_or(-1), stdout(&out), stderr(&out))
}

fn allow_all_but(syscalls: Value) -> Value {
    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": syscalls})
}

#[test]
fn blocked_syscalls_fail_with_the_given_errno() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "mkdir /tmp/d; chmod 600 /etc/passwd; cat /etc/passwd >/dev/null && echo read-ok",
    ]);
    b.config["linux"]["seccomp"] = allow_all_but(json!([
        // Unknown names beside real ones are skipped, not fatal.
        {"names": ["mkdir", "mkdirat", "berth_no_such_syscall"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1},
        {"names": ["chmod", "fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
        {"names": ["berth_no_such_syscall_either"], "action": "SCMP_ACT_KILL"}
    ]));
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("Operation not permitted"),
        "mkdir not refused: {err}"
    );
    assert!(
        err.contains("Permission denied"),
        "chmod not refused: {err}"
    );
    assert_eq!(out, "read-ok\n");
}

#[test]
fn default_errno_ret_applies_to_unlisted_syscalls() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut profile: Value = serde_json::from_str(PODMAN_PROFILE).unwrap();
    // podman's profile with mkdir taken out: the default action (ERRNO
    // with defaultErrnoRet ENOSYS) answers it.
    for rule in profile["syscalls"].as_array_mut().unwrap() {
        let names = rule["names"].as_array_mut().unwrap();
        names.retain(|n| n != "mkdir" && n != "mkdirat");
        if names.is_empty() {
            names.push(json!("berth_placeholder"));
        }
    }
    let mut b = bundle(&["sh", "-c", "mkdir /tmp/d; echo $?"]);
    b.config["linux"]["seccomp"] = profile;
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("Function not implemented"), "{err}");
    assert_eq!(out, "1\n");
}

#[test]
fn kill_process_ends_the_container_with_sigsys() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["uname"]);
    b.config["linux"]["seccomp"] =
        allow_all_but(json!([{"names": ["uname"], "action": "SCMP_ACT_KILL_PROCESS"}]));
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 128 + libc::SIGSYS, "{out} {err}");
    assert_eq!(out, "");
}

#[test]
fn argument_conditions_select_calls() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&[
        "sh",
        "-c",
        "touch /tmp/f; chmod 755 /tmp/f && echo plain-ok; chmod 4755 /tmp/f || echo setuid-refused",
    ]);
    b.config["root"]["readonly"] = json!(false);
    // Setting the setuid bit is refused: `mode & 04000 == 04000`.
    let setuid = |index: u32| json!({"index": index, "value": 0o4000, "valueTwo": 0o4000, "op": "SCMP_CMP_MASKED_EQ"});
    b.config["linux"]["seccomp"] = allow_all_but(json!([
        {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [setuid(1)]},
        {"names": ["fchmodat", "fchmodat2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1, "args": [setuid(2)]}
    ]));
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "plain-ok\nsetuid-refused\n", "{err}");
}

/// With `noNewPrivileges` false the filter must go in while the init still
/// has CAP_SYS_ADMIN, before it becomes an unprivileged user.
#[test]
fn podman_profile_with_and_without_no_new_privileges() {
    require!(is_root(), "needs root");
    for nnp in [true, false] {
        let rt = Runtime::new();
        let mut b = bundle(&["sh", "-c", "id -u; grep Seccomp: /proc/self/status"]);
        b.config["linux"]["seccomp"] = serde_json::from_str(PODMAN_PROFILE).unwrap();
        b.config["process"]["noNewPrivileges"] = json!(nnp);
        b.config["process"]["user"] = json!({"uid": 1000, "gid": 1000});
        let (code, out, err) = run_bundle(&rt, &b);
        assert_eq!(code, 0, "nnp={nnp}: {err}");
        assert_eq!(
            out.split_whitespace().collect::<Vec<_>>(),
            ["1000", "Seccomp:", "2"],
            "nnp={nnp}"
        );
    }
}

#[test]
fn unknown_action_is_one_clear_error_and_leaves_nothing() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["linux"]["seccomp"] =
        allow_all_but(json!([{"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]));
    b.write_config().unwrap();
    rt.track(&b);
    let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("linux.seccomp.syscalls.action"), "{err}");
    assert!(err.contains("SCMP_ACT_EXPLODE"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
}

#[test]
fn notify_without_listener_is_refused_before_anything_exists() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["true"]);
    b.config["linux"]["seccomp"] =
        allow_all_but(json!([{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]));
    b.write_config().unwrap();
    rt.track(&b);
    let out = rt.run(&["create", "-b", b.path().to_str().unwrap(), &b.id]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("listenerPath"), "{}", stderr(&out));
    assert!(!rt.state_dir(&b.id).exists());
    assert!(!cgroup_exists(&b.cgroups_path));
}

/// Cache entries holding the instruction `ret ERRNO(errno)`.
fn cache_entries_returning(errno: u32) -> Vec<std::path::PathBuf> {
    let needle = (0x0005_0000u32 | errno).to_ne_bytes();
    std::fs::read_dir(CACHE_DIR)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "bpf"))
        .filter(|p| {
            std::fs::read(p)
                .map(|bytes| bytes.windows(4).any(|w| w == needle))
                .unwrap_or(false)
        })
        .collect()
}

#[test]
fn compiled_programs_are_cached_and_damaged_entries_ignored() {
    require!(is_root(), "needs root");
    // An errno no other test uses marks this test's program.
    let errno = 3000 + std::process::id() % 1000;
    let run_once = || {
        let rt = Runtime::new();
        let mut b = bundle(&["sh", "-c", "mkdir /tmp/d 2>/dev/null; echo $?"]);
        b.config["linux"]["seccomp"] = allow_all_but(json!([
            {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": errno}
        ]));
        let (code, out, err) = run_bundle(&rt, &b);
        assert_eq!((code, out.as_str()), (0, "1\n"), "{err}");
    };
    for old in cache_entries_returning(errno) {
        std::fs::remove_file(old).unwrap();
    }
    run_once();
    let entries = cache_entries_returning(errno);
    assert_eq!(entries.len(), 1, "one entry written: {entries:?}");
    let entry = &entries[0];
    let meta = std::fs::metadata(entry).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
    let ino = meta.ino();

    run_once();
    assert_eq!(
        std::fs::metadata(entry).unwrap().ino(),
        ino,
        "second container read the entry instead of compiling again"
    );

    // A damaged entry (one flipped bit in the program) is not loaded: the
    // filter is compiled again and the entry replaced.
    let mut bytes = std::fs::read(entry).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(entry, &bytes).unwrap();
    run_once();
    let repaired = std::fs::read(entry).unwrap();
    assert_ne!(repaired, bytes);
    assert_ne!(std::fs::metadata(entry).unwrap().ino(), ino);
    // Garbage of any size is no better.
    std::fs::write(entry, b"not a program").unwrap();
    run_once();
    assert_eq!(std::fs::read(entry).unwrap(), repaired);
    let _ = std::fs::remove_file(entry);
}

/// What the listener received: the state JSON, and the answers it gave.
struct Heard {
    state: Value,
    answered: Vec<i32>,
}

/// Accept one connection on `sock`, take the descriptor and state, then
/// answer every notification with EOPNOTSUPP until the container is gone.
fn listen(sock: std::os::unix::net::UnixListener) -> Heard {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let (conn, _) = sock.accept().unwrap();
    let mut buf = vec![0u8; 65536];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        conn.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::empty(),
    )
    .unwrap();
    let n = msg.bytes;
    let mut fds = vec![];
    for c in msg.cmsgs().unwrap() {
        if let ControlMessageOwned::ScmRights(f) = c {
            fds.extend(f);
        }
    }
    assert_eq!(fds.len(), 1, "one descriptor");
    // SAFETY: SCM_RIGHTS gave us this descriptor.
    let notify = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    let state: Value = serde_json::from_slice(&buf[..n]).unwrap();
    let mut answered = vec![];
    loop {
        // SAFETY: zeroed plain C structs the ioctls fill in and read.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: req is the struct SECCOMP_IOCTL_NOTIF_RECV expects.
        let ret = unsafe {
            libc::ioctl(
                notify.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut req as *mut libc::seccomp_notif,
            )
        };
        if ret < 0 {
            break; // ENOENT: the filter's last user is gone.
        }
        answered.push(req.data.nr);
        // SAFETY: as above.
        let mut resp: libc::seccomp_notif_resp = unsafe { std::mem::zeroed() };
        resp.id = req.id;
        resp.error = -libc::EOPNOTSUPP;
        // SAFETY: resp is the struct SECCOMP_IOCTL_NOTIF_SEND expects.
        unsafe {
            libc::ioctl(
                notify.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &mut resp as *mut libc::seccomp_notif_resp,
            )
        };
    }
    Heard { state, answered }
}

#[test]
fn notify_hands_the_fd_and_state_to_the_listener() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("listener.sock");
    let server = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let listener = std::thread::spawn(move || listen(server));
    let mut b = bundle(&["sh", "-c", "mkdir /tmp/d; echo $?"]);
    b.config["linux"]["seccomp"] = json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "listenerPath": path,
        "listenerMetadata": "berth-test",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_NOTIFY"}]
    });
    let (code, out, err) = run_bundle(&rt, &b);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "1\n");
    assert!(err.contains("not supported"), "{err}");
    let heard = listener.join().unwrap();
    assert_eq!(heard.state["fds"], json!(["seccompFd"]));
    assert_eq!(heard.state["metadata"], "berth-test");
    assert_eq!(heard.state["state"]["id"], json!(b.id));
    assert_eq!(heard.state["state"]["status"], "creating");
    assert!(heard.state["pid"].as_i64().unwrap() > 0);
    assert_eq!(heard.state["pid"], heard.state["state"]["pid"]);
    let mkdirs = [libc::SYS_mkdir as i32, libc::SYS_mkdirat as i32];
    assert_eq!(heard.answered.len(), 1, "{:?}", heard.answered);
    assert!(mkdirs.contains(&heard.answered[0]));
}

#[test]
fn exec_processes_get_the_containers_filter() {
    require!(is_root(), "needs root");
    let rt = Runtime::new();
    let mut b = bundle(&["sleep", "300"]);
    b.config["linux"]["seccomp"] = allow_all_but(json!([
        {"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}
    ]));
    b.write_config().unwrap();
    rt.track(&b);
    rt.ok(&["run", "-d", "-b", b.path().to_str().unwrap(), &b.id]);
    let pid = rt.state(&b.id)["pid"].as_i64().unwrap() as i32;
    let out = rt.run(&[
        "exec",
        &b.id,
        "sh",
        "-c",
        "mkdir /tmp/e; grep Seccomp: /proc/self/status",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("Operation not permitted"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        stdout(&out).split_whitespace().collect::<Vec<_>>(),
        ["Seccomp:", "2"]
    );
    rt.ok(&["delete", "--force", &b.id]);
    reap(pid);
}
