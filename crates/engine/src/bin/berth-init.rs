//! `berth-init CMD [ARG…]`: pid 1 of a container run with `--init`.
//!
//! It runs the command as its child, passes every signal it may catch on
//! to it, reaps every process that ends (orphans of the container are
//! re-parented to pid 1), and exits with the command's exit code, or
//! 128+N when signal N ended it. No argument parser, no allocator-heavy
//! crates: it lives in every such container for its whole life.
//!
//! Signals are blocked and taken with `sigtimedwait`: pid 1 of a pid
//! namespace only gets signals it has a handler for or blocks, and a
//! blocked signal cannot interrupt anything half done.

use std::ffi::CString;

/// Signals that report a fault of this process: left to their defaults.
const SYNCHRONOUS: [libc::c_int; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGTRAP,
    libc::SIGSYS,
    libc::SIGABRT,
];

fn fail(msg: &str) -> ! {
    eprintln!("berth-init: {msg}");
    std::process::exit(127);
}

fn main() {
    let args: Vec<CString> = std::env::args_os()
        .skip(1)
        .map(|a| {
            CString::new(std::os::unix::ffi::OsStrExt::as_bytes(a.as_os_str()))
                .unwrap_or_else(|_| fail("an argument holds a NUL byte"))
        })
        .collect();
    if args.is_empty() {
        fail("usage: berth-init CMD [ARG...]");
    }
    // SAFETY: plain libc calls on stack-owned signal sets; the child only
    // restores its mask and execs.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        for s in SYNCHRONOUS {
            libc::sigdelset(&mut all, s);
        }
        libc::sigprocmask(libc::SIG_BLOCK, &all, &mut old);
        // A background child reading or writing the terminal must not
        // stop us.
        libc::signal(libc::SIGTTIN, libc::SIG_IGN);
        libc::signal(libc::SIGTTOU, libc::SIG_IGN);
        let child = libc::fork();
        if child < 0 {
            fail("fork failed");
        }
        if child == 0 {
            libc::signal(libc::SIGTTIN, libc::SIG_DFL);
            libc::signal(libc::SIGTTOU, libc::SIG_DFL);
            libc::sigprocmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
            let mut argv: Vec<*const libc::c_char> = args.iter().map(|a| a.as_ptr()).collect();
            argv.push(std::ptr::null());
            libc::execvp(argv[0], argv.as_ptr());
            let err = std::io::Error::last_os_error();
            eprintln!("berth-init: {}: {err}", args[0].to_string_lossy());
            libc::_exit(if err.raw_os_error() == Some(libc::ENOENT) {
                127
            } else {
                126
            });
        }
        loop {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            // A timeout now and then catches a SIGCHLD merged with another.
            let ts = libc::timespec {
                tv_sec: 1,
                tv_nsec: 0,
            };
            let sig = libc::sigtimedwait(&all, &mut info, &ts);
            if sig > 0 && sig != libc::SIGCHLD {
                libc::kill(child, sig);
                continue;
            }
            // Reap everything that ended: the command and any orphan.
            loop {
                let mut status = 0;
                let pid = libc::waitpid(-1, &mut status, libc::WNOHANG);
                if pid <= 0 {
                    break;
                }
                if pid == child {
                    let code = if libc::WIFEXITED(status) {
                        libc::WEXITSTATUS(status)
                    } else if libc::WIFSIGNALED(status) {
                        128 + libc::WTERMSIG(status)
                    } else {
                        continue;
                    };
                    std::process::exit(code);
                }
            }
        }
    }
}
