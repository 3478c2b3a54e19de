//! Writing resources to v1 hierarchies (legacy and hybrid hosts), in the
//! order and with the quirks runc's fs manager has.

use std::path::Path;

use oci_spec::runtime::{LinuxBlockIo, LinuxCpu, LinuxMemory, LinuxResources};

use super::devices::{self, DeviceState};
use super::error::{Error, Result};
use super::fsutil::{self, write};
use super::{v2, Cgroup, Mode};

/// Apply `r` on a legacy or hybrid host.
pub(crate) fn apply(cg: &Cgroup, r: &LinuxResources) -> Result<()> {
    if let Some(m) = r.memory() {
        memory(cg, m)?;
    }
    if let Some(c) = r.cpu() {
        cpu(cg, c)?;
    }
    if let Some(p) = r.pids() {
        let dir = cg
            .v1_dir("pids")
            .ok_or_else(|| cg.missing("pids.limit", "pids"))?;
        write(dir, "pids.max", &pids_value(p.limit()))?;
    }
    if let Some(b) = r.block_io() {
        blkio(cg, b)?;
    }
    if let Some(limits) = r.hugepage_limits().as_deref().filter(|l| !l.is_empty()) {
        if let Some(dir) = cg.v1_dir("hugetlb") {
            for l in limits {
                let size = v2::page_size(l.page_size())?;
                let file = format!("hugetlb.{size}.limit_in_bytes");
                v2::need_page_size(dir, &file, size)?;
                write(dir, &file, &l.limit().to_string())?;
            }
        } else {
            // Hybrid hosts may bind hugetlb to the unified hierarchy only
            // (this machine does): set it there.
            let u = unified_with(cg, "hugetlb", "hugepageLimits")?;
            v2::hugetlb(u, limits)?;
        }
    }
    if let Some(n) = r.network() {
        if let Some(id) = n.class_id() {
            let dir = cg
                .v1_dir("net_cls")
                .ok_or_else(|| cg.missing("network.classID", "net_cls"))?;
            write(dir, "net_cls.classid", &id.to_string())?;
        }
        if let Some(prios) = n.priorities().as_deref().filter(|p| !p.is_empty()) {
            let dir = cg
                .v1_dir("net_prio")
                .ok_or_else(|| cg.missing("network.priorities", "net_prio"))?;
            for p in prios {
                write(
                    dir,
                    "net_prio.ifpriomap",
                    &format!("{} {}", p.name(), p.priority()),
                )?;
            }
        }
    }
    if let Some(rdma) = r.rdma().as_ref().filter(|m| !m.is_empty()) {
        if let Some(dir) = cg.v1_dir("rdma") {
            v2::rdma(dir, rdma)?;
        } else {
            let u = unified_with(cg, "rdma", "rdma")?;
            v2::rdma(u, rdma)?;
        }
    }
    if let Some(unified) = r.unified().as_ref().filter(|m| !m.is_empty()) {
        if cg.mode != Mode::Hybrid {
            return Err(Error::InvalidResource {
                field: "unified",
                value: format!("{unified:?}"),
                reason: "needs a cgroup v2 hierarchy; this host has only v1",
            });
        }
        let u = cg
            .unified
            .as_ref()
            .ok_or_else(|| cg.missing("unified", "unified"))?;
        for key in unified.keys() {
            if let Some((controller, _)) = key.split_once('.') {
                if controller != "cgroup" {
                    v2::enable_controller(&u.mount, &u.dir, controller)?;
                }
            }
        }
        v2::unified(&u.dir, unified)?;
    }
    let dir = cg
        .v1_dir("devices")
        .ok_or_else(|| cg.missing("devices", "devices"))?;
    let state = DeviceState::from_spec(r.devices().as_deref().unwrap_or_default())?;
    devices::write_v1(dir, &state)
}

/// The unified cgroup of a hybrid host with `controller` enabled for it.
fn unified_with<'a>(
    cg: &'a Cgroup,
    controller: &'static str,
    resource: &'static str,
) -> Result<&'a Path> {
    let u = cg
        .unified
        .as_ref()
        .ok_or_else(|| cg.missing(resource, controller))?;
    v2::enable_controller(&u.mount, &u.dir, controller)?;
    Ok(&u.dir)
}

/// `pids.max`: a positive limit, else "max" (0 and -1 mean no limit).
pub(crate) fn pids_value(limit: i64) -> String {
    if limit > 0 {
        limit.to_string()
    } else {
        "max".to_owned()
    }
}

fn set(v: Option<i64>) -> Option<i64> {
    v.filter(|&v| v != 0)
}

fn memory(cg: &Cgroup, m: &LinuxMemory) -> Result<()> {
    let limit = set(m.limit());
    let mut swap = set(m.swap());
    let reservation = set(m.reservation());
    let tcp = set(m.kernel_tcp());
    let kernel = set(m.kernel());
    let any = limit.is_some()
        || kernel.is_some()
        || swap.is_some()
        || reservation.is_some()
        || tcp.is_some()
        || m.swappiness().is_some()
        || m.disable_oom_killer() == Some(true);
    if !any {
        return Ok(());
    }
    let dir = cg
        .v1_dir("memory")
        .ok_or_else(|| cg.missing("memory", "memory"))?;
    const LIMIT: &str = "memory.limit_in_bytes";
    const SWAP: &str = "memory.memsw.limit_in_bytes";
    // Unlimited memory with swap unset means unlimited swap too (runc).
    if limit == Some(-1) && swap.is_none() && fsutil::exists(dir, SWAP) {
        swap = Some(-1);
    }
    match (limit, swap) {
        (Some(l), Some(s)) => {
            // The kernel wants memory <= memory+swap at every step: when the
            // new swap limit is above the current memory limit, raise swap
            // first (runc's order).
            let current = fsutil::read_u64(dir, LIMIT)?.unwrap_or(0);
            if s == -1 || current < s as u64 {
                write(dir, SWAP, &s.to_string())?;
                write(dir, LIMIT, &l.to_string())?;
            } else {
                write(dir, LIMIT, &l.to_string())?;
                write(dir, SWAP, &s.to_string())?;
            }
        }
        (Some(l), None) => write(dir, LIMIT, &l.to_string())?,
        (None, Some(s)) => write(dir, SWAP, &s.to_string())?,
        (None, None) => {}
    }
    if let Some(v) = reservation {
        write(dir, "memory.soft_limit_in_bytes", &v.to_string())?;
    }
    if let Some(v) = kernel {
        kernel_memory(dir, v)?;
    }
    if let Some(v) = tcp {
        write(dir, "memory.kmem.tcp.limit_in_bytes", &v.to_string())?;
    }
    if let Some(v) = m.swappiness() {
        if v > 100 {
            return Err(Error::InvalidResource {
                field: "memory.swappiness",
                value: v.to_string(),
                reason: "must be between 0 and 100",
            });
        }
        write(dir, "memory.swappiness", &v.to_string())?;
    }
    if m.disable_oom_killer() == Some(true) {
        write(dir, "memory.oom_control", "1")?;
    }
    Ok(())
}

/// `memory.kernel`: kernels since 5.16 keep memory.kmem.limit_in_bytes
/// but ignore what is written to it (and newer ones drop it). A limit the
/// kernel does not enforce must not pass as set: write it, read it back,
/// and fail naming the missing feature if it did not take.
fn kernel_memory(dir: &Path, limit: i64) -> Result<()> {
    const KMEM: &str = "memory.kmem.limit_in_bytes";
    let unsupported = || Error::Unsupported {
        resource: "memory.kernel",
        reason: format!(
            "this kernel has no kernel memory accounting on cgroup v1 \
             ({} ignores limits since Linux 5.16)",
            dir.join(KMEM).display()
        ),
    };
    if !fsutil::exists(dir, KMEM) {
        return Err(unsupported());
    }
    write(dir, KMEM, &limit.to_string())?;
    // The kernel rounds a limit down to whole pages; an ignored one reads
    // back as "unlimited", far above any limit that can be asked for.
    let took = match (fsutil::read_u64(dir, KMEM)?, u64::try_from(limit)) {
        (Some(now), Ok(asked)) => now <= asked,
        (Some(now), Err(_)) => now >= i64::MAX as u64 / 2,
        (None, _) => false,
    };
    if !took {
        return Err(unsupported());
    }
    Ok(())
}

fn cpu(cg: &Cgroup, c: &LinuxCpu) -> Result<()> {
    let shares = c.shares().filter(|&v| v != 0);
    let quota = set(c.quota());
    let period = c.period().filter(|&v| v != 0);
    let burst = c.burst();
    let rt_runtime = set(c.realtime_runtime());
    let rt_period = c.realtime_period().filter(|&v| v != 0);
    if shares.is_some()
        || quota.is_some()
        || period.is_some()
        || burst.is_some()
        || c.idle().is_some()
        || rt_runtime.is_some()
        || rt_period.is_some()
    {
        let dir = cg.v1_dir("cpu").ok_or_else(|| cg.missing("cpu", "cpu"))?;
        if let Some(v) = shares {
            write(dir, "cpu.shares", &v.to_string())?;
        }
        let mut period_pending = None;
        if let Some(p) = period {
            // A smaller period may be refused (EINVAL) while the old quota
            // is in place; retry after the quota is written (runc).
            match write(dir, "cpu.cfs_period_us", &p.to_string()) {
                Ok(()) => {}
                Err(Error::Write { source, .. })
                    if source.raw_os_error() == Some(libc::EINVAL) && quota.is_some() =>
                {
                    period_pending = Some(p);
                }
                Err(e) => return Err(e),
            }
        }
        if let Some(q) = quota {
            write(dir, "cpu.cfs_quota_us", &q.to_string())?;
            if let Some(p) = period_pending {
                write(dir, "cpu.cfs_period_us", &p.to_string())?;
            }
        }
        if let Some(b) = burst {
            write(dir, "cpu.cfs_burst_us", &b.to_string())?;
        }
        if let Some(i) = c.idle() {
            write(dir, "cpu.idle", &i.to_string())?;
        }
        if let Some(p) = rt_period {
            write(dir, "cpu.rt_period_us", &p.to_string())?;
        }
        if let Some(r) = rt_runtime {
            write(dir, "cpu.rt_runtime_us", &r.to_string())?;
        }
    }
    let cpus = c.cpus().as_deref().filter(|s| !s.is_empty());
    let mems = c.mems().as_deref().filter(|s| !s.is_empty());
    if cpus.is_some() || mems.is_some() {
        let dir = cg
            .v1_dir("cpuset")
            .ok_or_else(|| cg.missing("cpu.cpus", "cpuset"))?;
        if let Some(v) = cpus {
            write(dir, "cpuset.cpus", v)?;
        }
        if let Some(v) = mems {
            write(dir, "cpuset.mems", v)?;
        }
    }
    Ok(())
}

fn blkio(cg: &Cgroup, b: &LinuxBlockIo) -> Result<()> {
    let lists = [
        (
            "blkio.throttle.read_bps_device",
            b.throttle_read_bps_device(),
        ),
        (
            "blkio.throttle.write_bps_device",
            b.throttle_write_bps_device(),
        ),
        (
            "blkio.throttle.read_iops_device",
            b.throttle_read_iops_device(),
        ),
        (
            "blkio.throttle.write_iops_device",
            b.throttle_write_iops_device(),
        ),
    ];
    let weight = b.weight().filter(|&w| w != 0);
    let leaf = b.leaf_weight().filter(|&w| w != 0);
    let devices = b.weight_device().as_deref().unwrap_or_default();
    let any = weight.is_some()
        || leaf.is_some()
        || !devices.is_empty()
        || lists
            .iter()
            .any(|(_, l)| l.as_ref().is_some_and(|l| !l.is_empty()));
    if !any {
        return Ok(());
    }
    let dir = cg
        .v1_dir("blkio")
        .ok_or_else(|| cg.missing("blockIO", "blkio"))?;
    // CFQ's files are gone from modern kernels; BFQ's are prefixed, and
    // exist only while BFQ is the scheduler of some disk.
    let (wfile, wdev) = if fsutil::exists(dir, "blkio.weight") {
        ("blkio.weight", "blkio.weight_device")
    } else {
        ("blkio.bfq.weight", "blkio.bfq.weight_device")
    };
    let need = |resource: &'static str, file: &str, why: &str| {
        if fsutil::exists(dir, file) {
            Ok(())
        } else {
            Err(Error::Unsupported {
                resource,
                reason: format!("this host's blkio controller has no {file} ({why})"),
            })
        }
    };
    const NO_WEIGHT: &str = "no proportional-weight I/O scheduler (CFQ or BFQ) is in use";
    const NO_LEAF: &str = "leaf weights were a CFQ feature, and CFQ left Linux in 5.0";
    if let Some(w) = weight {
        need("blockIO.weight", wfile, NO_WEIGHT)?;
        write(dir, wfile, &w.to_string())?;
    }
    if let Some(w) = leaf {
        need("blockIO.leafWeight", "blkio.leaf_weight", NO_LEAF)?;
        write(dir, "blkio.leaf_weight", &w.to_string())?;
    }
    for d in devices {
        if let Some(w) = d.weight() {
            need("blockIO.weightDevice", wdev, NO_WEIGHT)?;
            write(dir, wdev, &format!("{}:{} {}", d.major(), d.minor(), w))?;
        }
        if let Some(w) = d.leaf_weight() {
            let file = "blkio.leaf_weight_device";
            need("blockIO.weightDevice.leafWeight", file, NO_LEAF)?;
            write(dir, file, &format!("{}:{} {}", d.major(), d.minor(), w))?;
        }
    }
    for (file, list) in lists {
        for t in list.as_deref().unwrap_or_default() {
            write(
                dir,
                file,
                &format!("{}:{} {}", t.major(), t.minor(), t.rate()),
            )?;
        }
    }
    Ok(())
}

/// Give a cpuset cgroup just created its parent's cpus and mems: a new
/// cpuset cgroup starts empty (unless the parent has clone_children set)
/// and would refuse tasks with ENOSPC. Copying is right in both cases.
pub(crate) fn init_cpuset(dir: &Path) -> Result<()> {
    let Some(parent) = dir.parent() else {
        return Ok(());
    };
    for file in ["cpuset.cpus", "cpuset.mems"] {
        let inherited = fsutil::read(parent, file)?;
        let inherited = inherited.trim();
        if !inherited.is_empty() {
            write(dir, file, inherited)?;
        }
    }
    Ok(())
}
