//! `checkpoint` and `restore` through the `criu` command line.
//!
//! `checkpoint` dumps the container's process tree with its namespaces and
//! mounts (`--root` is the rootfs, so mounts are recorded relative to it),
//! names what lives outside the container as external (see
//! [`externals`]), and unless `--leave-running` removes the container the
//! way runc does: its processes are gone, so is its state. `restore`
//! creates the container again from a bundle: the state dir and cgroup
//! first, then `criu restore --restore-detached` into that cgroup, and the
//! restored init's pid becomes the container's, as `create` would record it.

pub mod criu;
pub mod externals;
mod restore;

pub use restore::{restore, RestoreOptions};

use crate::error::{Error, Result};
use crate::state::{StateRoot, Status};
use externals::{Record, NETNS_KEY};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The criu flags `checkpoint` and `restore` share, as runc spells them.
#[derive(Debug, Clone, Default)]
pub struct CriuFlags {
    /// The criu binary (`--criu`); else `criu` from PATH.
    pub criu: Option<PathBuf>,
    /// Directory of the images.
    pub image_path: PathBuf,
    /// Directory for CRIU's logs and scratch files (default: the images').
    pub work_path: Option<PathBuf>,
    /// Allow open TCP connections.
    pub tcp_established: bool,
    /// Allow unix sockets whose peer is outside the container.
    pub ext_unix_sk: bool,
    /// Allow a controlling terminal from the shell (`--shell-job`).
    pub shell_job: bool,
    /// Dump and restore file locks.
    pub file_locks: bool,
    /// CRIU's cgroup mode: soft, full, strict or ignore (default soft).
    pub manage_cgroups_mode: Option<String>,
}

impl CriuFlags {
    /// The work directory (made if missing).
    fn work_dir(&self) -> Result<PathBuf> {
        let dir = self.work_path.clone().unwrap_or(self.image_path.clone());
        make_dir(&dir)?;
        Ok(dir)
    }

    /// A criu command for `verb` with the shared options.
    fn command(&self, criu: &Path, verb: &str, work: &Path, log: &str) -> Command {
        let mut cmd = Command::new(criu);
        cmd.arg(verb)
            .arg("--images-dir")
            .arg(&self.image_path)
            .arg("--work-dir")
            .arg(work)
            .args(["--log-file", log, "-v4"])
            .stdin(Stdio::null());
        match &self.manage_cgroups_mode {
            Some(mode) => cmd.arg(format!("--manage-cgroups={mode}")),
            None => cmd.arg("--manage-cgroups"),
        };
        for (on, flag) in [
            (self.tcp_established, "--tcp-established"),
            (self.ext_unix_sk, "--ext-unix-sk"),
            (self.shell_job, "--shell-job"),
            (self.file_locks, "--file-locks"),
        ] {
            if on {
                cmd.arg(flag);
            }
        }
        cmd
    }
}

/// Options of `checkpoint` beyond the shared flags.
#[derive(Debug, Clone, Default)]
pub struct CheckpointOptions {
    /// The shared criu flags.
    pub criu: CriuFlags,
    /// Keep the container running after the dump.
    pub leave_running: bool,
    /// Only dump memory (`criu pre-dump`), for a later `--parent-path` dump.
    pub pre_dump: bool,
    /// Images of a previous pre-dump, relative to the image path as runc
    /// takes it.
    pub parent_path: Option<PathBuf>,
}

/// Checkpoint container `id` into `opts.criu.image_path`.
pub fn checkpoint(root: &StateRoot, id: &str, opts: &CheckpointOptions) -> Result<()> {
    let (state, lock) = root.load_locked_in(id, Status::Running, "checkpoint")?;
    let criu = criu::find(opts.criu.criu.as_deref())?;
    let spec = crate::spec::load_config(&state.bundle)?;
    let images = &opts.criu.image_path;
    make_dir(images)?;
    let work = opts.criu.work_dir()?;

    let record = Record {
        stdio: (0..3)
            .map(|fd| externals::stdio_key(state.pid, fd))
            .collect::<Result<_>>()?,
        bind_mounts: externals::bind_destinations(&spec),
        external_netns: externals::joined_netns(&spec).is_some(),
        cgroup_binds: externals::cgroup_binds(&spec, state.pid)?,
    };
    let verb = if opts.pre_dump { "pre-dump" } else { "dump" };
    let log = format!("{verb}.log");
    let mut cmd = opts.criu.command(&criu, verb, &work, &log);
    cmd.arg("--tree")
        .arg(state.pid.to_string())
        .arg("--root")
        .arg(&state.rootfs);
    for key in record.stdio.iter().flatten() {
        // Pipes are dumped with their contents; host files cannot be.
        if key.starts_with("file[") {
            cmd.arg("--external").arg(key);
        }
    }
    for dest in record.bind_mounts.iter().chain(&record.cgroup_binds) {
        let dest = dest.display();
        cmd.arg("--external").arg(format!("mnt[{dest}]:{dest}"));
    }
    if let Some(path) = externals::joined_netns(&spec) {
        let ino = externals::netns_inode(&path)?;
        cmd.arg("--external").arg(format!("net[{ino}]:{NETNS_KEY}"));
    }
    if opts.pre_dump || opts.parent_path.is_some() {
        cmd.arg("--track-mem");
    }
    if let Some(parent) = &opts.parent_path {
        cmd.arg("--prev-images-dir").arg(parent);
    }
    if opts.leave_running && !opts.pre_dump {
        cmd.arg("--leave-running");
    }
    criu::run("checkpoint", cmd, &work.join(&log))?;
    record.save(images)?;
    if opts.leave_running || opts.pre_dump {
        return Ok(());
    }
    // The processes are gone: like runc, the container goes with them.
    crate::container::lifecycle::destroy(root, &state)?;
    drop(lock);
    Ok(())
}

fn make_dir(dir: &Path) -> Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io("create", dir, e))
}
