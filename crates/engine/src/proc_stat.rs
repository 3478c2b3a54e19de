//! `/proc/PID/stat`, parsed in one place: the records use a process's
//! start time to tell it from a later one with the same pid, and `top`
//! shows its state, parent, terminal and CPU time.

use std::io::ErrorKind;

/// The fields of `/proc/PID/stat` the engine uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcStat {
    /// Field 2, without its parentheses.
    pub comm: String,
    /// Field 3: R, S, D, Z, X, …
    pub state: char,
    /// Field 4.
    pub ppid: i32,
    /// Field 7.
    pub tty_nr: u64,
    /// Fields 14 + 15: user and system time in clock ticks.
    pub cpu_ticks: u64,
    /// Field 22: start time in clock ticks after boot.
    pub start_ticks: u64,
}

impl ProcStat {
    /// Parse the text of a stat file. The command name may hold spaces
    /// and parentheses, so the fields after it are found from the last `)`.
    pub fn parse(text: &str) -> Option<ProcStat> {
        let open = text.find('(')?;
        let close = text.rfind(')')?;
        let comm = text.get(open + 1..close)?.to_string();
        let f: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
        // f[0] is field 3.
        let num = |i: usize| f.get(i)?.parse::<u64>().ok();
        Some(ProcStat {
            comm,
            state: f.first()?.chars().next()?,
            ppid: f.get(1)?.parse().ok()?,
            tty_nr: num(4)?,
            cpu_ticks: num(11)? + num(12)?,
            start_ticks: num(19)?,
        })
    }

    /// Read process `pid`'s: `Ok(None)` when there is no such process; an
    /// error when /proc can't say (unreadable, or a format we don't know),
    /// which is not the same as the process being gone.
    pub fn read(pid: i32) -> std::io::Result<Option<ProcStat>> {
        let path = format!("/proc/{pid}/stat");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH) => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        };
        ProcStat::parse(&text).map(Some).ok_or_else(|| {
            std::io::Error::new(ErrorKind::InvalidData, format!("{path}: unexpected format"))
        })
    }

    /// Whether the process has ended (a zombie is waiting to be reaped).
    pub fn ended(&self) -> bool {
        matches!(self.state, 'Z' | 'X')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_with_spaces_and_parens() {
        let text = "42 (a (b) c) S 1 42 42 34816 42 4194560 1 0 0 0 7 3 0 0 20 0 1 0 12345 0 0";
        let s = ProcStat::parse(text).unwrap();
        assert_eq!(s.comm, "a (b) c");
        assert_eq!((s.state, s.ppid, s.tty_nr), ('S', 1, 34816));
        assert_eq!((s.cpu_ticks, s.start_ticks), (10, 12345));
    }

    #[test]
    fn truncated_or_garbage_is_none() {
        assert!(ProcStat::parse("42 (x) S 1").is_none());
        assert!(ProcStat::parse("").is_none());
        assert!(
            ProcStat::parse("42 (x) S one 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19").is_none()
        );
    }

    #[test]
    fn self_and_missing() {
        let me = ProcStat::read(std::process::id() as i32).unwrap().unwrap();
        assert!(!me.ended() && me.start_ticks > 0);
        // Above the kernel's pid_max limit: never a process.
        assert!(ProcStat::read(i32::MAX).unwrap().is_none());
    }
}
