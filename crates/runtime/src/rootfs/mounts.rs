//! Mounting one `mounts[]` entry inside the rootfs, before `pivot_root`.

use super::mount_opts::{self, MountOptions};
use super::resolve::{ensure_in_root, fd_path, open_in_root, Kind};
use crate::error::{Error, Result};
use nix::mount::{mount, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};
use oci_spec::runtime::Mount;
use std::os::fd::BorrowedFd;
use std::path::{Path, PathBuf};

/// What mounting needs to know beyond the entry itself.
pub struct MountContext<'a> {
    /// The rootfs directory (before pivot_root).
    pub root: BorrowedFd<'a>,
    /// The bundle, against which relative bind sources resolve.
    pub bundle: &'a Path,
    /// The container has its own user namespace: flags the parent mount
    /// locked must be kept on remount, and devices are bind mounted.
    pub in_userns: bool,
    /// The container has its own cgroup namespace.
    pub cgroupns: bool,
    /// The container's cgroup path relative to each hierarchy's root.
    pub cgroup_path: Option<&'a Path>,
    /// The host's cgroup hierarchies, detected once by the runtime.
    pub cgroup_layout: Option<&'a crate::cgroups::Layout>,
}

/// Per-mount extras prepared by the runtime before the clone.
pub struct MountExtras<'a> {
    /// The user namespace of an idmapped bind mount.
    pub idmap: Option<&'a std::os::fd::OwnedFd>,
}

/// Files under /proc a bind mount may cover (lxcfs and friends), as runc
/// allows; anything else there could hide or fake what the kernel exposes.
const PROC_BIND_ALLOWED: [&str; 10] = [
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

/// `/proc` and `/sys` must be the real file systems: a volume in their
/// place could fake the files the runtime writes (sysctls, masked paths,
/// LSM attributes) — the attack class of CVE-2019-16884 and CVE-2019-19921.
fn check_proc_sys(m: &Mount, typ: &str, bind: bool) -> Result<()> {
    let dest = super::paths::lexically_normal(m.destination());
    let refuse = |why: &str| {
        Err(Error::InvalidConfig {
            field: "mounts",
            reason: format!("refusing {typ} mount on {}: {why}", dest.display()),
        })
    };
    if dest == Path::new("/proc") && typ != "proc" {
        return refuse("/proc must be a proc file system");
    }
    if dest.starts_with("/proc") && dest != Path::new("/proc") {
        let allowed = bind && PROC_BIND_ALLOWED.iter().any(|p| dest == Path::new(p));
        if !allowed {
            return refuse("only a few files under /proc may be bind mounted over");
        }
    }
    if dest == Path::new("/sys") && typ != "sysfs" {
        let host_sys = bind && m.source().as_deref() == Some(Path::new("/sys"));
        if !host_sys {
            return refuse("/sys must be sysfs or a bind of the host's /sys");
        }
    }
    Ok(())
}

/// Mount `m` at its destination inside the rootfs.
pub fn mount_entry(ctx: &MountContext<'_>, m: &Mount, extras: &MountExtras<'_>) -> Result<()> {
    let opts = mount_opts::parse(m.options().as_deref().unwrap_or_default());
    let typ = m.typ().as_deref().unwrap_or("");
    let dest = m.destination();
    check_proc_sys(m, typ, typ == "bind" || opts.bind)?;
    if typ == "bind" || opts.bind {
        bind(ctx, m, &opts, extras)
    } else if typ == "cgroup" || typ == "cgroup2" {
        super::cgroup_mount::mount_cgroups(ctx, dest, &opts)
    } else {
        let fd = ensure_in_root(ctx.root, dest, Kind::Dir)?;
        let source = m.source().as_deref().unwrap_or(Path::new(typ));
        let data = (!opts.data.is_empty()).then_some(opts.data.as_str());
        mount(Some(source), &fd_path(&fd), Some(typ), opts.flags, data)
            .map_err(|e| Error::sys(format!("mount {typ} on {}", dest.display()), e))?;
        apply_propagation(ctx, dest, &opts)
    }
}

fn bind(
    ctx: &MountContext<'_>,
    m: &Mount,
    opts: &MountOptions,
    extras: &MountExtras<'_>,
) -> Result<()> {
    let dest = m.destination();
    let source = m.source().as_ref().ok_or_else(|| Error::InvalidConfig {
        field: "mounts",
        reason: format!("bind mount on {} has no source", dest.display()),
    })?;
    let source: PathBuf = if source.is_absolute() {
        source.clone()
    } else {
        ctx.bundle.join(source)
    };
    let meta =
        std::fs::metadata(&source).map_err(|e| Error::io("bind mount source", &source, e))?;
    let kind = if meta.is_dir() { Kind::Dir } else { Kind::File };
    let fd = ensure_in_root(ctx.root, dest, kind)?;
    if let Some(userns) = extras.idmap {
        super::idmap::bind(&source, &fd, opts.recursive, userns)?;
    } else {
        let mut flags = MsFlags::MS_BIND;
        if opts.recursive {
            flags |= MsFlags::MS_REC;
        }
        mount(
            Some(&source),
            &fd_path(&fd),
            None::<&str>,
            flags,
            None::<&str>,
        )
        .map_err(|e| {
            Error::sys(
                format!("bind {} on {}", source.display(), dest.display()),
                e,
            )
        })?;
    }
    // A bind ignores every flag but MS_REC: the flags need a remount of the
    // new mount, which is what the destination now resolves to.
    if !opts.flags.is_empty() {
        remount_bind(ctx, dest, opts.flags)?;
    }
    apply_propagation(ctx, dest, opts)
}

/// Remount the bind mount at `dest` with `flags`, keeping the flags the
/// kernel locks in a user namespace (changing those fails with EPERM).
pub fn remount_bind(ctx: &MountContext<'_>, dest: &Path, flags: MsFlags) -> Result<()> {
    let fd = open_in_root(ctx.root, dest)
        .map_err(|e| Error::sys(format!("resolve {} in rootfs", dest.display()), e))?;
    let path = fd_path(&fd);
    let mut flags = flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT;
    if ctx.in_userns {
        flags |= locked_flags(&path);
    }
    mount(None::<&str>, &path, None::<&str>, flags, None::<&str>)
        .map_err(|e| Error::sys(format!("remount {}", dest.display()), e))
}

/// The mount flags of the file system at `path` that a remount must keep.
pub fn locked_flags(path: &Path) -> MsFlags {
    let Ok(st) = statvfs(path) else {
        return MsFlags::empty();
    };
    let f = st.flags();
    let mut out = MsFlags::empty();
    for (fs, ms) in [
        (FsFlags::ST_RDONLY, MsFlags::MS_RDONLY),
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if f.contains(fs) {
            out |= ms;
        }
    }
    out
}

fn apply_propagation(ctx: &MountContext<'_>, dest: &Path, opts: &MountOptions) -> Result<()> {
    if opts.propagation.is_empty() {
        return Ok(());
    }
    let fd = open_in_root(ctx.root, dest)
        .map_err(|e| Error::sys(format!("resolve {} in rootfs", dest.display()), e))?;
    for p in &opts.propagation {
        mount(None::<&str>, &fd_path(&fd), None::<&str>, *p, None::<&str>)
            .map_err(|e| Error::sys(format!("set propagation of {}", dest.display()), e))?;
    }
    Ok(())
}
