//! Statistics in the shape of runc's `events --stats` "data" object
//! (runc's types/events.go): the same field names, and Go's `omitempty`
//! mirrored so the JSON reads the same.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::fsutil;
use super::{Cgroup, Mode};

fn zero(v: &u64) -> bool {
    *v == 0
}

/// runc's `types.Stats`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// CPU usage and throttling.
    pub cpu: CpuStats,
    /// Memory usage.
    pub memory: MemoryStats,
    /// Number of tasks.
    pub pids: PidsStats,
    /// Block I/O.
    pub blkio: BlkioStats,
    /// Huge pages, by page size ("2MB").
    pub hugetlb: BTreeMap<String, HugetlbStats>,
}

/// runc's `types.Cpu`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuStats {
    /// Time used.
    pub usage: CpuUsage,
    /// CFS throttling.
    pub throttling: Throttling,
}

/// runc's `types.CpuUsage`; nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CpuUsage {
    /// Total CPU time.
    #[serde(default, skip_serializing_if = "zero")]
    pub total: u64,
    /// Total per CPU.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu: Vec<u64>,
    /// Kernel time per CPU.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_kernel: Vec<u64>,
    /// User time per CPU.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub percpu_user: Vec<u64>,
    /// Kernel time.
    pub kernel: u64,
    /// User time.
    pub user: u64,
}

/// runc's `types.Throttling`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Throttling {
    /// Enforcement periods elapsed.
    #[serde(default, skip_serializing_if = "zero")]
    pub periods: u64,
    /// Periods in which the cgroup was throttled.
    #[serde(default, skip_serializing_if = "zero")]
    pub throttled_periods: u64,
    /// Time throttled, nanoseconds.
    #[serde(default, skip_serializing_if = "zero")]
    pub throttled_time: u64,
}

/// runc's `types.MemoryEntry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryEntry {
    /// Limit in bytes (0 when unlimited on v2).
    pub limit: u64,
    /// Current usage.
    #[serde(default, skip_serializing_if = "zero")]
    pub usage: u64,
    /// Peak usage.
    #[serde(default, skip_serializing_if = "zero")]
    pub max: u64,
    /// Times the limit was hit.
    pub failcnt: u64,
}

/// runc's `types.Memory`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryStats {
    /// Page cache.
    #[serde(default, skip_serializing_if = "zero")]
    pub cache: u64,
    /// Memory.
    pub usage: MemoryEntry,
    /// Memory+swap (v1 semantics, also on v2 as runc reports it).
    pub swap: MemoryEntry,
    /// Kernel memory (v1).
    pub kernel: MemoryEntry,
    /// Kernel TCP buffers (v1).
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: MemoryEntry,
    /// memory.stat as it is.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub raw: BTreeMap<String, u64>,
}

/// runc's `types.Pids`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PidsStats {
    /// Tasks now.
    #[serde(default, skip_serializing_if = "zero")]
    pub current: u64,
    /// pids.max (0 when unlimited).
    #[serde(default, skip_serializing_if = "zero")]
    pub limit: u64,
}

/// runc's `types.BlkioEntry`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioEntry {
    /// Device major.
    #[serde(default, skip_serializing_if = "zero")]
    pub major: u64,
    /// Device minor.
    #[serde(default, skip_serializing_if = "zero")]
    pub minor: u64,
    /// Read, Write, Sync, Async, Discard, Total.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub op: String,
    /// The count.
    #[serde(default, skip_serializing_if = "zero")]
    pub value: u64,
}

/// runc's `types.Blkio`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlkioStats {
    /// Bytes transferred.
    #[serde(
        rename = "ioServiceBytesRecursive",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_service_bytes_recursive: Vec<BlkioEntry>,
    /// I/O operations.
    #[serde(
        rename = "ioServicedRecursive",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub io_serviced_recursive: Vec<BlkioEntry>,
}

/// runc's `types.Hugetlb`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HugetlbStats {
    /// Bytes in use.
    #[serde(default, skip_serializing_if = "zero")]
    pub usage: u64,
    /// Peak (v1 only).
    #[serde(default, skip_serializing_if = "zero")]
    pub max: u64,
    /// Allocations that failed at the limit.
    pub failcnt: u64,
}

/// Read the statistics of `cg`. Controllers that are not there leave
/// their part zero.
pub(crate) fn collect(cg: &Cgroup) -> Result<Stats> {
    let mut s = Stats::default();
    if cg.mode == Mode::Unified {
        if let Some(u) = &cg.unified {
            v2(&u.dir, &mut s)?;
        }
        return Ok(s);
    }
    if let Some(d) = cg.v1_dir("cpuacct") {
        s.cpu.usage.total = fsutil::read_u64(d, "cpuacct.usage")?.unwrap_or(0);
        s.cpu.usage.percpu = read_list(d, "cpuacct.usage_percpu")?;
        s.cpu.usage.percpu_kernel = read_list(d, "cpuacct.usage_percpu_sys")?;
        s.cpu.usage.percpu_user = read_list(d, "cpuacct.usage_percpu_user")?;
        // cpuacct.stat counts USER_HZ (100) ticks.
        let kv = read_kv(d, "cpuacct.stat")?;
        s.cpu.usage.user = kv.get("user").copied().unwrap_or(0) * 10_000_000;
        s.cpu.usage.kernel = kv.get("system").copied().unwrap_or(0) * 10_000_000;
    }
    if let Some(d) = cg.v1_dir("cpu") {
        let kv = read_kv(d, "cpu.stat")?;
        s.cpu.throttling = Throttling {
            periods: kv.get("nr_periods").copied().unwrap_or(0),
            throttled_periods: kv.get("nr_throttled").copied().unwrap_or(0),
            throttled_time: kv.get("throttled_time").copied().unwrap_or(0),
        };
    }
    if let Some(d) = cg.v1_dir("memory") {
        s.memory.usage = v1_mem_entry(d, "memory")?;
        s.memory.swap = v1_mem_entry(d, "memory.memsw")?;
        s.memory.kernel = v1_mem_entry(d, "memory.kmem")?;
        s.memory.kernel_tcp = v1_mem_entry(d, "memory.kmem.tcp")?;
        s.memory.raw = read_kv(d, "memory.stat")?;
        s.memory.cache = s.memory.raw.get("cache").copied().unwrap_or(0);
    }
    if let Some(d) = cg.v1_dir("pids") {
        s.pids = PidsStats {
            current: fsutil::read_u64(d, "pids.current")?.unwrap_or(0),
            limit: fsutil::read_u64(d, "pids.max")?.unwrap_or(0),
        };
    }
    if let Some(d) = cg.v1_dir("blkio") {
        // CFQ's files, else BFQ's, else the throttle ones (always there).
        for prefix in ["blkio.", "blkio.bfq.", "blkio.throttle."] {
            let bytes = read_blkio(d, &format!("{prefix}io_service_bytes_recursive"))?;
            if bytes.is_empty() && prefix != "blkio.throttle." {
                continue;
            }
            s.blkio.io_service_bytes_recursive = bytes;
            s.blkio.io_serviced_recursive =
                read_blkio(d, &format!("{prefix}io_serviced_recursive"))?;
            break;
        }
    }
    if let Some(d) = cg.v1_dir("hugetlb") {
        for size in page_sizes() {
            let e = HugetlbStats {
                usage: fsutil::read_u64(d, &format!("hugetlb.{size}.usage_in_bytes"))?.unwrap_or(0),
                max: fsutil::read_u64(d, &format!("hugetlb.{size}.max_usage_in_bytes"))?
                    .unwrap_or(0),
                failcnt: fsutil::read_u64(d, &format!("hugetlb.{size}.failcnt"))?.unwrap_or(0),
            };
            s.hugetlb.insert(size, e);
        }
    } else if let Some(u) = &cg.unified {
        v2_hugetlb(&u.dir, &mut s)?;
    }
    Ok(s)
}

fn v1_mem_entry(d: &Path, prefix: &str) -> Result<MemoryEntry> {
    let get = |f: &str| -> Result<u64> {
        Ok(fsutil::read_u64(d, &format!("{prefix}.{f}"))?.unwrap_or(0))
    };
    Ok(MemoryEntry {
        limit: get("limit_in_bytes")?,
        usage: get("usage_in_bytes")?,
        max: get("max_usage_in_bytes")?,
        failcnt: get("failcnt")?,
    })
}

fn v2(d: &Path, s: &mut Stats) -> Result<()> {
    let cpu = read_kv(d, "cpu.stat")?;
    let get = |m: &BTreeMap<String, u64>, k: &str| m.get(k).copied().unwrap_or(0);
    s.cpu.usage.total = get(&cpu, "usage_usec") * 1000;
    s.cpu.usage.user = get(&cpu, "user_usec") * 1000;
    s.cpu.usage.kernel = get(&cpu, "system_usec") * 1000;
    s.cpu.throttling = Throttling {
        periods: get(&cpu, "nr_periods"),
        throttled_periods: get(&cpu, "nr_throttled"),
        throttled_time: get(&cpu, "throttled_usec") * 1000,
    };
    s.memory.raw = read_kv(d, "memory.stat")?;
    s.memory.cache = get(&s.memory.raw, "file");
    let events = read_kv(d, "memory.events")?;
    s.memory.usage = MemoryEntry {
        limit: fsutil::read_u64(d, "memory.max")?.unwrap_or(0),
        usage: fsutil::read_u64(d, "memory.current")?.unwrap_or(0),
        max: fsutil::read_u64(d, "memory.peak")?.unwrap_or(0),
        failcnt: get(&events, "max"),
    };
    // v1 reports memory+swap; runc does the same on v2.
    if let Some(swap) = fsutil::read_u64(d, "memory.swap.current")? {
        let swap_max = fsutil::read_u64(d, "memory.swap.max")?.unwrap_or(0);
        s.memory.swap = MemoryEntry {
            usage: swap + s.memory.usage.usage,
            limit: if swap_max == 0 || s.memory.usage.limit == 0 {
                0
            } else {
                swap_max + s.memory.usage.limit
            },
            max: 0,
            failcnt: 0,
        };
    }
    s.pids = PidsStats {
        current: fsutil::read_u64(d, "pids.current")?.unwrap_or(0),
        limit: fsutil::read_u64(d, "pids.max")?.unwrap_or(0),
    };
    if let Some(text) = fsutil::read_opt(d, "io.stat")? {
        for line in text.lines() {
            let mut fields = line.split_whitespace();
            let Some((major, minor)) = fields.next().and_then(parse_dev) else {
                continue;
            };
            for kv in fields {
                let Some((k, v)) = kv.split_once('=') else {
                    continue;
                };
                let Ok(value) = v.parse() else { continue };
                let (list, op) = match k {
                    "rbytes" => (&mut s.blkio.io_service_bytes_recursive, "Read"),
                    "wbytes" => (&mut s.blkio.io_service_bytes_recursive, "Write"),
                    "rios" => (&mut s.blkio.io_serviced_recursive, "Read"),
                    "wios" => (&mut s.blkio.io_serviced_recursive, "Write"),
                    _ => continue,
                };
                list.push(BlkioEntry {
                    major,
                    minor,
                    op: op.to_owned(),
                    value,
                });
            }
        }
    }
    v2_hugetlb(d, s)
}

fn v2_hugetlb(d: &Path, s: &mut Stats) -> Result<()> {
    for size in page_sizes() {
        let Some(usage) = fsutil::read_u64(d, &format!("hugetlb.{size}.current"))? else {
            continue;
        };
        let events = read_kv(d, &format!("hugetlb.{size}.events"))?;
        s.hugetlb.insert(
            size,
            HugetlbStats {
                usage,
                max: 0,
                failcnt: events.get("max").copied().unwrap_or(0),
            },
        );
    }
    Ok(())
}

fn parse_dev(s: &str) -> Option<(u64, u64)> {
    let (a, b) = s.split_once(':')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

/// Space separated numbers (cpuacct.usage_percpu).
fn read_list(d: &Path, name: &str) -> Result<Vec<u64>> {
    let Some(text) = fsutil::read_opt(d, name)? else {
        return Ok(Vec::new());
    };
    text.split_whitespace()
        .map(|v| {
            v.parse().map_err(|_| Error::Parse {
                path: d.join(name),
                content: v.to_owned(),
            })
        })
        .collect()
}

/// `key value` lines (memory.stat, cpu.stat). Lines whose value is not a
/// number are skipped.
fn read_kv(d: &Path, name: &str) -> Result<BTreeMap<String, u64>> {
    let mut out = BTreeMap::new();
    if let Some(text) = fsutil::read_opt(d, name)? {
        for line in text.lines() {
            if let Some((k, v)) = line.split_once(' ') {
                if let Ok(v) = v.trim().parse() {
                    out.insert(k.to_owned(), v);
                }
            }
        }
    }
    Ok(out)
}

/// v1 blkio lines: `8:0 Read 4096`, `8:0 4096` or `Total 4096` (skipped).
fn read_blkio(d: &Path, name: &str) -> Result<Vec<BlkioEntry>> {
    let mut out = Vec::new();
    let Some(text) = fsutil::read_opt(d, name)? else {
        return Ok(out);
    };
    for line in text.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let bad = || Error::Parse {
            path: d.join(name),
            content: line.to_owned(),
        };
        let (dev, op, value) = match f.as_slice() {
            [] | ["Total", _] => continue,
            [dev, value] => (*dev, "", *value),
            [dev, op, value] => (*dev, *op, *value),
            _ => return Err(bad()),
        };
        let (major, minor) = parse_dev(dev).ok_or_else(bad)?;
        out.push(BlkioEntry {
            major,
            minor,
            op: op.to_owned(),
            value: value.parse().map_err(|_| bad())?,
        });
    }
    Ok(out)
}

/// The host's huge page sizes as cgroup file names spell them ("2MB").
fn page_sizes() -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/kernel/mm/hugepages") else {
        return Vec::new();
    };
    let mut out: Vec<String> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name();
            let kb: u64 = name
                .to_str()?
                .strip_prefix("hugepages-")?
                .strip_suffix("kB")?
                .parse()
                .ok()?;
            Some(page_size_name(kb))
        })
        .collect();
    out.sort();
    out
}

/// 2048 kB is "2MB", 1048576 kB is "1GB", 64 kB is "64KB".
pub(crate) fn page_size_name(kb: u64) -> String {
    if kb >= 1 << 20 && kb & ((1 << 20) - 1) == 0 {
        format!("{}GB", kb >> 20)
    } else if kb >= 1 << 10 && kb & ((1 << 10) - 1) == 0 {
        format!("{}MB", kb >> 10)
    } else {
        format!("{kb}KB")
    }
}
