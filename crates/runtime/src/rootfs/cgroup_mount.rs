//! The `cgroup` mount: the container's view of `/sys/fs/cgroup`.
//!
//! With a cgroup namespace the hierarchies are mounted afresh and show the
//! namespace root (the container's own cgroup); without one the container's
//! cgroup directories are bind mounted from the host.

use super::mount_opts::MountOptions;
use super::mounts::MountContext;
use super::resolve::{ensure_in_root, fd_path, Kind};
use crate::cgroups::Layout;
use crate::error::{Error, Result};
use nix::mount::{mount, MsFlags};
use std::path::{Path, PathBuf};

/// One cgroup hierarchy mounted on the host, as the mount needs it.
struct Hierarchy<'a> {
    /// Where it is mounted, e.g. `/sys/fs/cgroup/memory`.
    mount_point: &'a Path,
    /// `cgroup` or `cgroup2`.
    fstype: &'static str,
    /// Mount options naming the hierarchy, e.g. `memory` or `none,name=systemd`.
    options: String,
}

/// The hierarchies of the layout the runtime detected before the clone (the
/// init reads no mountinfo of its own).
fn host_hierarchies(layout: &Layout) -> Vec<Hierarchy<'_>> {
    let v1 = layout.v1.iter().map(|m| Hierarchy {
        mount_point: &m.mountpoint,
        fstype: "cgroup",
        // A named hierarchy without controllers must say so.
        options: if m.controllers.starts_with("name=") {
            format!("none,{}", m.controllers)
        } else {
            m.controllers.clone()
        },
    });
    let unified = layout.unified.iter().map(|m| Hierarchy {
        mount_point: &m.mountpoint,
        fstype: "cgroup2",
        options: String::new(),
    });
    v1.chain(unified).collect()
}

/// Mount the cgroup file systems at `dest` (normally `/sys/fs/cgroup`).
pub fn mount_cgroups(ctx: &MountContext<'_>, dest: &Path, opts: &MountOptions) -> Result<()> {
    let layout = ctx.cgroup_layout.ok_or_else(|| Error::InvalidConfig {
        field: "mounts",
        reason: "a cgroup mount needs a linux section".into(),
    })?;
    let hierarchies = host_hierarchies(layout);
    let flags = opts.flags;
    if let Some(unified) = hierarchies
        .iter()
        .find(|h| h.mount_point == Path::new("/sys/fs/cgroup"))
    {
        // Pure cgroup v2: one mount.
        return mount_one(ctx, unified, dest, flags);
    }
    // v1 or hybrid: a tmpfs holding one directory per hierarchy.
    let fd = ensure_in_root(ctx.root, dest, Kind::Dir)?;
    let tmpfs_flags =
        (flags & !MsFlags::MS_RDONLY) | MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(
        Some("tmpfs"),
        &fd_path(&fd),
        Some("tmpfs"),
        tmpfs_flags,
        Some("mode=755"),
    )
    .map_err(|e| Error::sys(format!("mount tmpfs on {}", dest.display()), e))?;
    drop(fd);
    for h in &hierarchies {
        let Some(name) = h
            .mount_point
            .strip_prefix("/sys/fs/cgroup")
            .ok()
            .filter(|n| !n.as_os_str().is_empty())
        else {
            continue;
        };
        let target = dest.join(name);
        mount_one(ctx, h, &target, flags)?;
        // Co-mounted controllers (`cpu,cpuacct`) get a link per name.
        let name_str = name.to_string_lossy();
        if name_str.contains(',') {
            for part in name_str.split(',') {
                let link = ctx_path(ctx, &dest.join(part))?;
                let _ = std::os::unix::fs::symlink(name, link);
            }
        }
    }
    if flags.contains(MsFlags::MS_RDONLY) {
        super::mounts::remount_bind(ctx, dest, tmpfs_flags | MsFlags::MS_RDONLY).or_else(|_| {
            let fd = ensure_in_root(ctx.root, dest, Kind::Dir)?;
            mount(
                None::<&str>,
                &fd_path(&fd),
                None::<&str>,
                tmpfs_flags | MsFlags::MS_RDONLY | MsFlags::MS_REMOUNT,
                None::<&str>,
            )
            .map_err(|e| Error::sys(format!("remount {} read-only", dest.display()), e))
        })?;
    }
    Ok(())
}

/// The host path of `dest` inside the rootfs, through its resolved fd.
fn ctx_path(ctx: &MountContext<'_>, dest: &Path) -> Result<PathBuf> {
    let parent = dest.parent().unwrap_or(Path::new("/"));
    let fd = ensure_in_root(ctx.root, parent, Kind::Dir)?;
    let real =
        std::fs::read_link(fd_path(&fd)).map_err(|e| Error::io("readlink", fd_path(&fd), e))?;
    Ok(real.join(dest.file_name().unwrap_or_default()))
}

fn mount_one(ctx: &MountContext<'_>, h: &Hierarchy, target: &Path, flags: MsFlags) -> Result<()> {
    let fd = ensure_in_root(ctx.root, target, Kind::Dir)?;
    // A user namespace may not mount cgroup v1 hierarchies: bind them.
    let result = if ctx.cgroupns && !ctx.in_userns {
        let data = (!h.options.is_empty()).then_some(h.options.as_str());
        mount(Some(h.fstype), &fd_path(&fd), Some(h.fstype), flags, data)
    } else {
        let rel = ctx.cgroup_path.unwrap_or(Path::new("/"));
        let mut source = h.mount_point.join(rel.strip_prefix("/").unwrap_or(rel));
        if !source.exists() {
            source = h.mount_point.to_path_buf();
        }
        mount(
            Some(&source),
            &fd_path(&fd),
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        )
        .and_then(|()| {
            if flags.is_empty() {
                return Ok(());
            }
            let fd = super::resolve::open_in_root(ctx.root, target)?;
            mount(
                None::<&str>,
                &fd_path(&fd),
                None::<&str>,
                flags | MsFlags::MS_BIND | MsFlags::MS_REMOUNT,
                None::<&str>,
            )
        })
    };
    result.map_err(|e| Error::sys(format!("mount {} on {}", h.fstype, target.display()), e))
}
