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
    /// The container has a mount namespace of its own, new or joined by
    /// path: the rootfs is set up in it and entered with pivot_root, as
    /// runc does for a joined one (otherwise the rootfs is entered with
    /// chroot and the host's mounts are left alone).
    pub new_mount: bool,
    /// A new pid namespace: the init is pid 1.
    pub new_pid: bool,
    /// The container has a uts namespace of its own, new or joined by path:
    /// only then may `hostname` and `domainname` be set (never the host's).
    pub new_uts: bool,
    /// A new network namespace: its loopback starts down, and the init
    /// brings it up (as crun does; a joined one is its owner's to set up).
    pub new_net: bool,
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
            new_net: false,
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
                // A joined mount or uts namespace is the container's own
                // (the spec puts the process in it): the rootfs and the
                // hostname are set up there as in a new one.
                match typ {
                    LinuxNamespaceType::Mount => plan.new_mount = true,
                    LinuxNamespaceType::Uts => plan.new_uts = true,
                    _ => {}
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
                LinuxNamespaceType::Network => plan.new_net = true,
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

/// The type of the namespace file at `path`, from `ioctl(NS_GET_NSTYPE)`,
/// so a path of the wrong type is refused before anything is created (the
/// spec: the runtime MUST generate an error if `path` is not associated
/// with a namespace of type `type`).
pub fn namespace_type_of(path: &std::path::Path) -> Result<LinuxNamespaceType> {
    use std::os::fd::AsRawFd;
    // NS_GET_NSTYPE = _IO(0xb7, 0x3) in <linux/nsfs.h>.
    const NS_GET_NSTYPE: libc::c_ulong = 0xb703;
    let file = File::open(path).map_err(|e| Error::io("open namespace", path, e))?;
    // SAFETY: NS_GET_NSTYPE takes no argument and only returns a value; the
    // descriptor is open for the duration of the call.
    let ret = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE as _) };
    if ret < 0 {
        return Err(Error::InvalidConfig {
            field: "linux.namespaces",
            reason: format!(
                "{} is not a namespace file: {}",
                path.display(),
                nix::errno::Errno::last()
            ),
        });
    }
    let all = [
        LinuxNamespaceType::Mount,
        LinuxNamespaceType::Cgroup,
        LinuxNamespaceType::Uts,
        LinuxNamespaceType::Ipc,
        LinuxNamespaceType::User,
        LinuxNamespaceType::Pid,
        LinuxNamespaceType::Network,
        LinuxNamespaceType::Time,
    ];
    all.into_iter()
        .find(|t| flag(*t).bits() == ret)
        .ok_or_else(|| Error::InvalidConfig {
            field: "linux.namespaces",
            reason: format!("{} is a namespace of unknown type {ret:#x}", path.display()),
        })
}

/// Whether this process runs in a user namespace other than the host's
/// (its uid_map is not the identity over every id): root there cannot
/// make device nodes, mount sysfs of the host's network or write the
/// host's cgroups, whatever its uid.
pub fn running_in_userns() -> bool {
    static IN: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IN.get_or_init(|| {
        std::fs::read_to_string("/proc/self/uid_map")
            .is_ok_and(|map| map.split_whitespace().collect::<Vec<_>>() != ["0", "0", "4294967295"])
    })
}

/// Root of the host: euid 0 in the host's user namespace.
pub fn host_root() -> bool {
    nix::unistd::geteuid().is_root() && !running_in_userns()
}
