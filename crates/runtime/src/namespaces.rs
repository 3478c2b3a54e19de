//! Which namespaces a container gets, and how: created by `clone`, created
//! later by `unshare`, or joined by path with `setns`.

use crate::error::{Error, Result};
use nix::sched::{setns, CloneFlags};
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType};
use std::fs::File;
use std::path::PathBuf;

/// How the init process gets its namespaces. Built from the config before
/// anything is created.
#[derive(Debug)]
pub struct NamespacePlan {
    /// Flags for the `clone` that makes the init (new namespaces only).
    pub clone_flags: CloneFlags,
    /// Flags the init `unshare`s after joining the user namespace named by
    /// path (new namespaces must be owned by it, so they cannot be made by
    /// the `clone`).
    pub unshare_flags: CloneFlags,
    /// Namespaces the init joins, user first.
    pub join: Vec<(LinuxNamespaceType, PathBuf)>,
    /// A pid namespace the runtime joins before `clone`, so the init is born
    /// into it (`setns` of a pid namespace only affects children).
    pub join_pid: Option<PathBuf>,
    /// A new user namespace: the parent writes its id maps.
    pub new_user: bool,
    /// A new cgroup namespace: unshared by the init once it is in its cgroup,
    /// so the namespace's root is the container's cgroup.
    pub new_cgroup: bool,
    /// A new time namespace: unshared by the init (clone cannot make one);
    /// it takes effect at exec.
    pub new_time: bool,
    /// A new mount namespace (otherwise the rootfs is entered with chroot).
    pub new_mount: bool,
    /// A new pid namespace: the init is pid 1.
    pub new_pid: bool,
    /// A new uts namespace, needed to set the hostname.
    pub new_uts: bool,
}

fn flag(typ: LinuxNamespaceType) -> CloneFlags {
    match typ {
        LinuxNamespaceType::Mount => CloneFlags::CLONE_NEWNS,
        LinuxNamespaceType::Cgroup => CloneFlags::CLONE_NEWCGROUP,
        LinuxNamespaceType::Uts => CloneFlags::CLONE_NEWUTS,
        LinuxNamespaceType::Ipc => CloneFlags::CLONE_NEWIPC,
        LinuxNamespaceType::User => CloneFlags::CLONE_NEWUSER,
        LinuxNamespaceType::Pid => CloneFlags::CLONE_NEWPID,
        LinuxNamespaceType::Network => CloneFlags::CLONE_NEWNET,
        // Not a clone(2) flag value in nix's set; the same bit unshare takes.
        LinuxNamespaceType::Time => CloneFlags::from_bits_retain(libc::CLONE_NEWTIME),
    }
}

impl NamespacePlan {
    /// Work out the plan for `namespaces` (already validated: no duplicates).
    pub fn new(namespaces: &[LinuxNamespace]) -> Self {
        let mut plan = NamespacePlan {
            clone_flags: CloneFlags::empty(),
            unshare_flags: CloneFlags::empty(),
            join: Vec::new(),
            join_pid: None,
            new_user: false,
            new_cgroup: false,
            new_time: false,
            new_mount: false,
            new_pid: false,
            new_uts: false,
        };
        let user_by_path = namespaces
            .iter()
            .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_some());
        for ns in namespaces {
            let typ = ns.typ();
            if let Some(path) = ns.path() {
                match typ {
                    LinuxNamespaceType::Pid => plan.join_pid = Some(path.clone()),
                    LinuxNamespaceType::User => plan.join.insert(0, (typ, path.clone())),
                    _ => plan.join.push((typ, path.clone())),
                }
                continue;
            }
            match typ {
                LinuxNamespaceType::Cgroup => plan.new_cgroup = true,
                LinuxNamespaceType::Time => plan.new_time = true,
                LinuxNamespaceType::Pid => plan.clone_flags |= flag(typ),
                _ if user_by_path => plan.unshare_flags |= flag(typ),
                _ => plan.clone_flags |= flag(typ),
            }
            match typ {
                LinuxNamespaceType::User => plan.new_user = true,
                LinuxNamespaceType::Mount => plan.new_mount = true,
                LinuxNamespaceType::Pid => plan.new_pid = true,
                LinuxNamespaceType::Uts => plan.new_uts = true,
                _ => {}
            }
        }
        plan
    }

    /// In the init: join the namespaces named by path (user first), then
    /// make the new ones that had to wait for that.
    pub fn enter(&self) -> Result<()> {
        for (typ, path) in &self.join {
            join(*typ, path)?;
        }
        if !self.unshare_flags.is_empty() {
            nix::sched::unshare(self.unshare_flags)
                .map_err(|e| Error::sys("unshare namespaces", e))?;
        }
        Ok(())
    }
}

/// `setns` into the namespace at `path`, checking it is of type `typ`.
pub fn join(typ: LinuxNamespaceType, path: &PathBuf) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io("open namespace", path, e))?;
    setns(file, flag(typ)).map_err(|e| Error::sys(format!("setns {} {}", typ, path.display()), e))
}

/// Write `maps` to `/proc/PID/FILE` (`uid_map` or `gid_map`), one
/// `inside outside count` line each.
pub fn write_id_map(
    pid: nix::unistd::Pid,
    file: &str,
    maps: &[oci_spec::runtime::LinuxIdMapping],
) -> Result<()> {
    let text: String = maps
        .iter()
        .map(|m| format!("{} {} {}\n", m.container_id(), m.host_id(), m.size()))
        .collect();
    let path = format!("/proc/{pid}/{file}");
    std::fs::write(&path, text).map_err(|e| Error::io("write", path, e))
}
