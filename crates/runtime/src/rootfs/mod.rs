//! The container's root filesystem: everything mounted under the rootfs,
//! then `pivot_root` into it, then the finishing touches.

mod cgroup_mount;
mod devices;
pub mod idmap;
mod mount_opts;
mod mounts;
mod paths;
mod propagation;
pub mod resolve;

use crate::error::{Error, Result};
use mounts::MountContext;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::fs::File;
use std::os::fd::AsFd;
use std::path::Path;

/// Inputs of the rootfs setup that do not come from the spec.
pub struct RootfsOptions<'a> {
    /// The rootfs directory on the host.
    pub rootfs: &'a Path,
    /// The bundle directory.
    pub bundle: &'a Path,
    /// The container has a new user namespace.
    pub in_userns: bool,
    /// The container has a new cgroup namespace.
    pub cgroupns: bool,
    /// The container's cgroup relative to the hierarchy roots.
    pub cgroup_path: Option<&'a Path>,
    /// `--no-pivot`: move the rootfs over `/` and chroot instead.
    pub no_pivot: bool,
    /// The host's cgroup hierarchies, detected once by the runtime.
    pub cgroup_layout: Option<&'a crate::cgroups::Layout>,
    /// Per mount (same order as `mounts`): the idmap user namespace, if any.
    pub idmaps: &'a [Option<std::os::fd::OwnedFd>],
}

/// Mount everything under the rootfs. Runs in the init, inside its new
/// mount namespace, before anything of the user's runs; [`enter`] follows.
pub fn setup(spec: &Spec, opts: &RootfsOptions<'_>) -> Result<()> {
    let linux = spec.linux().as_ref();
    // Nothing mounted from here on may propagate back to the host.
    let configured = linux.and_then(|l| l.rootfs_propagation().as_deref());
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        propagation::before_pivot(configured),
        None::<&str>,
    )
    .map_err(|e| Error::sys("set the propagation of /", e))?;
    propagation::make_parent_private(opts.rootfs)?;
    // pivot_root needs the new root to be a mount point.
    mount(
        Some(opts.rootfs),
        opts.rootfs,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Error::sys(format!("bind rootfs {}", opts.rootfs.display()), e))?;
    let root = File::open(opts.rootfs).map_err(|e| Error::io("open rootfs", opts.rootfs, e))?;
    let ctx = MountContext {
        root: root.as_fd(),
        bundle: opts.bundle,
        in_userns: opts.in_userns,
        cgroupns: opts.cgroupns,
        cgroup_path: opts.cgroup_path,
        cgroup_layout: opts.cgroup_layout,
    };
    let mut dev_is_tmpfs = false;
    let mut with_proc = false;
    for (i, m) in spec.mounts().iter().flatten().enumerate() {
        let extras = mounts::MountExtras {
            idmap: opts.idmaps.get(i).and_then(Option::as_ref),
        };
        mounts::mount_entry(&ctx, m, &extras)?;
        let is_bind = m.typ().as_deref() == Some("bind")
            || m.options()
                .iter()
                .flatten()
                .any(|o| o == "bind" || o == "rbind");
        if m.destination() == Path::new("/dev") {
            dev_is_tmpfs = !is_bind;
        }
        with_proc |= m.destination() == Path::new("/proc");
    }
    if dev_is_tmpfs {
        let devices = linux
            .and_then(|l| l.devices().as_deref())
            .unwrap_or_default();
        devices::create_devices(root.as_fd(), devices, opts.in_userns)?;
        devices::create_dev_symlinks(root.as_fd(), with_proc)?;
    }
    Ok(())
}

/// Make the prepared rootfs the root of this process: pivot_root, or with
/// `--no-pivot` a move over `/` and chroot; without a mount namespace,
/// only chroot.
pub fn enter(opts: &RootfsOptions<'_>, new_mount_ns: bool) -> Result<()> {
    if !new_mount_ns {
        chroot_only(opts.rootfs)
    } else if opts.no_pivot {
        move_root(opts.rootfs)
    } else {
        pivot_root(opts.rootfs)
    }
}

/// `pivot_root(".", ".")`: the old root ends up mounted over the new one,
/// where it is detached without ever needing a directory for it.
fn pivot_root(rootfs: &Path) -> Result<()> {
    nix::unistd::chdir(rootfs).map_err(|e| Error::sys(format!("chdir {}", rootfs.display()), e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| Error::sys("pivot_root", e))?;
    // Make the old root a slave first so the detach does not propagate
    // unmounts to the host's mounts.
    mount(
        None::<&str>,
        ".",
        None::<&str>,
        MsFlags::MS_SLAVE | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| Error::sys("make old root a slave", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| Error::sys("detach old root", e))?;
    nix::unistd::chdir("/").map_err(|e| Error::sys("chdir /", e))
}

/// `--no-pivot`: for roots on a ramfs, where pivot_root is not allowed.
fn move_root(rootfs: &Path) -> Result<()> {
    nix::unistd::chdir(rootfs).map_err(|e| Error::sys(format!("chdir {}", rootfs.display()), e))?;
    mount(
        Some(rootfs),
        "/",
        None::<&str>,
        MsFlags::MS_MOVE,
        None::<&str>,
    )
    .map_err(|e| Error::sys("move rootfs to /", e))?;
    nix::unistd::chroot(".").map_err(|e| Error::sys("chroot", e))?;
    nix::unistd::chdir("/").map_err(|e| Error::sys("chdir /", e))
}

/// Without a mount namespace: only chroot into the rootfs.
fn chroot_only(rootfs: &Path) -> Result<()> {
    nix::unistd::chroot(rootfs)
        .map_err(|e| Error::sys(format!("chroot {}", rootfs.display()), e))?;
    nix::unistd::chdir("/").map_err(|e| Error::sys("chdir /", e))
}

/// After entering the root: the root's propagation, sysctls, masked and
/// read-only paths, and the read-only root.
pub fn finish(spec: &Spec) -> Result<()> {
    let linux = spec.linux().as_ref();
    // Only in a mount namespace of the container's own: without one `/` is
    // the host's (the rootfs was entered with chroot) and is left alone.
    let own_mount_ns = linux
        .and_then(|l| l.namespaces().as_ref())
        .is_some_and(|ns| ns.iter().any(|n| n.typ() == LinuxNamespaceType::Mount));
    let configured = linux.and_then(|l| l.rootfs_propagation().as_deref());
    if let Some(flags) = propagation::after_pivot(configured).filter(|_| own_mount_ns) {
        mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
            .map_err(|e| Error::sys("set the propagation of the container's /", e))?;
    }
    let mounts_proc = spec
        .mounts()
        .iter()
        .flatten()
        .any(|m| paths::lexically_normal(m.destination()) == Path::new("/proc"));
    if mounts_proc {
        paths::ensure_procfs()?;
    }
    if let Some(linux) = spec.linux() {
        if let Some(sysctl) = linux.sysctl() {
            paths::write_sysctls(sysctl)?;
        }
        if let Some(ro) = linux.readonly_paths() {
            paths::readonly_paths(ro)?;
        }
        if let Some(masked) = linux.masked_paths() {
            paths::mask_paths(masked)?;
        }
    }
    if spec
        .root()
        .as_ref()
        .and_then(|r| r.readonly())
        .unwrap_or(false)
    {
        paths::readonly_root()?;
    }
    Ok(())
}
