//! Control groups of a container: v1, hybrid and v2 hosts.
//!
//! [`Cgroup`] is the container's cgroup across every hierarchy it lives in.
//! Its life cycle, as the runtime drives it:
//!
//! 1. [`Cgroup::new`] resolves `linux.cgroupsPath` against the host's
//!    hierarchies (read once from /proc/self/mountinfo; nothing is written).
//!    The value is stored in the container's state so later commands
//!    (`update`, `pause`, `events`, `delete`) need no detection at all.
//! 2. [`Cgroup::create`] makes the directories; [`Cgroup::apply`] writes
//!    the limits (also what `update` calls); [`Cgroup::add_pid`] moves the
//!    container's init in.
//! 3. [`Cgroup::freeze`]/[`Cgroup::thaw`], [`Cgroup::stats`],
//!    [`Cgroup::pids`] while it runs.
//! 4. [`Cgroup::destroy`] removes it all.
//!
//! Modes: on a *legacy* (v1) host every mounted v1 hierarchy that berth
//! knows gets a directory. On a *hybrid* host (v1 plus a cgroup2 mount,
//! like this machine's `/sys/fs/cgroup/unified`) the unified hierarchy
//! gets a directory too, as runc does; controllers no v1 hierarchy binds
//! but the unified one offers (hugetlb here) are set there. On a *unified*
//! (v2) host there is one directory, with every available controller
//! enabled in its parents' `cgroup.subtree_control`, as runc does.

mod devices;
mod devices_bpf;
mod error;
mod freezer;
mod fsutil;
mod layout;
mod stats;
mod v1;
mod v2;

#[cfg(test)]
mod tests;

use std::cell::RefCell;
use std::path::{Path, PathBuf};

use oci_spec::runtime::LinuxResources;
use serde::{Deserialize, Serialize};

pub use error::{Error, Result};
pub use layout::{Layout, Mode, Mount};
pub use stats::{
    BlkioEntry, BlkioStats, CpuStats, CpuUsage, HugetlbStats, MemoryEntry, MemoryStats, PidsStats,
    Stats, Throttling,
};

use layout::CgroupPath;

/// The container's directory in one hierarchy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hierarchy {
    /// Controllers of the hierarchy (`cpu,cpuacct`, `name=systemd`); empty
    /// for the unified one.
    controllers: String,
    /// Where the hierarchy is mounted.
    mount: PathBuf,
    /// The container's cgroup directory in it.
    dir: PathBuf,
}

impl Hierarchy {
    /// Controllers bound to this hierarchy, comma separated; empty for
    /// cgroup2.
    pub fn controllers(&self) -> &str {
        &self.controllers
    }
    /// The hierarchy's mount point.
    pub fn mountpoint(&self) -> &Path {
        &self.mount
    }
    /// The container's cgroup directory in this hierarchy.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
    fn has(&self, controller: &str) -> bool {
        self.controllers.split(',').any(|c| c == controller)
    }
}

/// The control group of one container, across every hierarchy it lives in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cgroup {
    /// The host's layout.
    mode: Mode,
    /// The v1 hierarchies (legacy and hybrid modes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    v1: Vec<Hierarchy>,
    /// The unified hierarchy (hybrid and unified modes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    unified: Option<Hierarchy>,
    /// Parent directories [`Cgroup::create`] made on the way to the
    /// container's own (a `cgroupsPath` of `/a/b/c` where `/a/b` did not
    /// exist), deepest first: they are resources of the container's
    /// `create`, which the spec says `delete` MUST remove. Recorded through
    /// a cell because `create` works on a shared reference; saved with the
    /// state like the rest.
    #[serde(default, skip_serializing_if = "made_nothing")]
    made_parents: RefCell<Vec<PathBuf>>,
}

fn made_nothing(made: &RefCell<Vec<PathBuf>>) -> bool {
    made.borrow().is_empty()
}

impl Cgroup {
    /// Resolve `linux.cgroupsPath` for container `id` on this host.
    ///
    /// Absolute paths are used as they are under each hierarchy; relative
    /// ones (and an empty path, which means `<id>`) are relative to the
    /// calling process's own cgroup in each hierarchy, as runc does;
    /// systemd-style `slice:prefix:name` maps to
    /// `/<expanded slice>/<prefix>-<name>.scope` on cgroupfs (berth has no
    /// systemd driver; the directories are made directly, nothing is asked
    /// of systemd). Detects v1 / hybrid / v2 with one statfs of
    /// /sys/fs/cgroup and, unless it is v2, one read of
    /// /proc/self/mountinfo. Changes nothing on disk.
    pub fn new(cgroups_path: &str, id: &str) -> Result<Cgroup> {
        let layout = Layout::detect()?;
        Cgroup::with_layout(&layout, cgroups_path, id)
    }

    /// [`Cgroup::new`] over a layout detected (or built) beforehand: tests
    /// point it at a temporary directory laid out like cgroupfs.
    pub fn with_layout(layout: &Layout, cgroups_path: &str, id: &str) -> Result<Cgroup> {
        let path = layout::parse_cgroups_path(cgroups_path, id)?;
        let own_text = match path {
            CgroupPath::Relative(_) => Some(fsutil::read_path(Path::new("/proc/self/cgroup"))?),
            CgroupPath::Absolute(_) => None,
        };
        let own = own_text
            .as_deref()
            .map(layout::parse_proc_cgroup)
            .unwrap_or_default();
        let hierarchy = |m: &Mount| -> Result<Hierarchy> {
            let mine = layout::own_path(&own, &m.controllers);
            Ok(Hierarchy {
                controllers: m.controllers.clone(),
                mount: m.mountpoint.clone(),
                dir: layout::cgroup_dir(m, &path, mine)?,
            })
        };
        let v1 = layout
            .v1
            .iter()
            .map(hierarchy)
            .collect::<Result<Vec<_>>>()?;
        let unified = layout.unified.as_ref().map(hierarchy).transpose()?;
        Ok(Cgroup {
            mode: layout.mode,
            v1,
            unified,
            made_parents: RefCell::default(),
        })
    }

    /// The host's layout this cgroup was resolved on.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The v1 hierarchies (empty on a v2 host): what to bind into a
    /// container's /sys/fs/cgroup.
    pub fn v1_hierarchies(&self) -> &[Hierarchy] {
        &self.v1
    }

    /// The cgroup in the unified hierarchy (hybrid and v2 hosts).
    pub fn unified(&self) -> Option<&Hierarchy> {
        self.unified.as_ref()
    }

    /// The container's directory in the v1 hierarchy of `controller`.
    pub(crate) fn v1_dir(&self, controller: &str) -> Option<&Path> {
        self.v1
            .iter()
            .find(|h| h.has(controller))
            .map(|h| h.dir.as_path())
    }

    /// The error for a resource whose controller is missing.
    pub(crate) fn missing(&self, resource: &'static str, controller: &'static str) -> Error {
        let mount = self
            .v1
            .first()
            .or(self.unified.as_ref())
            .map(|h| h.mount.parent().unwrap_or(&h.mount).to_path_buf())
            .unwrap_or_default();
        Error::ControllerMissing {
            resource,
            controller,
            mount,
        }
    }

    fn all(&self) -> impl Iterator<Item = &Hierarchy> {
        self.v1.iter().chain(self.unified.iter())
    }

    /// Make the directories (mkdir -p) in every hierarchy. v1 cpuset
    /// directories get their parent's cpus and mems (a new cpuset cgroup is
    /// empty and would refuse tasks). On v2 every controller the root
    /// offers is enabled in the parents' `cgroup.subtree_control`. On
    /// failure the directories made so far are removed again.
    pub fn create(&self) -> Result<()> {
        let mut created = Vec::new();
        let result = self.create_inner(&mut created);
        if result.is_err() {
            for dir in created.iter().rev() {
                let _ = std::fs::remove_dir(dir);
            }
            return result;
        }
        let leaves: Vec<&Path> = self.all().map(|h| h.dir.as_path()).collect();
        let mut parents: Vec<PathBuf> = created
            .into_iter()
            .filter(|d| !leaves.contains(&d.as_path()))
            .collect();
        parents.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        *self.made_parents.borrow_mut() = parents;
        Ok(())
    }

    fn create_inner(&self, created: &mut Vec<PathBuf>) -> Result<()> {
        for h in &self.v1 {
            let first = created.len();
            fsutil::mkdir_p(&h.dir, created)?;
            if h.has("cpuset") {
                for dir in &created[first..] {
                    v1::init_cpuset(dir)?;
                }
            }
        }
        if let Some(u) = &self.unified {
            fsutil::mkdir_p(&u.dir, created)?;
            if self.mode == Mode::Unified {
                v2::enable_all_controllers(&u.mount, &u.dir)?;
            }
        }
        Ok(())
    }

    /// Write every limit of `resources`: used at create and by `update`.
    ///
    /// Unset fields (and zero values, which runc reads as unset) are not
    /// written. The device allow-list is always programmed: the spec's
    /// rules, then the devices runc allows in every container, starting
    /// from deny-all; on v1 through devices.deny/devices.allow, on v2 as an
    /// eBPF program that replaces the one attached before. So `update`
    /// must pass the container's whole resources, not just the change.
    pub fn apply(&self, resources: &LinuxResources) -> Result<()> {
        match self.mode {
            Mode::Legacy | Mode::Hybrid => v1::apply(self, resources),
            Mode::Unified => {
                let u = self
                    .unified
                    .as_ref()
                    .ok_or_else(|| self.missing("resources", "unified"))?;
                v2::apply(u, resources)
            }
        }
    }

    /// Move `pid` into the cgroup in every hierarchy.
    pub fn add_pid(&self, pid: i32) -> Result<()> {
        let pid = pid.to_string();
        for h in self.all() {
            fsutil::write(&h.dir, "cgroup.procs", &pid)?;
        }
        Ok(())
    }

    /// The hierarchy whose cgroup.procs lists the container's processes:
    /// the unified one when there is one (it tracks every process whatever
    /// the controllers), else a v1 one.
    fn pid_dir(&self) -> Option<&Path> {
        if let Some(u) = &self.unified {
            return Some(&u.dir);
        }
        ["pids", "freezer", "memory", "cpu", "devices"]
            .iter()
            .find_map(|c| self.v1_dir(c))
            .or_else(|| self.v1.first().map(|h| h.dir.as_path()))
    }

    /// Every pid in the cgroup and the cgroups below it (for `ps` and
    /// `kill --all`). A cgroup that does not exist has no pids.
    pub fn pids(&self) -> Result<Vec<i32>> {
        let mut out = Vec::new();
        if let Some(dir) = self.pid_dir() {
            collect_pids(dir, &mut out)?;
        }
        Ok(out)
    }

    /// Freeze every process (`pause`): v1 freezer.state FROZEN, waiting
    /// until it settles; v2 cgroup.freeze, waiting for cgroup.events.
    pub fn freeze(&self) -> Result<()> {
        freezer::set(self, true)
    }

    /// Thaw the processes (`resume`).
    pub fn thaw(&self) -> Result<()> {
        freezer::set(self, false)
    }

    /// Whether the cgroup is frozen now (`state` reports "paused").
    pub fn is_frozen(&self) -> Result<bool> {
        freezer::is_frozen(self)
    }

    /// Statistics shaped like runc's `events --stats` data object.
    pub fn stats(&self) -> Result<Stats> {
        stats::collect(self)
    }

    /// Remove the directories everywhere, child cgroups first, retrying
    /// briefly on EBUSY while the last tasks exit, then the parents
    /// `create` made. A cgroup already gone is fine. Every hierarchy is
    /// tried; the first error is returned.
    pub fn destroy(&self) -> Result<()> {
        let result = fsutil::remove_cgroups(self.all().map(|h| h.dir.as_path()));
        // The parents `create` made go too, deepest first, unless another
        // container now lives under one: a plain rmdir, which refuses a
        // directory that is not empty (never the recursive removal above).
        for dir in self.made_parents.borrow().iter() {
            let _ = std::fs::remove_dir(dir);
        }
        result
    }

    /// Whether no process is left in the cgroup (or below it). One read of
    /// cgroup.events where there is a unified hierarchy. A cgroup that does
    /// not exist is empty.
    pub fn is_empty(&self) -> Result<bool> {
        if let Some(u) = &self.unified {
            return match fsutil::read_opt(&u.dir, "cgroup.events")? {
                Some(events) => Ok(!events.lines().any(|l| l == "populated 1")),
                None => Ok(true),
            };
        }
        Ok(self.pids()?.is_empty())
    }
}

fn collect_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    let Some(procs) = fsutil::read_opt(dir, "cgroup.procs")? else {
        return Ok(());
    };
    for line in procs.lines() {
        let pid = line.trim().parse().map_err(|_| Error::Parse {
            path: dir.join("cgroup.procs"),
            content: line.to_owned(),
        })?;
        out.push(pid);
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(Error::Read {
                path: dir.to_path_buf(),
                source,
            })
        }
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            collect_pids(&entry.path(), out)?;
        }
    }
    Ok(())
}
