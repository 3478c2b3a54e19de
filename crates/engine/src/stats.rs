//! `stats`: one sample of a running container's resource use. CPU, memory,
//! block I/O and pids come from its cgroup, read in-process by the runtime
//! library's cgroup code (what `berth-runtime events --stats` prints, for
//! cgroup v1, hybrid and v2 alike, whichever runtime made the cgroup: the
//! engine gives every container an absolute `cgroupsPath`), so a sample
//! forks nothing; network counters from its network namespace, read
//! through its init's `/proc/PID/net/dev`.

use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::records::Status;

/// What one sample found; rates are the caller's (they need two samples,
/// or the start time).
#[derive(Debug, Clone, Default)]
pub struct ContainerStats {
    /// 64 hex digits.
    pub id: String,
    /// Its name.
    pub name: String,
    /// CPU time used since the start, nanoseconds.
    pub cpu_nanos: u64,
    /// When the sample was taken, nanoseconds since the epoch.
    pub sampled_nanos: u64,
    /// When the container started, RFC 3339.
    pub started_at: Option<String>,
    /// Memory in use, bytes.
    pub mem_usage: u64,
    /// Its memory limit: the host's memory when it has none.
    pub mem_limit: u64,
    /// Bytes received on its interfaces (loopback aside).
    pub net_input: u64,
    /// Bytes sent.
    pub net_output: u64,
    /// Bytes read from block devices.
    pub block_input: u64,
    /// Bytes written.
    pub block_output: u64,
    /// Its tasks.
    pub pids: u64,
}

impl Engine {
    /// A sample of container `key`'s resource use; refused unless it runs
    /// (paused counts: its cgroup is there).
    pub fn stats(&self, key: &str) -> Result<ContainerStats> {
        let c = self.container(key)?;
        let state = self.refresh(&c.id)?;
        let Some(process) = state.process.filter(|_| state.status == Status::Running) else {
            return Err(Error::State {
                name: c.name,
                state: state.shown_status(),
                what: "only a running container has statistics".into(),
            });
        };
        let meta = crate::meta::Meta::of(&c)?;
        let cgroup_error = |source| Error::Cgroup {
            id: c.id.clone(),
            source,
        };
        let d = berth_runtime::cgroups::Cgroup::new(&meta.cgroups_path, &c.id)
            .and_then(|g| g.stats())
            .map_err(cgroup_error)?;
        let host = host_memory()?;
        let (net_input, net_output) = net_counters(process.pid)?;
        let blk = d.blkio.io_service_bytes_recursive;
        let sum = |op: &str| {
            blk.iter()
                .filter(|e| e.op.eq_ignore_ascii_case(op))
                .map(|e| e.value)
                .sum()
        };
        Ok(ContainerStats {
            id: c.id,
            name: c.name,
            cpu_nanos: d.cpu.usage.total,
            sampled_nanos: now_nanos(),
            started_at: state.started_at.clone(),
            mem_usage: d.memory.usage.usage,
            // No limit reads as a huge number (v1) or 0 (v2 "max").
            mem_limit: match d.memory.usage.limit {
                0 => host,
                l => l.min(host),
            },
            net_input,
            net_output,
            block_input: sum("read"),
            block_output: sum("write"),
            pids: d.pids.current,
        })
    }
}

fn now_nanos() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// MemTotal of /proc/meminfo, bytes.
fn host_memory() -> Result<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ctx("read", "/proc/meminfo")?;
    Ok(parse_meminfo(&text))
}

fn parse_meminfo(text: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Bytes received and sent on the interfaces of `pid`'s network
/// namespace, loopback aside.
fn net_counters(pid: i32) -> Result<(u64, u64)> {
    let path = format!("/proc/{pid}/net/dev");
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_net_dev(&text)),
        // Exited between the state check and here: nothing to count.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((0, 0)),
        Err(e) => Err(e).ctx("read", path),
    }
}

fn parse_net_dev(text: &str) -> (u64, u64) {
    let mut rx = 0;
    let mut tx = 0;
    for line in text.lines().skip(2) {
        let Some((name, counters)) = line.split_once(':') else {
            continue;
        };
        if name.trim() == "lo" {
            continue;
        }
        let f: Vec<u64> = counters
            .split_whitespace()
            .map(|v| v.parse().unwrap_or(0))
            .collect();
        // Receive: bytes packets errs drop fifo frame compressed multicast;
        // then transmit's bytes.
        if f.len() > 8 {
            rx += f[0];
            tx += f[8];
        }
    }
    (rx, tx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn net_dev_counts_every_interface_but_loopback() {
        let text = "Inter-|   Receive                                                |  Transmit\n \
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    \
 lo:    1000      10    0    0    0     0          0         0     1000      10    0    0    0     0       0          0\n  \
eth0:    2048      20    0    0    0     0          0         0      512       5    0    0    0     0       0          0\n";
        assert_eq!(parse_net_dev(text), (2048, 512));
    }

    #[test]
    fn meminfo_total_in_bytes() {
        assert_eq!(
            parse_meminfo("MemTotal:       16384 kB\nMemFree: 1 kB\n"),
            16384 * 1024
        );
    }
}
