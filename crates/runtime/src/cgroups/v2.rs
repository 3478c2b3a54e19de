//! Writing resources to the unified (cgroup2) hierarchy, converting v1
//! values the way runc's fs2 manager does.

use std::collections::HashMap;
use std::path::Path;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxCpu, LinuxHugepageLimit, LinuxMemory, LinuxRdma, LinuxResources,
};

use super::devices::DeviceState;
use super::error::{Error, Result};
use super::fsutil::{self, write};
use super::{devices_bpf, v1, Hierarchy};

/// Apply `r` to the unified cgroup `u` of a v2 host.
pub(crate) fn apply(u: &Hierarchy, r: &LinuxResources) -> Result<()> {
    apply_limits(&u.dir, r)?;
    let state = DeviceState::from_spec(r.devices().as_deref().unwrap_or_default())?;
    devices_bpf::attach(&u.dir, &state)
}

/// Every limit but the device filter, written to the files of `dir`.
pub(crate) fn apply_limits(dir: &Path, r: &LinuxResources) -> Result<()> {
    if let Some(p) = r.pids() {
        write(dir, "pids.max", &v1::pids_value(p.limit()))?;
    }
    if let Some(m) = r.memory() {
        memory(dir, m)?;
    }
    if let Some(b) = r.block_io() {
        io(dir, b)?;
    }
    if let Some(c) = r.cpu() {
        cpu(dir, c)?;
    }
    if let Some(limits) = r.hugepage_limits().as_deref().filter(|l| !l.is_empty()) {
        hugetlb(dir, limits)?;
    }
    if let Some(rd) = r.rdma().as_ref().filter(|m| !m.is_empty()) {
        rdma(dir, rd)?;
    }
    if let Some(n) = r.network() {
        if n.class_id().is_some() || n.priorities().as_ref().is_some_and(|p| !p.is_empty()) {
            return Err(Error::InvalidResource {
                field: "network",
                value: format!("{n:?}"),
                reason: "net_cls and net_prio do not exist on cgroup v2",
            });
        }
    }
    if let Some(map) = r.unified().as_ref().filter(|m| !m.is_empty()) {
        unified(dir, map)?;
    }
    Ok(())
}

/// `0` is unset, `-1` is "max" (runc's numToStr).
fn num(v: Option<i64>) -> Option<String> {
    match v {
        None | Some(0) => None,
        Some(-1) => Some("max".into()),
        Some(v) => Some(v.to_string()),
    }
}

/// v1's memory+swap limit as v2's swap-only limit (runc's
/// ConvertMemorySwapToCgroupV2Value). `0` means unset.
pub(crate) fn swap_v2(swap: i64, memory: i64) -> Result<i64> {
    // Unlimited memory with swap unset: unlimited swap too.
    if memory == -1 && swap == 0 {
        return Ok(-1);
    }
    if swap == -1 || swap == 0 {
        return Ok(swap);
    }
    let invalid = |reason| Error::InvalidResource {
        field: "memory.swap",
        value: swap.to_string(),
        reason,
    };
    if memory == 0 || memory == -1 {
        return Err(invalid("a swap limit needs a memory limit"));
    }
    if memory < 0 || swap < memory {
        return Err(invalid("memory+swap must be at least the memory limit"));
    }
    Ok(swap - memory)
}

fn memory(dir: &Path, m: &LinuxMemory) -> Result<()> {
    let limit = m.limit().unwrap_or(0);
    let swap = m.swap().unwrap_or(0);
    let v2swap = swap_v2(swap, limit)?;
    let swap_str = match v2swap {
        // memory and memory+swap equal: no swap at all.
        0 if swap > 0 => Some("0".to_owned()),
        v => num(Some(v)),
    };
    if let Some(s) = swap_str {
        write(dir, "memory.swap.max", &s)?;
    }
    if let Some(s) = num(Some(limit)) {
        write(dir, "memory.max", &s)?;
    }
    if let Some(s) = num(m.reservation()) {
        write(dir, "memory.low", &s)?;
    }
    // kernel, kernelTCP, swappiness and disableOOMKiller have no v2
    // equivalent and are ignored, as by runc.
    Ok(())
}

/// cpu.weight from v1 shares: runc's (and crun's) quadratic mapping that
/// sends 2 to 1, 1024 to 100 and 262144 to 10000.
pub(crate) fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

fn cpu(dir: &Path, c: &LinuxCpu) -> Result<()> {
    if c.realtime_runtime().is_some_and(|v| v != 0) || c.realtime_period().is_some_and(|v| v != 0) {
        return Err(Error::InvalidResource {
            field: "cpu.realtimeRuntime",
            value: format!("{:?}/{:?}", c.realtime_runtime(), c.realtime_period()),
            reason: "realtime scheduling limits do not exist on cgroup v2",
        });
    }
    let idle = c.idle();
    if let Some(i) = idle {
        write(dir, "cpu.idle", &i.to_string())?;
    }
    // An idle cgroup has no weight to set.
    if idle != Some(1) {
        if let Some(s) = c.shares().filter(|&s| s != 0) {
            write(dir, "cpu.weight", &shares_to_weight(s).to_string())?;
        }
    }
    let quota = c.quota().unwrap_or(0);
    let period = c.period().unwrap_or(0);
    if let Some(b) = c.burst() {
        write(dir, "cpu.max.burst", &b.to_string())?;
    }
    if quota != 0 || period != 0 {
        let mut v = if quota > 0 {
            quota.to_string()
        } else {
            "max".to_owned()
        };
        if period != 0 {
            v.push(' ');
            v.push_str(&period.to_string());
        }
        write(dir, "cpu.max", &v)?;
    }
    if let Some(v) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
        write(dir, "cpuset.cpus", v)?;
    }
    if let Some(v) = c.mems().as_deref().filter(|s| !s.is_empty()) {
        write(dir, "cpuset.mems", v)?;
    }
    Ok(())
}

/// io.weight from blkio.weight (10..1000 onto 1..10000), runc's mapping.
pub(crate) fn blkio_to_io_weight(w: u16) -> u64 {
    if w == 0 {
        return 0;
    }
    1 + (u64::from(w).saturating_sub(10)) * 9999 / 990
}

fn io(dir: &Path, b: &LinuxBlockIo) -> Result<()> {
    if let Some(w) = b.weight().filter(|&w| w != 0) {
        if fsutil::exists(dir, "io.bfq.weight") {
            write(dir, "io.bfq.weight", &w.to_string())?;
        } else {
            write(dir, "io.weight", &blkio_to_io_weight(w).to_string())?;
        }
    }
    for d in b.weight_device().as_deref().unwrap_or_default() {
        if let Some(w) = d.weight() {
            write(
                dir,
                "io.bfq.weight",
                &format!("{}:{} {}", d.major(), d.minor(), w),
            )?;
        }
    }
    let lists = [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ];
    for (key, list) in lists {
        for t in list.as_deref().unwrap_or_default() {
            let line = if t.rate() == 0 {
                format!("{}:{} {key}=max", t.major(), t.minor())
            } else {
                format!("{}:{} {key}={}", t.major(), t.minor(), t.rate())
            };
            write(dir, "io.max", &line)?;
        }
    }
    Ok(())
}

/// Check a hugepage size as the spec writes it (`2MB`, `1GB`, `64KB`).
pub(crate) fn page_size(s: &str) -> Result<&str> {
    let digits = s.trim_end_matches(['K', 'M', 'G', 'B']);
    let unit = &s[digits.len()..];
    if digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
        || !matches!(unit, "KB" | "MB" | "GB")
    {
        return Err(Error::InvalidResource {
            field: "hugepageLimits.pageSize",
            value: s.to_owned(),
            reason: "expected a size such as 2MB or 1GB",
        });
    }
    Ok(s)
}

/// The hugetlb controller has a file per huge page size the host has: a
/// size it lacks is named as such, not as a failed write.
pub(crate) fn need_page_size(dir: &Path, file: &str, size: &str) -> Result<()> {
    if fsutil::exists(dir, file) {
        return Ok(());
    }
    Err(Error::Unsupported {
        resource: "hugepageLimits",
        reason: format!(
            "this host has no {size} huge pages ({} does not exist)",
            dir.join(file).display()
        ),
    })
}

/// hugetlb.<size>.max (and .rsvd.max where the kernel has it, as runc).
pub(crate) fn hugetlb(dir: &Path, limits: &[LinuxHugepageLimit]) -> Result<()> {
    for l in limits {
        let size = page_size(l.page_size())?;
        let value = if l.limit() < 0 {
            "max".to_owned()
        } else {
            l.limit().to_string()
        };
        let file = format!("hugetlb.{size}.max");
        need_page_size(dir, &file, size)?;
        write(dir, &file, &value)?;
        let rsvd = format!("hugetlb.{size}.rsvd.max");
        if fsutil::exists(dir, &rsvd) {
            write(dir, &rsvd, &value)?;
        }
    }
    Ok(())
}

/// rdma.max, one line per device (same format on v1 and v2).
pub(crate) fn rdma(dir: &Path, map: &HashMap<String, LinuxRdma>) -> Result<()> {
    for (dev, l) in map {
        let mut line = dev.clone();
        if let Some(h) = l.hca_handles() {
            line.push_str(&format!(" hca_handle={h}"));
        }
        if let Some(o) = l.hca_objects() {
            line.push_str(&format!(" hca_object={o}"));
        }
        if line.len() > dev.len() {
            write(dir, "rdma.max", &line)?;
        }
    }
    Ok(())
}

/// `linux.resources.unified`: each key is a file of the cgroup, written
/// line by line (`io.max` takes one device per write).
pub(crate) fn unified(dir: &Path, map: &HashMap<String, String>) -> Result<()> {
    for (key, value) in map {
        if key.is_empty() || key.contains('/') || key == "." || key == ".." || !key.contains('.') {
            return Err(Error::InvalidResource {
                field: "unified",
                value: key.clone(),
                reason: "keys are cgroup file names of the form controller.parameter",
            });
        }
        let path = dir.join(key);
        for line in value.lines().filter(|l| !l.is_empty()) {
            fsutil::write_path(&path, line)?;
        }
        if value.is_empty() {
            fsutil::write_path(&path, "")?;
        }
    }
    Ok(())
}

/// The cgroup directories from the mount's root down to `dir`'s parent,
/// outermost first: the ones whose cgroup.subtree_control decides which
/// controllers `dir` has.
fn ancestors<'a>(mount: &'a Path, dir: &'a Path) -> Vec<&'a Path> {
    let mut out: Vec<&Path> = dir
        .ancestors()
        .skip(1)
        .take_while(|a| a.starts_with(mount))
        .collect();
    out.reverse();
    out
}

/// Enable every controller the root offers in the parents of `dir`, as
/// runc does on v2 hosts: all at once, and one by one when that fails (a
/// controller may be unavailable in a nested setup; what is then missing
/// shows when a limit is written).
pub(crate) fn enable_all_controllers(mount: &Path, dir: &Path) -> Result<()> {
    let available = fsutil::read(mount, "cgroup.controllers")?;
    let mut all = String::with_capacity(available.len() * 2);
    for c in available.split_whitespace() {
        if !all.is_empty() {
            all.push(' ');
        }
        all.push('+');
        all.push_str(c);
    }
    if all.is_empty() {
        return Ok(());
    }
    for a in ancestors(mount, dir) {
        let file = a.join("cgroup.subtree_control");
        if fsutil::write_path(&file, &all).is_err() {
            for c in all.split(' ') {
                let _ = fsutil::write_path(&file, c);
            }
        }
    }
    Ok(())
}

/// Enable one controller for `dir` (hybrid hosts, on demand).
pub(crate) fn enable_controller(mount: &Path, dir: &Path, controller: &str) -> Result<()> {
    let available = fsutil::read(mount, "cgroup.controllers")?;
    if !available.split_whitespace().any(|c| c == controller) {
        return Err(Error::ControllerMissing {
            resource: "unified",
            controller: static_name(controller),
            mount: mount.to_path_buf(),
        });
    }
    let plus = format!("+{controller}");
    for a in ancestors(mount, dir) {
        fsutil::write(a, "cgroup.subtree_control", &plus)?;
    }
    Ok(())
}

/// Controller names for error messages (the error holds `&'static str`).
fn static_name(c: &str) -> &'static str {
    const KNOWN: &[&str] = &[
        "cpu", "cpuset", "io", "memory", "pids", "hugetlb", "rdma", "misc",
    ];
    KNOWN
        .iter()
        .find(|k| **k == c)
        .copied()
        .unwrap_or("requested")
}
