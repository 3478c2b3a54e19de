//! Idmapped bind mounts (`mounts[].uidMappings`/`gidMappings`): the files of
//! the source show up with their owners shifted through a user namespace,
//! without chowning anything (Linux 5.12+ `mount_setattr(MOUNT_ATTR_IDMAP)`).

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::waitpid;
use oci_spec::runtime::{LinuxIdMapping, Mount};
use std::ffi::CString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

const OPEN_TREE_CLONE: libc::c_uint = 1;
const AT_RECURSIVE: libc::c_uint = 0x8000;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x4;
const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x40;

/// `struct mount_attr` of mount_setattr(2).
#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// One user-namespace descriptor per mount that asks for an idmap (None
/// for the others), made by the runtime before the init is cloned.
pub fn prepare(mounts: &[Mount]) -> Result<Vec<Option<OwnedFd>>> {
    mounts
        .iter()
        .map(|m| match (m.uid_mappings(), m.gid_mappings()) {
            (Some(u), Some(g)) => userns_with(u, g).map(Some),
            (None, None) => Ok(None),
            _ => Err(Error::InvalidConfig {
                field: "mounts",
                reason: format!(
                    "{}: uidMappings and gidMappings must be given together",
                    m.destination().display()
                ),
            }),
        })
        .collect()
}

/// A user namespace with these maps, kept alive by its descriptor: a child
/// is cloned into a new one, its maps written, the namespace opened, and the
/// child killed.
fn userns_with(uid: &[LinuxIdMapping], gid: &[LinuxIdMapping]) -> Result<OwnedFd> {
    let flags = nix::sched::CloneFlags::CLONE_NEWUSER.bits();
    let Some(pid) = crate::container::create::clone_process(flags)? else {
        // The child only holds the namespace open until it is killed.
        loop {
            // SAFETY: pause takes no arguments.
            unsafe { libc::pause() };
        }
    };
    let result = (|| {
        crate::namespaces::write_id_map(pid, "uid_map", uid)?;
        crate::namespaces::write_id_map(pid, "gid_map", gid)?;
        let path = format!("/proc/{pid}/ns/user");
        std::fs::File::open(&path)
            .map(OwnedFd::from)
            .map_err(|e| Error::io("open", path, e))
    })();
    let _ = kill(pid, Signal::SIGKILL);
    let _ = waitpid(pid, None);
    result
}

/// Bind `source` onto `target` (an `O_PATH` descriptor inside the rootfs)
/// as an idmapped mount through `userns`.
pub fn bind(source: &Path, target: &OwnedFd, recursive: bool, userns: &OwnedFd) -> Result<()> {
    let csource =
        CString::new(source.as_os_str().as_bytes()).map_err(|_| Error::InvalidConfig {
            field: "mounts",
            reason: "NUL in source".into(),
        })?;
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: open_tree reads the NUL-terminated path; returns a new fd.
    let tree =
        unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, csource.as_ptr(), flags) };
    if tree < 0 {
        return Err(Error::sys(
            format!("open_tree {}", source.display()),
            Errno::last(),
        ));
    }
    // SAFETY: the kernel returned a new descriptor that we now own.
    let tree = unsafe { OwnedFd::from_raw_fd(tree as i32) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    let empty = c"";
    let at_flags = libc::AT_EMPTY_PATH as libc::c_uint | if recursive { AT_RECURSIVE } else { 0 };
    // SAFETY: mount_setattr reads `size` bytes of the attr we own.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            empty.as_ptr(),
            at_flags,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if ret < 0 {
        return Err(Error::sys(
            format!("idmap mount of {}", source.display()),
            Errno::last(),
        ));
    }
    // SAFETY: move_mount reads the two NUL-terminated paths.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            empty.as_ptr(),
            target.as_raw_fd(),
            empty.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if ret < 0 {
        return Err(Error::sys(
            format!("attach idmapped {}", source.display()),
            Errno::last(),
        ));
    }
    Ok(())
}
