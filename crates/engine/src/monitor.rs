//! The per-container monitor of a detached container, conmon's job in a
//! few hundred kilobytes: it leaves the CLI (double fork, own session),
//! becomes a child subreaper, starts the container with stdout and stderr
//! on pipes, tells the CLI "ok" (or the error), writes the log in the CRI
//! format, reaps, records the exit code and time, releases the run, and
//! exits.
//!
//! The CLI runs it as `berth … monitor ID` with stdout on a pipe: the
//! first process forks and exits at once, the grandchild keeps that pipe
//! until the container started, then points stdout at /dev/null.
//!
//! A container with a terminal (`-t`) gets its pty from the runtime
//! instead of pipes: the master comes over `--console-socket` (see
//! [`crate::console_socket`]), its output is logged as stdout, and the
//! monitor holds it open for the container's life — a `-dit sh` waits for
//! input rather than reading EOF — until the pty hangs up (EIO) with the
//! container's end. Socket-activation and `--preserve-fds` descriptors the
//! CLI passed on go to the runtime and are closed here once it started.
//!
//! It serves the container's attach socket ([`crate::attach_socket`]):
//! output goes to attached clients as well as the log, their input to the
//! container's stdin (a pipe it holds with `-i`, the pty with `-t`). And
//! it runs the health check every `--health-interval`
//! ([`crate::health_timer`]).

use crate::attach_hub::AttachHub;
use crate::engine::Engine;
use crate::error::{sys, Result};
use crate::health_timer::HealthTimer;
use crate::launcher::{Input, Output, Wiring};
use crate::meta::Meta;
use crate::options::CreateOptions;
use crate::output_watch::MonitorSide;
use nix::unistd::ForkResult;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};

/// Leave the caller: fork, let the parent exit at once, start a new
/// session. Call before anything starts threads.
pub fn detach() -> Result<()> {
    // SAFETY: called first thing in a fresh single-threaded process.
    match unsafe { nix::unistd::fork() }.map_err(sys("fork"))? {
        // SAFETY: _exit skips destructors that belong to the child now.
        ForkResult::Parent { .. } => unsafe { libc::_exit(0) },
        ForkResult::Child => {}
    }
    nix::unistd::setsid().map_err(sys("setsid"))?;
    Ok(())
}

fn tell_cli(msg: &str) {
    let mut out = std::io::stdout();
    let _ = out.write_all(msg.as_bytes());
    let _ = out.flush();
    if let Ok(null) = std::fs::File::options().write(true).open("/dev/null") {
        let _ = nix::unistd::dup2(null.as_raw_fd(), 1);
        let _ = nix::unistd::dup2(null.as_raw_fd(), 2);
    }
}

/// Run the monitor of container `id` (after [`detach`]). Returns the exit
/// code for the monitor process. With a `--restart` policy it stays, and
/// starts the container again after each exit the policy restarts.
pub fn run(engine: &Engine, id: &str) -> i32 {
    // The log exists before the CLI hears "ok" (a `logs -f` right after
    // `run -d` must find it), and a log that can't be opened means the
    // container's output would be lost: then it does not start. So does
    // the attach socket (an `attach` right after must find it).
    let opened = crate::output_watch::open_log(engine, id)
        .and_then(|log| Ok((log, AttachHub::listen(engine.record(id).path())?)));
    let (log, mut hub) = match opened {
        Ok(o) => o,
        Err(e) => {
            tell_cli(&format!("error: {e}\n"));
            return 1;
        }
    };
    if let Some(client) = crate::attach_socket::client_from_cli() {
        hub.add(client);
    }
    let started = prepare().and_then(|wake| {
        let notifier = notifier(engine, id)?;
        Ok((start(engine, id, &mut hub)?, wake, notifier))
    });
    let ((mut pid, mut streams, options), wake, notifier) = match started {
        Ok(s) => s,
        Err(e) => {
            tell_cli(&format!("error: {e}\n"));
            return 1;
        }
    };
    // The relay lives as long as the monitor (restarts included).
    if let Some(n) = &notifier {
        n.started();
    }
    let mut health = HealthTimer::of(engine, id, options.life.healthcheck);
    tell_cli("ok\n");
    let mut log = Some(log);
    let reopen_log = || crate::output_watch::open_log(engine, id);
    loop {
        let side = MonitorSide {
            hub: &mut hub,
            health: health.as_mut(),
            reopen_log: &reopen_log,
        };
        let restart = watch_once(engine, id, pid, streams, &wake, log.take(), side);
        hub.end_run();
        match restart {
            Some(true) => {}
            Some(false) => return 0,
            None => return 1,
        }
        // A short pause keeps a command that fails at once from spinning.
        std::thread::sleep(std::time::Duration::from_millis(100));
        let again = crate::output_watch::open_log(engine, id)
            .and_then(|l| Ok((l, start(engine, id, &mut hub)?)));
        match again {
            Ok((l, (p, s, _))) => (log, pid, streams) = (Some(l), p, s),
            Err(e) => {
                engine.note_error(id, &format!("restarting: {e}"));
                return 1;
            }
        }
        if let Some(h) = health.as_mut() {
            h.restart();
        }
    }
}

/// Watch one run of the container until it exited and record the exit:
/// whether its restart policy starts it again (None: the monitor failed).
fn watch_once(
    engine: &Engine,
    id: &str,
    pid: i32,
    streams: [Option<OwnedFd>; 2],
    wake: &OwnedFd,
    log: Option<std::fs::File>,
    side: MonitorSide<'_>,
) -> Option<bool> {
    let (Some(log), Ok(wake)) = (log, wake.try_clone()) else {
        engine.note_error(id, "watching the container: no log or wake pipe");
        return None;
    };
    let (code, log_failure) =
        crate::output_watch::watch(pid, streams, wake, log, [false; 2], Some(side));
    if let Some(e) = log_failure {
        engine.note_error(id, &format!("writing the log: {e}"));
    }
    match engine.finish(id, code) {
        Ok(restart) => Some(restart),
        Err(e) => {
            engine.note_error(id, &format!("recording the exit: {e}"));
            None
        }
    }
}

/// What the monitor sets up once: it becomes the subreaper of the
/// container's processes, and a pipe SIGCHLD wakes it with (shared by
/// every run under a restart policy).
fn prepare() -> Result<OwnedFd> {
    crate::listen_fds::adopt_from_cli();
    nix::sys::prctl::set_child_subreaper(true).map_err(sys("PR_SET_CHILD_SUBREAPER"))?;
    crate::output_watch::sigchld_wake()
}

/// The container's `--sdnotify` side, opened before its first start.
fn notifier(engine: &Engine, id: &str) -> Result<Option<crate::sd_notify::Notifier>> {
    let options = Meta::of(&engine.container(id)?)?.options;
    crate::sd_notify::Notifier::open(&options.life, engine.record(id).path())
}

/// Start the container; its init's pid, its output streams and its
/// options. Its input (a stdin pipe with `-i`, the pty master with `-t`)
/// goes to `hub`.
fn start(
    engine: &Engine,
    id: &str,
    hub: &mut AttachHub,
) -> Result<(i32, [Option<OwnedFd>; 2], CreateOptions)> {
    let options = Meta::of(&engine.container(id)?)?.options;
    let wiring = if options.tty {
        Wiring::Terminal
    } else if options.interactive {
        Wiring::Pipes { input: Input::Pipe }
    } else {
        Wiring::Pipes { input: Input::Null }
    };
    let started = engine.launch(id, wiring);
    // The container has its own copies now (or failed to start); a
    // restart passes them no more.
    crate::listen_fds::close_passed();
    let launched = started?;
    let streams = match launched.output {
        Output::Pipes([out, err]) => {
            hub.wire(launched.input, None);
            [Some(out), Some(err)]
        }
        // A pty's output is all stdout; its input (with -i) is the master
        // too, as are its resizes.
        Output::Terminal(master) => {
            let input = match options.interactive {
                true => master.try_clone().ok(),
                false => None,
            };
            hub.wire(input, master.try_clone().ok());
            [Some(master), None]
        }
    };
    Ok((launched.pid, streams, options))
}
