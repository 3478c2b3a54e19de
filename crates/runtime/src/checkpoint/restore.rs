//! `restore`: a container again from a bundle and a checkpoint.

use super::externals::{self, Record, NETNS_KEY};
use super::{criu, CriuFlags};
use crate::container::create::{forwarded_signals, CgroupGuard};
use crate::error::{Error, Result};
use crate::state::{process_start_time, ContainerState, StateRoot};
use nix::sys::signal::SigmaskHow;
use nix::unistd::Pid;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// Options of `restore`.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// The shared criu flags.
    pub criu: CriuFlags,
    /// The container id.
    pub id: String,
    /// The bundle whose config and rootfs the container gets.
    pub bundle: PathBuf,
    /// Return once restored instead of waiting for the container.
    pub detach: bool,
    /// Write the restored init's pid here.
    pub pid_file: Option<PathBuf>,
}

/// Restore container `opts.id`; returns the exit code the runtime should
/// exit with (0 when detached, else the container's). On failure nothing
/// is left behind: no state dir, no cgroup, no process.
pub fn restore(root: &StateRoot, opts: &RestoreOptions) -> Result<i32> {
    let images = &opts.criu.image_path;
    if !images.join("inventory.img").is_file() {
        return Err(Error::Criu {
            action: "restore",
            reason: format!(
                "no checkpoint in {} (inventory.img is missing)",
                images.display()
            ),
        });
    }
    let record = Record::load(images)?;
    let criu = criu::find(opts.criu.criu.as_deref())?;
    let bundle =
        std::fs::canonicalize(&opts.bundle).map_err(|e| Error::io("bundle", &opts.bundle, e))?;
    let spec = crate::spec::load_config(&bundle)?;
    crate::spec::validate(&spec)?;
    if spec.process().as_ref().and_then(|p| p.terminal()) == Some(true) && !opts.criu.shell_job {
        return Err(Error::InvalidConfig {
            field: "process.terminal",
            reason: "restoring a container with a terminal is not supported".into(),
        });
    }
    let rootfs = crate::spec::rootfs_path(&spec, &bundle)?;
    let linux = spec.linux().as_ref();
    let binds = record
        .bind_mounts
        .iter()
        .map(|dest| Ok((dest, externals::bind_source(&spec, &bundle, dest)?)))
        .collect::<Result<Vec<_>>>()?;
    let netns = match (record.external_netns, externals::joined_netns(&spec)) {
        (false, _) => None,
        (true, Some(path)) => Some(open_for_child(&path)?),
        (true, None) => {
            return Err(Error::InvalidConfig {
                field: "linux.namespaces",
                reason: "the checkpoint joined a network namespace; give its path".into(),
            })
        }
    };

    // A fresh rootfs (a restore elsewhere, or under another name) lacks
    // the mount points the runtime made in the old one for file binds.
    make_mount_points(&rootfs, &binds)?;

    let claimed = root.claim(&opts.id)?;
    let (_, cgroup) = CgroupGuard::for_config(linux, &opts.id)?;
    let work = opts.criu.work_dir()?;
    let pid_path = claimed.path().join("criu-restore.pid");
    let mut cmd = opts.criu.command(&criu, "restore", &work, "restore.log");
    cmd.args(["--restore-detached", "--evasive-devices"])
        .arg("--root")
        .arg(&rootfs)
        .arg("--pidfile")
        .arg(&pid_path);
    if let Some(cg) = &cgroup {
        for arg in cgroup_roots(cg.cgroup()) {
            cmd.arg("--cgroup-root").arg(arg);
        }
    }
    for (fd, key) in record.stdio.iter().enumerate() {
        if let Some(key) = key {
            // Our own stdio takes the place of the checkpointed one, as
            // with runc: the caller of `restore` owns the container's I/O.
            cmd.arg("--inherit-fd").arg(format!("fd[{fd}]:{key}"));
        }
    }
    for mount_point in &record.cgroup_binds {
        let source =
            externals::cgroup_source(&spec, cgroup.as_ref().map(|c| c.cgroup()), mount_point)?;
        cmd.arg("--external").arg(format!(
            "mnt[{}]:{}",
            mount_point.display(),
            source.display()
        ));
    }
    for (dest, source) in &binds {
        cmd.arg("--external")
            .arg(format!("mnt[{}]:{}", dest.display(), source.display()));
    }
    if let Some(fd) = &netns {
        cmd.arg("--inherit-fd")
            .arg(format!("fd[{}]:{NETNS_KEY}", fd.as_raw_fd()));
    }
    // In the foreground the restored init must become our child to be
    // waited for: criu detaches it and exits, so it is re-parented to us.
    if !opts.detach {
        nix::sys::prctl::set_child_subreaper(true)
            .map_err(|e| Error::sys("PR_SET_CHILD_SUBREAPER", e))?;
    }
    let mut old_mask = nix::sys::signal::SigSet::empty();
    if !opts.detach {
        nix::sys::signal::pthread_sigmask(
            SigmaskHow::SIG_BLOCK,
            Some(&forwarded_signals()),
            Some(&mut old_mask),
        )
        .map_err(|e| Error::sys("block signals", e))?;
    }
    criu::run("restore", cmd, &work.join("restore.log"))?;
    drop(netns);
    let pid = read_pid(&pid_path)?;
    let _ = std::fs::remove_file(&pid_path);

    let state = ContainerState {
        id: opts.id.clone(),
        pid,
        pid_start: process_start_time(pid).unwrap_or(0),
        bundle,
        rootfs,
        created: crate::time::now_rfc3339(),
        annotations: spec.annotations().clone().unwrap_or_default(),
        cgroup: cgroup.as_ref().map(|c| c.cgroup().clone()),
        hooks: spec.hooks().clone(),
        resources: linux.and_then(|l| l.resources().clone()),
        oci_version: spec.version().clone(),
    };
    let saved = state
        .save(claimed.path())
        .and_then(|()| match &opts.pid_file {
            Some(path) => crate::container::create::write_pid_file(path, pid),
            None => Ok(()),
        });
    if let Err(e) = saved {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        return Err(e);
    }
    claimed.keep();
    if let Some(cg) = cgroup {
        cg.disarm();
    }
    if opts.detach {
        return Ok(0);
    }
    let code = crate::container::run::wait_forwarding(Pid::from_raw(pid), |_| false)?;
    crate::container::lifecycle::destroy(root, &state)?;
    let _ = nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old_mask), None);
    Ok(code)
}

/// `--cgroup-root` values that put the restored tree into the container's
/// cgroup: one path for all hierarchies when they agree (an absolute
/// `cgroupsPath`), else one per v1 controller.
fn cgroup_roots(cg: &crate::cgroups::Cgroup) -> Vec<String> {
    let rel = |h: &crate::cgroups::Hierarchy| {
        let path = h.dir().strip_prefix(h.mountpoint()).unwrap_or(h.dir());
        format!("/{}", path.display())
    };
    let all: Vec<_> = cg.v1_hierarchies().iter().chain(cg.unified()).collect();
    let Some(first) = all.first() else {
        return Vec::new();
    };
    if all.iter().all(|h| rel(h) == rel(first)) {
        return vec![rel(first)];
    }
    cg.v1_hierarchies()
        .iter()
        .filter_map(|h| {
            let controller = h.controllers().split(',').next()?;
            Some(format!("{controller}:{}", rel(h)))
        })
        .collect()
}

/// Open `path` with an fd that a child process inherits.
fn open_for_child(path: &Path) -> Result<OwnedFd> {
    let fd: OwnedFd = std::fs::File::open(path)
        .map_err(|e| Error::io("open", path, e))?
        .into();
    nix::fcntl::fcntl(
        fd.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::empty()),
    )
    .map_err(|e| Error::sys(format!("fcntl {}", path.display()), e))?;
    Ok(fd)
}

fn read_pid(path: &Path) -> Result<i32> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?;
    text.trim().parse().map_err(|_| Error::Criu {
        action: "restore",
        reason: format!("criu wrote no pid to {}", path.display()),
    })
}

/// Make the bind mounts' destinations inside `rootfs` (resolved without
/// leaving it), as directories or empty files like their sources.
fn make_mount_points(rootfs: &Path, binds: &[(&PathBuf, PathBuf)]) -> Result<()> {
    use crate::rootfs::resolve::{ensure_in_root, Kind};
    use std::os::fd::AsFd;
    if binds.is_empty() {
        return Ok(());
    }
    let root: OwnedFd = std::fs::File::open(rootfs)
        .map_err(|e| Error::io("open", rootfs, e))?
        .into();
    for (dest, source) in binds {
        let kind = if source.is_dir() {
            Kind::Dir
        } else {
            Kind::File
        };
        ensure_in_root(root.as_fd(), dest, kind)?;
    }
    Ok(())
}
