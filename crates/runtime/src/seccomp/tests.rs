//! Profiles compiled and loaded for real, each in a forked child (a filter
//! cannot be removed), which reports what its syscalls returned.

use super::*;
use serde_json::json;
use std::io::Read;
use std::os::fd::AsRawFd;

fn profile(v: serde_json::Value) -> LinuxSeccomp {
    serde_json::from_value(v).expect("a valid LinuxSeccomp")
}

/// Fork; the child loads `program` and runs `probe`, whose results (errno
/// or 0 for each call) come back through a pipe. The exit status is the
/// child's wait status.
fn in_child(program: &Program, probe: fn() -> Vec<i32>) -> (Vec<i32>, nix::sys::wait::WaitStatus) {
    let (r, w) = nix::unistd::pipe().unwrap();
    // SAFETY: the child only loads the filter, makes raw syscalls, writes
    // to the pipe and _exits; glibc keeps malloc usable after fork.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            drop(r);
            // The child of a test has no CAP_SYS_ADMIN to spare: use NNP.
            let _ = nix::sys::prctl::set_no_new_privs();
            let code = match program.load() {
                Ok(_) => {
                    let out: Vec<u8> = probe().iter().flat_map(|e| e.to_le_bytes()).collect();
                    let _ = nix::unistd::write(&w, &out);
                    0
                }
                Err(_) => 99,
            };
            // SAFETY: ends the child without running the harness's code.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            let mut bytes = Vec::new();
            std::fs::File::from(r).read_to_end(&mut bytes).unwrap();
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            let results = bytes
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            (results, status)
        }
    }
}

fn errno_of(ret: libc::c_long) -> i32 {
    if ret < 0 {
        nix::errno::Errno::last_raw()
    } else {
        0
    }
}

fn close(fd: i32) -> i32 {
    // SAFETY: closing a descriptor number that is not open changes nothing.
    errno_of(unsafe { libc::syscall(libc::SYS_close, fd) })
}

#[test]
fn errno_rules_and_default_errno() {
    let p = Program::prepare(
        &profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
            "syscalls": [
                {"names": ["getcwd", "no_such_syscall_berth"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77},
                {"names": ["getppid"], "action": "SCMP_ACT_ERRNO"},
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}
            ]
        })),
        None,
    )
    .unwrap();
    assert_eq!(p.origin(), Origin::Compiled);
    assert!(!p.needs_listener());
    let (res, status) = in_child(&p, || {
        let mut buf = [0u8; 256];
        // SAFETY: buf is valid for its length.
        let cwd = errno_of(unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) });
        // SAFETY: no arguments.
        let ppid = errno_of(unsafe { libc::syscall(libc::SYS_getppid) });
        // SAFETY: no arguments.
        let pid = errno_of(unsafe { libc::syscall(libc::SYS_getpid) });
        vec![cwd, ppid, pid]
    });
    assert_eq!(
        status,
        nix::sys::wait::WaitStatus::Exited(status.pid().unwrap(), 0)
    );
    assert_eq!(res, [77, libc::EPERM, 0]);
}

#[test]
fn default_action_with_default_errno_ret() {
    // Everything but what the child needs to report fails with ENOSYS.
    let p = Program::prepare(
        &profile(json!({
            "defaultAction": "SCMP_ACT_ERRNO",
            "defaultErrnoRet": 38,
            "syscalls": [
                {"names": ["write", "exit_group", "exit"], "action": "SCMP_ACT_ALLOW"},
                {"names": ["close"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
            ]
        })),
        None,
    )
    .unwrap();
    let (res, _) = in_child(&p, || {
        // SAFETY: no arguments.
        let pid = errno_of(unsafe { libc::syscall(libc::SYS_getpid) });
        vec![pid, close(900)]
    });
    assert_eq!(res, [libc::ENOSYS, libc::ENOSYS]);
}

/// Which of close(900), close(901), close(902) a condition on argument 0
/// catches.
fn caught_by(op: &str, value: u64, value_two: Option<u64>) -> Vec<i32> {
    let mut arg = json!({"index": 0, "value": value, "op": op});
    if let Some(v) = value_two {
        arg["valueTwo"] = json!(v);
    }
    let p = Program::prepare(
        &profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["close"], "action": "SCMP_ACT_ERRNO", "errnoRet": 99, "args": [arg]}]
        })),
        None,
    )
    .unwrap();
    let (res, _) = in_child(&p, || vec![close(900), close(901), close(902)]);
    res.iter()
        .zip(900..)
        .filter(|(e, _)| **e == 99)
        .map(|(_, fd)| fd)
        .collect()
}

#[test]
fn every_argument_operator() {
    assert_eq!(caught_by("SCMP_CMP_NE", 901, None), [900, 902]);
    assert_eq!(caught_by("SCMP_CMP_LT", 901, None), [900]);
    assert_eq!(caught_by("SCMP_CMP_LE", 901, None), [900, 901]);
    assert_eq!(caught_by("SCMP_CMP_EQ", 901, None), [901]);
    assert_eq!(caught_by("SCMP_CMP_GE", 901, None), [901, 902]);
    assert_eq!(caught_by("SCMP_CMP_GT", 901, None), [902]);
    // 900 = 0x384, 901 = 0x385, 902 = 0x386: value is the mask.
    assert_eq!(caught_by("SCMP_CMP_MASKED_EQ", 0x3, Some(0x1)), [901]);
}

#[test]
fn conditions_and_within_an_entry_or_across_entries() {
    let p = Program::prepare(
        &profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                // Distinct arguments: AND.
                {"names": ["dup3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 71,
                 "args": [{"index": 0, "value": 900, "op": "SCMP_CMP_EQ"},
                          {"index": 1, "value": 901, "op": "SCMP_CMP_EQ"}]},
                // The same argument twice: OR, as runc does.
                {"names": ["close"], "action": "SCMP_ACT_ERRNO", "errnoRet": 72,
                 "args": [{"index": 0, "value": 900, "op": "SCMP_CMP_EQ"},
                          {"index": 0, "value": 901, "op": "SCMP_CMP_EQ"}]},
                // Two entries for one syscall: OR.
                {"names": ["fchdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 73,
                 "args": [{"index": 0, "value": 900, "op": "SCMP_CMP_EQ"}]},
                {"names": ["fchdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 73,
                 "args": [{"index": 0, "value": 901, "op": "SCMP_CMP_EQ"}]},
                // Same as the default: dropped, not an error.
                {"names": ["getpid"], "action": "SCMP_ACT_ALLOW"}
            ]
        })),
        None,
    )
    .unwrap();
    let (res, _) = in_child(&p, || {
        let dup3 = |a: i32, b: i32| {
            // SAFETY: dup3 on descriptors that are not open changes nothing.
            errno_of(unsafe { libc::syscall(libc::SYS_dup3, a, b, 0) })
        };
        let fchdir = |fd: i32| {
            // SAFETY: fchdir on a descriptor that is not open fails.
            errno_of(unsafe { libc::syscall(libc::SYS_fchdir, fd) })
        };
        vec![
            dup3(900, 901),
            dup3(900, 902),
            dup3(902, 901),
            close(900),
            close(901),
            close(902),
            fchdir(900),
            fchdir(901),
            fchdir(902),
        ]
    });
    let ebadf = libc::EBADF;
    assert_eq!(res, [71, ebadf, ebadf, 72, 72, ebadf, 73, 73, ebadf]);
}

#[test]
fn kill_process_and_trap_end_the_process_with_sigsys() {
    for action in ["SCMP_ACT_KILL_PROCESS", "SCMP_ACT_KILL", "SCMP_ACT_TRAP"] {
        let p = Program::prepare(
            &profile(json!({
                "defaultAction": "SCMP_ACT_ALLOW",
                "syscalls": [{"names": ["getppid"], "action": action}]
            })),
            None,
        )
        .unwrap();
        let (_, status) = in_child(&p, || {
            // SAFETY: no arguments.
            unsafe { libc::syscall(libc::SYS_getppid) };
            vec![]
        });
        assert!(
            matches!(
                status,
                nix::sys::wait::WaitStatus::Signaled(_, nix::sys::signal::Signal::SIGSYS, _)
            ),
            "{action}: {status:?}"
        );
    }
}

#[test]
fn log_and_trace_without_tracer() {
    let p = Program::prepare(
        &profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [
                {"names": ["getppid"], "action": "SCMP_ACT_LOG"},
                // Without a tracer the kernel fails a TRACE'd call with ENOSYS.
                {"names": ["getcwd"], "action": "SCMP_ACT_TRACE", "errnoRet": 5}
            ]
        })),
        None,
    )
    .unwrap();
    let (res, _) = in_child(&p, || {
        // SAFETY: no arguments.
        let ppid = errno_of(unsafe { libc::syscall(libc::SYS_getppid) });
        let mut buf = [0u8; 64];
        // SAFETY: buf is valid for its length.
        let cwd = errno_of(unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) });
        vec![ppid, cwd]
    });
    assert_eq!(res, [0, libc::ENOSYS]);
}

#[test]
fn notify_loads_with_a_listener() {
    let p = Program::prepare(
        &profile(json!({
            "defaultAction": "SCMP_ACT_ALLOW",
            "listenerPath": "/run/listener.sock",
            "flags": ["SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", "SECCOMP_FILTER_FLAG_LOG"],
            "syscalls": [{"names": ["getppid"], "action": "SCMP_ACT_NOTIFY"}]
        })),
        None,
    )
    .unwrap();
    assert!(p.needs_listener());
    let (rx, tx) = notify::channel().unwrap();
    // SAFETY: as in `in_child`.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let _ = nix::sys::prctl::set_no_new_privs();
            let code = match p.load() {
                Ok(Some(fd)) if tx.send(std::os::fd::AsFd::as_fd(&fd)).is_ok() => 0,
                _ => 1,
            };
            // SAFETY: ends the child.
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(tx);
            let fd = rx.recv().unwrap().expect("the notify fd");
            assert!(fd.as_raw_fd() > 2);
            let status = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(status, nix::sys::wait::WaitStatus::Exited(child, 0));
        }
    }
}

#[test]
fn cache_is_written_then_used() {
    let dir = tempfile::tempdir().unwrap();
    let prof = profile(json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["getcwd"], "action": "SCMP_ACT_ERRNO", "errnoRet": 77}]
    }));
    let first = Program::prepare(&prof, Some(dir.path())).unwrap();
    assert_eq!(first.origin(), Origin::Compiled);
    let second = Program::prepare(&prof, Some(dir.path())).unwrap();
    assert_eq!(second.origin(), Origin::Cached);
    assert_eq!(first.bpf, second.bpf);
    // flags and listener do not change the program: same entry.
    let mut flagged = prof.clone();
    flagged.set_flags(Some(vec![LinuxSeccompFilterFlag::SeccompFilterFlagLog]));
    assert_eq!(
        Program::prepare(&flagged, Some(dir.path()))
            .unwrap()
            .origin(),
        Origin::Cached
    );
    // A rule does.
    let mut other = prof.clone();
    other.set_default_errno_ret(Some(1));
    assert_eq!(
        Program::prepare(&other, Some(dir.path())).unwrap().origin(),
        Origin::Compiled
    );
    let (res, _) = in_child(&second, || {
        let mut buf = [0u8; 64];
        // SAFETY: buf is valid for its length.
        let cwd = unsafe { libc::syscall(libc::SYS_getcwd, buf.as_mut_ptr(), buf.len()) };
        vec![errno_of(cwd)]
    });
    assert_eq!(res, [77]);
}

#[test]
fn podman_default_profile_compiles_and_runs() {
    let text = include_str!("../../tests/fixtures/podman-seccomp-oci.json");
    let prof: LinuxSeccomp = serde_json::from_str(text).unwrap();
    let p = Program::prepare(&prof, None).unwrap();
    assert!(p.instructions() > 100, "{}", p.instructions());
    let (res, _) = in_child(&p, || {
        // SAFETY: no arguments.
        let pid = errno_of(unsafe { libc::syscall(libc::SYS_getpid) });
        vec![pid, close(900)]
    });
    assert_eq!(res, [0, libc::EBADF]);
}

fn invalid_field(v: serde_json::Value) -> &'static str {
    match validate(&profile(v)) {
        Err(Error::InvalidConfig { field, .. }) => field,
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

#[test]
fn validate_refuses_what_cannot_work() {
    assert_eq!(
        invalid_field(json!({"defaultAction": "SCMP_ACT_NOTIFY", "listenerPath": "/x"})),
        "linux.seccomp.defaultAction"
    );
    assert_eq!(
        invalid_field(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]})),
        "linux.seccomp.listenerPath"
    );
    assert_eq!(
        invalid_field(
            json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x",
            "syscalls": [{"names": ["sendmsg"], "action": "SCMP_ACT_NOTIFY"}]})
        ),
        "linux.seccomp.syscalls.action"
    );
    assert_eq!(
        invalid_field(json!({"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 70000})),
        "linux.seccomp.defaultErrnoRet"
    );
    assert_eq!(
        invalid_field(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "errnoRet": 65536}]})),
        "linux.seccomp.syscalls.errnoRet"
    );
    assert_eq!(
        invalid_field(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]})),
        "linux.seccomp.syscalls.args.index"
    );
    assert_eq!(
        invalid_field(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": [], "action": "SCMP_ACT_ERRNO"}]})),
        "linux.seccomp.syscalls.names"
    );
    // Unknown names are fine.
    validate(&profile(json!({"defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["no_such_syscall"], "action": "SCMP_ACT_ERRNO"}]})))
    .unwrap();
}

#[test]
fn parse_errors_are_explained_by_field() {
    let field = |seccomp: serde_json::Value| {
        let config = json!({"ociVersion": "1.2.0", "linux": {"seccomp": seccomp}});
        match explain_parse_error(config.to_string().as_bytes()) {
            Some(Error::InvalidConfig { field, .. }) => Some(field),
            None => None,
            Some(other) => panic!("{other:?}"),
        }
    };
    assert_eq!(
        field(json!({"defaultAction": "SCMP_ACT_BOGUS"})),
        Some("linux.seccomp.defaultAction")
    );
    assert_eq!(
        field(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW"},
                         {"names": ["mkdir"], "action": "SCMP_ACT_EXPLODE"}]})),
        Some("linux.seccomp.syscalls.action")
    );
    assert_eq!(
        field(json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"]})),
        Some("linux.seccomp.architectures")
    );
    assert_eq!(
        field(json!({"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NOPE"]})),
        Some("linux.seccomp.flags")
    );
    assert_eq!(
        field(json!({"defaultAction": "SCMP_ACT_ALLOW",
            "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO",
                          "args": [{"index": 0, "value": 0, "op": "SCMP_CMP_ABOUT"}]}]})),
        Some("linux.seccomp.syscalls.args.op")
    );
    assert_eq!(field(json!({"defaultAction": "SCMP_ACT_ALLOW"})), None);
}

#[test]
fn features_lists_kernel_flags() {
    let f = features();
    assert_eq!(f["enabled"], true);
    let supported = f["supportedFlags"].as_array().unwrap();
    assert!(supported.contains(&json!("SECCOMP_FILTER_FLAG_TSYNC")));
    assert!(libseccomp_version().starts_with("2."));
}
