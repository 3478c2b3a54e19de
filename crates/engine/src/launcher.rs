//! The one way a container starts: a foreground `run`/`start -a` (with or
//! without a terminal) and a detached start under the monitor all go
//! through [`Engine::launch`], under the container's record lock from the
//! check that it is not running to the record that it is.
//!
//! ```text
//!  locked ──▶ checked ──▶ mounted ──▶ networked ──▶ created ──▶ recorded ──▶ started
//!    │          │           │            │             │            │
//!    └──────────┴───────────┴────────────┴─────────────┴────────────┴──▶ undone
//! ```
//!
//! `checked`: the record was settled (a dead waiter's run released) and
//! says the container is not running, and its bundle exists (the starter
//! rewrote it if a reboot lost it). Each later
//! phase holds one more thing (the rootfs mount, the network attachment,
//! the runtime's container and its init process, the record saying
//! "running"); a failure in any phase undoes exactly what was taken, in
//! reverse, and puts the record back as it was (not running). The lock is
//! released when `launch` returns: the caller is then the container's
//! waiter, and [`Engine::finish`] records its end.

use crate::console_socket::ConsoleSocket;
use crate::engine::Engine;
use crate::error::{sys, Error, Result};
use crate::meta::Meta;
use crate::records::{ProcessRef, RecordDir, RecordLock, State, Status};
use nix::sys::signal::Signal;
use nix::sys::wait::waitpid;
use nix::unistd::Pid;
use std::os::fd::OwnedFd;
use std::process::Stdio;
use std::time::Duration;

/// How the container's stdio is wired.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wiring {
    /// stdout and stderr on pipes the caller reads (and logs); stdin as
    /// `input` says.
    Pipes { input: Input },
    /// A pty; its master comes back to the caller (`-t`).
    Terminal,
}

/// Where a piped container's stdin comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Input {
    /// /dev/null.
    Null,
    /// Ours (`-i` in the foreground).
    Ours,
    /// A pipe whose write end comes back to the caller (`-i` under a
    /// monitor, which feeds it from attached clients).
    Pipe,
}

/// The container's output as the waiter gets it.
pub(crate) enum Output {
    /// The read ends of stdout and stderr.
    Pipes([OwnedFd; 2]),
    /// The pty master.
    Terminal(OwnedFd),
}

/// A started container: its init's pid, its output, and the write end of
/// its stdin pipe (with [`Input::Pipe`]).
pub(crate) struct Launched {
    pub pid: i32,
    pub output: Output,
    pub input: Option<OwnedFd>,
}

/// How far a launch got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Checked,
    Mounted,
    Networked,
    Created,
    Recorded,
    Started,
}

/// What undoing a launch that reached `phase` must do, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Undo {
    /// SIGKILL and reap the init.
    KillInit,
    /// `runtime delete --force`, detach the network, unmount the rootfs.
    Release,
    /// Put the record back as it was, not running.
    RestoreRecord,
}

/// The undo plan of a launch that failed after reaching `phase`.
pub(crate) fn undo_plan(phase: Phase) -> &'static [Undo] {
    match phase {
        Phase::Checked => &[],
        Phase::Mounted | Phase::Networked => &[Undo::Release, Undo::RestoreRecord],
        Phase::Created | Phase::Recorded | Phase::Started => {
            &[Undo::KillInit, Undo::Release, Undo::RestoreRecord]
        }
    }
}

/// One launch in progress.
struct Run<'a> {
    engine: &'a Engine,
    c: &'a berth_storage::Container,
    record: &'a RecordDir,
    lock: &'a RecordLock,
    state: State,
    phase: Phase,
    pid: Option<i32>,
}

impl Engine {
    /// Start container `key` with its stdio wired as `wiring`. The caller
    /// must be a child subreaper (it becomes the init's parent once the
    /// runtime exits) and then waits for the init and calls
    /// [`Engine::finish`].
    pub(crate) fn launch(&self, key: &str, wiring: Wiring) -> Result<Launched> {
        let c = self.container(key)?;
        let record = self.record(&c.id);
        let lock = record.lock()?;
        let mut state = record.load()?;
        self.settle(&c.id, &lock, &mut state)?;
        if state.status == Status::Running {
            return Err(Error::State {
                name: c.name,
                state: state.status.to_string(),
                what: "it is already running".into(),
            });
        }
        let config = record.path().join("config.json");
        if !config.exists() {
            // The starter writes it (Engine::ensure_bundle) before the launch.
            return Err(Error::BundleConfig {
                path: config,
                what: "missing: the container's bundle was not written",
            });
        }
        // Not running, under the lock: its overlays' writes of an earlier
        // run can go.
        crate::engine_volumes::reset_volume_overlays(
            &Meta::of(&c)?.options,
            &self.volume_overlay_dir(&c.id),
        )?;
        let before = state.clone();
        let mut run = Run {
            engine: self,
            c: &c,
            record: &record,
            lock: &lock,
            state,
            phase: Phase::Checked,
            pid: None,
        };
        match run.forward(wiring) {
            Ok(launched) => Ok(launched),
            Err(e) => {
                run.undo(before);
                Err(e)
            }
        }
    }
}

impl Run<'_> {
    fn forward(&mut self, wiring: Wiring) -> Result<Launched> {
        let (engine, id) = (self.engine, self.c.id.as_str());
        let options = Meta::of(self.c)?.options;
        // A leftover runtime container of an earlier run must go first.
        engine.release(id, &mut self.state)?;
        self.state.error = None;
        self.state.stopped_by_user = false;

        engine.store.mount_container(id)?;
        self.state.mounted = true;
        self.engine_save()?;
        self.phase = Phase::Mounted;

        engine.network_up(id, &options, &mut self.state)?;
        self.phase = Phase::Networked;

        let (stdio, ends, input) = wire(wiring, self.record)?;
        let console_path = match &ends {
            Ends::Console(c) => Some(c.path()),
            Ends::Pipes(_) => None,
        };
        let pid = engine
            .runtime
            .create(id, self.record.path(), stdio, console_path)?;
        self.pid = Some(pid);
        self.phase = Phase::Created;
        let output = match ends {
            Ends::Pipes(p) => Output::Pipes(p),
            // The init sent it before `create` returned: it waits in the socket.
            Ends::Console(console) => {
                Output::Terminal(console.receive(None, Duration::from_secs(10))?)
            }
        };

        self.state.status = Status::Running;
        self.state.process = ProcessRef::of(pid);
        self.state.monitor = ProcessRef::current();
        self.state.started_at = Some(crate::clock::now_rfc3339());
        self.state.finished_at = None;
        self.state.exit_code = None;
        self.state.boot_id = crate::boot::boot_id();
        self.engine_save()?;
        self.phase = Phase::Recorded;
        engine.remember_run(self.c, &self.state)?;
        engine.event(self.c, "init", None);

        engine.runtime.start(id)?;
        self.phase = Phase::Started;
        engine.event(self.c, "start", None);
        Ok(Launched { pid, output, input })
    }

    fn engine_save(&self) -> Result<()> {
        self.record.save(self.lock, &self.state)
    }

    /// Undo what the launch took; errors here are secondary to the one
    /// being reported, so they are dropped after doing all that can be done.
    fn undo(&mut self, before: State) {
        for step in undo_plan(self.phase) {
            match step {
                Undo::KillInit => {
                    if let Some(pid) = self.pid {
                        let _ = nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL);
                        let _ = waitpid(Pid::from_raw(pid), None);
                    }
                }
                Undo::Release => {
                    let _ = self.engine.release(&self.c.id, &mut self.state);
                }
                Undo::RestoreRecord => {
                    let mut back = before.clone();
                    back.mounted = self.state.mounted;
                    back.network = self.state.network.take();
                    back.process = None;
                    back.monitor = None;
                    back.error = None;
                    self.state = back;
                    let _ = self.engine_save();
                }
            }
        }
    }
}

/// Our ends of the container's stdio: the read ends of its output pipes,
/// or the console socket its pty master comes over.
enum Ends {
    Pipes([OwnedFd; 2]),
    Console(ConsoleSocket),
}

/// The runtime's stdio for `wiring`, our ends, and the write end of the
/// container's stdin pipe.
fn wire(wiring: Wiring, record: &RecordDir) -> Result<([Stdio; 3], Ends, Option<OwnedFd>)> {
    Ok(match wiring {
        Wiring::Pipes { input } => {
            let flags = nix::fcntl::OFlag::O_CLOEXEC;
            let (out_r, out_w) = nix::unistd::pipe2(flags).map_err(sys("pipe"))?;
            let (err_r, err_w) = nix::unistd::pipe2(flags).map_err(sys("pipe"))?;
            let (stdin, held) = match input {
                Input::Null => (Stdio::null(), None),
                Input::Ours => (Stdio::inherit(), None),
                Input::Pipe => {
                    let (in_r, in_w) = nix::unistd::pipe2(flags).map_err(sys("pipe"))?;
                    (Stdio::from(in_r), Some(in_w))
                }
            };
            let stdio = [stdin, Stdio::from(out_w), Stdio::from(err_w)];
            (stdio, Ends::Pipes([out_r, err_r]), held)
        }
        Wiring::Terminal => {
            let name = format!("console-{}.sock", std::process::id());
            let console = ConsoleSocket::bind(record.path(), &name)?;
            (
                [Stdio::null(), Stdio::null(), Stdio::null()],
                Ends::Console(console),
                None,
            )
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_started_is_killed_before_its_run_is_released() {
        for phase in [Phase::Created, Phase::Recorded, Phase::Started] {
            assert_eq!(
                undo_plan(phase),
                [Undo::KillInit, Undo::Release, Undo::RestoreRecord]
            );
        }
    }

    #[test]
    fn nothing_taken_nothing_undone() {
        assert!(undo_plan(Phase::Checked).is_empty());
        for phase in [Phase::Mounted, Phase::Networked] {
            assert_eq!(undo_plan(phase), [Undo::Release, Undo::RestoreRecord]);
        }
    }

    #[test]
    fn phases_are_ordered_as_they_happen() {
        let order = [
            Phase::Checked,
            Phase::Mounted,
            Phase::Networked,
            Phase::Created,
            Phase::Recorded,
            Phase::Started,
        ];
        assert!(order.windows(2).all(|w| w[0] < w[1]));
    }
}
