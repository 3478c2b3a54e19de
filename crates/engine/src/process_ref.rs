//! A process named so that a reused pid is not taken for it: how the
//! records name a container's init and waiter, and the network its port
//! holder.

use crate::proc_stat::ProcStat;
use serde::{Deserialize, Serialize};

/// A process, named by pid and start time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessRef {
    /// The pid (in the host's namespace).
    pub pid: i32,
    /// Field 22 of /proc/PID/stat.
    pub start: u64,
}

impl ProcessRef {
    /// The process `pid` as it is now, if it exists.
    pub fn of(pid: i32) -> Option<ProcessRef> {
        match ProcStat::read(pid) {
            Ok(Some(s)) => Some(ProcessRef {
                pid,
                start: s.start_ticks,
            }),
            _ => None,
        }
    }

    /// This process.
    pub fn current() -> Option<ProcessRef> {
        ProcessRef::of(std::process::id() as i32)
    }

    /// Whether it still runs (a zombie does not). An error when /proc
    /// can't tell: a live container must not be taken for a stopped one
    /// and have its run released under it.
    pub fn alive(&self) -> std::io::Result<bool> {
        Ok(ProcStat::read(self.pid)?.is_some_and(|s| s.start_ticks == self.start && !s.ended()))
    }

    /// [`ProcessRef::alive`] where not knowing counts as alive: for waits
    /// and for deciding to send SIGKILL, where that is the safe side.
    pub fn maybe_alive(&self) -> bool {
        self.alive().unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_is_alive_and_a_reused_pid_is_not() {
        let me = ProcessRef::current().unwrap();
        assert!(me.alive().unwrap());
        let other = ProcessRef {
            start: me.start + 1,
            ..me
        };
        assert!(!other.alive().unwrap());
    }

    #[test]
    fn a_reaped_child_is_gone() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let r = ProcessRef::of(child.id() as i32);
        child.wait().unwrap();
        if let Some(r) = r {
            assert!(!r.alive().unwrap());
        }
    }
}
