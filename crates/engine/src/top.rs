//! `berth top`: the processes of a container's cgroup as podman's `top`
//! shows them, with pids as the container sees them (the last `NSpid` of
//! /proc/PID/status) and user names from the container's /etc/passwd.
//!
//! Descriptors (podman's/psgo's names): `user`, `uid`, `group`, `pid`,
//! `ppid`, `pcpu`, `etime`, `tty`, `time`, `args`, `comm`, `hpid`,
//! `hppid`, `state`. The default is podman's: user pid ppid pcpu etime tty
//! time args.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::image_users::names_by_id;
use crate::meta::Meta;
use crate::rootfs_reader::RootfsReader;
use std::collections::BTreeSet;
use std::path::Path;

/// podman's default columns.
pub const DEFAULT_DESCRIPTORS: [&str; 8] = [
    "user", "pid", "ppid", "pcpu", "etime", "tty", "time", "args",
];

fn header(d: &str) -> Option<&'static str> {
    Some(match d {
        "user" => "USER",
        "uid" => "UID",
        "group" => "GROUP",
        "pid" => "PID",
        "ppid" => "PPID",
        "pcpu" => "%CPU",
        "etime" => "ELAPSED",
        "tty" => "TTY",
        "time" => "TIME",
        "args" => "COMMAND",
        "comm" => "COMMAND",
        "hpid" => "HPID",
        "hppid" => "HPPID",
        "state" => "STATE",
        _ => return None,
    })
}

/// One process as read from /proc.
struct Proc {
    hpid: i32,
    hppid: i32,
    nspid: i32,
    uid: u32,
    gid: u32,
    state: String,
    comm: String,
    args: String,
    tty_nr: u64,
    cpu_ticks: u64,
    start_ticks: u64,
}

fn read_proc(pid: i32) -> Option<Proc> {
    let stat = crate::proc_stat::ProcStat::read(pid).ok()??;
    let comm = stat.comm.clone();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let nspid = field("NSpid:")
        .last()
        .and_then(|s| s.parse().ok())
        .unwrap_or(pid);
    let euid = field("Uid:")
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let egid = field("Gid:")
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let args = cmdline
        .split(|b| *b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect::<Vec<_>>()
        .join(" ");
    Some(Proc {
        hpid: pid,
        hppid: stat.ppid,
        nspid,
        uid: euid,
        gid: egid,
        state: stat.state.to_string(),
        args: if args.is_empty() {
            format!("[{comm}]")
        } else {
            args
        },
        comm,
        tty_nr: stat.tty_nr,
        cpu_ticks: stat.cpu_ticks,
        start_ticks: stat.start_ticks,
    })
}

/// The pids in cgroup `path` (absolute cgroupsPath) of every hierarchy:
/// the unified one on cgroup v2, each controller's on v1.
fn cgroup_pids(path: &str) -> BTreeSet<i32> {
    let rel = path.trim_start_matches('/');
    let mut dirs = vec![Path::new("/sys/fs/cgroup").join(rel)];
    if let Ok(d) = std::fs::read_dir("/sys/fs/cgroup") {
        dirs.extend(d.flatten().map(|e| e.path().join(rel)));
    }
    let mut pids = BTreeSet::new();
    for d in dirs {
        if let Ok(text) = std::fs::read_to_string(d.join("cgroup.procs")) {
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    pids
}

/// Go's `time.Duration` text, as podman prints ELAPSED and TIME.
pub fn go_duration(secs: f64) -> String {
    if secs <= 0.0 {
        return "0s".into();
    }
    let h = (secs / 3600.0).floor();
    let m = ((secs - h * 3600.0) / 60.0).floor();
    let s = secs - h * 3600.0 - m * 60.0;
    let s_text = format!("{s:.9}")
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string();
    match (h as u64, m as u64) {
        (0, 0) => format!("{s_text}s"),
        (0, m) => format!("{m}m{s_text}s"),
        (h, m) => format!("{h}h{m}m{s_text}s"),
    }
}

fn tty_name(nr: u64) -> String {
    let major = (nr >> 8) & 0xfff;
    let minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
    match major {
        0 => "?".into(),
        136..=143 => format!("pts/{}", (major - 136) * 256 + minor),
        4 if minor < 64 => format!("tty{minor}"),
        _ => format!("{major}:{minor}"),
    }
}

impl Engine {
    /// The table `top` prints: a header row, then one row per process of
    /// the container, by pid.
    pub fn top(&self, key: &str, descriptors: &[String]) -> Result<Vec<Vec<String>>> {
        let (c, state) = self.in_state(key, true, "top needs a running container")?;
        let descs: Vec<String> = if descriptors.is_empty() {
            DEFAULT_DESCRIPTORS.iter().map(|d| d.to_string()).collect()
        } else {
            // podman takes them as separate words or one comma list.
            descriptors
                .iter()
                .flat_map(|d| d.split(',').map(str::to_string).collect::<Vec<_>>())
                .filter(|d| !d.is_empty())
                .collect()
        };
        let mut head = Vec::new();
        for d in &descs {
            head.push(
                header(d)
                    .ok_or_else(|| Error::InvalidOption {
                        option: "top descriptor",
                        value: d.clone(),
                        reason: format!(
                            "supported: {}",
                            "user uid group pid ppid pcpu etime tty time args comm hpid hppid state"
                        ),
                    })?
                    .to_string(),
            );
        }
        let procs: Vec<Proc> = cgroup_pids(&Meta::of(&c)?.cgroups_path)
            .into_iter()
            .filter_map(read_proc)
            .collect();
        // The container's own root, its files read in-root.
        let root = state
            .process
            .and_then(|p| RootfsReader::open(Path::new(&format!("/proc/{}/root", p.pid))).ok());
        let users = root
            .as_ref()
            .map(|r| names_by_id(r, "/etc/passwd"))
            .unwrap_or_default();
        let groups = root
            .as_ref()
            .map(|r| names_by_id(r, "/etc/group"))
            .unwrap_or_default();
        let lookup = |list: &[(u32, String)], id: u32| {
            list.iter()
                .find(|(i, _)| *i == id)
                .map(|(_, n)| n.clone())
                .unwrap_or_else(|| id.to_string())
        };
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
        let uptime: f64 = std::fs::read_to_string("/proc/uptime")
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0.0);
        let mut rows = vec![head];
        for p in &procs {
            let elapsed = (uptime - p.start_ticks as f64 / hz).max(0.0);
            let cpu = p.cpu_ticks as f64 / hz;
            let row = descs
                .iter()
                .map(|d| match d.as_str() {
                    "user" => lookup(&users, p.uid),
                    "uid" => p.uid.to_string(),
                    "group" => lookup(&groups, p.gid),
                    "pid" => p.nspid.to_string(),
                    "ppid" => procs
                        .iter()
                        .find(|q| q.hpid == p.hppid)
                        .map_or(0, |q| q.nspid)
                        .to_string(),
                    "pcpu" => {
                        let pct = if elapsed > 0.0 {
                            cpu / elapsed * 100.0
                        } else {
                            0.0
                        };
                        format!("{pct:.3}")
                    }
                    "etime" => go_duration(elapsed),
                    "tty" => tty_name(p.tty_nr),
                    "time" => go_duration(cpu.floor()),
                    "args" => p.args.clone(),
                    "comm" => p.comm.clone(),
                    "hpid" => p.hpid.to_string(),
                    "hppid" => p.hppid.to_string(),
                    "state" => p.state.clone(),
                    _ => String::new(),
                })
                .collect();
            rows.push(row);
        }
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_go() {
        assert_eq!(go_duration(0.0), "0s");
        assert_eq!(go_duration(2.5), "2.5s");
        assert_eq!(go_duration(61.0), "1m1s");
        assert_eq!(go_duration(3723.25), "1h2m3.25s");
    }

    #[test]
    fn ttys() {
        assert_eq!(tty_name(0), "?");
        assert_eq!(tty_name((136 << 8) | 3), "pts/3");
    }

    #[test]
    fn this_process_reads() {
        let p = read_proc(std::process::id() as i32).unwrap();
        assert_eq!(p.hpid, std::process::id() as i32);
        assert!(!p.args.is_empty());
    }
}
