//! Opening paths inside the container's root without ever leaving it.
//!
//! Every mount destination is resolved with `openat2(RESOLVE_IN_ROOT)`, so a
//! symlink planted in the image (`/proc -> /`, `dest -> ../../etc`) resolves
//! as if the rootfs were `/` and can never point the runtime at a host path
//! (CVE-2021-30465 and its kin). The mount then targets the resulting file
//! descriptor through `/proc/self/fd/N`, closing the race between checking a
//! path and mounting on it.

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::sys::stat::Mode;
use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// `/proc/self/fd/N` for `fd`, the name a mount call can target.
pub fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `openat2(root, path, O_PATH, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`.
pub fn open_in_root(root: BorrowedFd<'_>, path: &Path) -> std::result::Result<OwnedFd, Errno> {
    let rel = path.strip_prefix("/").unwrap_or(path);
    let rel = if rel.as_os_str().is_empty() {
        Path::new(".")
    } else {
        rel
    };
    let cpath = CString::new(rel.as_os_str().as_bytes()).map_err(|_| Errno::EINVAL)?;
    // SAFETY: open_how is plain data; all-zero is its documented default.
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (libc::O_PATH | libc::O_CLOEXEC) as u64;
    how.resolve = libc::RESOLVE_IN_ROOT | libc::RESOLVE_NO_MAGICLINKS;
    loop {
        // SAFETY: `cpath` is a valid NUL-terminated string and `how` a valid
        // open_how of the size passed; the kernel only reads both.
        let ret = unsafe {
            libc::syscall(
                libc::SYS_openat2,
                root.as_raw_fd(),
                cpath.as_ptr(),
                &how as *const libc::open_how,
                std::mem::size_of::<libc::open_how>(),
            )
        };
        if ret >= 0 {
            // SAFETY: the kernel returned a new descriptor that we now own.
            return Ok(unsafe { OwnedFd::from_raw_fd(ret as i32) });
        }
        match Errno::last() {
            // openat2 asks to retry when a rename raced the lookup.
            Errno::EAGAIN | Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// What [`ensure_in_root`] should leave at the destination if it is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory (mount points of file systems and directory binds).
    Dir,
    /// An empty regular file (binds of files and devices).
    File,
}

/// Open `path` inside `root`, creating it (and missing parents as
/// directories) first. Returns an `O_PATH` descriptor of the final object.
pub fn ensure_in_root(root: BorrowedFd<'_>, path: &Path, kind: Kind) -> Result<OwnedFd> {
    match open_in_root(root, path) {
        Ok(fd) => return Ok(fd),
        Err(Errno::ENOENT) => {}
        Err(e) => {
            return Err(Error::sys(
                format!("resolve {} in rootfs", path.display()),
                e,
            ))
        }
    }
    let (parent, name) = split_last(path)?;
    let parent_fd = ensure_in_root(root, &parent, Kind::Dir)?;
    // The parent is an O_PATH descriptor; *at calls need a real directory fd.
    let dir = nix::fcntl::openat(
        Some(parent_fd.as_raw_fd()),
        ".",
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open {} in rootfs", parent.display()), e))?;
    // SAFETY: `openat` returned a new descriptor that we now own.
    let dir = unsafe { OwnedFd::from_raw_fd(dir) };
    let made = match kind {
        Kind::Dir => nix::sys::stat::mkdirat(
            Some(dir.as_raw_fd()),
            name.as_os_str(),
            Mode::from_bits_truncate(0o755),
        ),
        Kind::File => nix::fcntl::openat(
            Some(dir.as_raw_fd()),
            name.as_os_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_WRONLY | OFlag::O_CLOEXEC | OFlag::O_NOFOLLOW,
            Mode::from_bits_truncate(0o644),
        )
        .map(|fd| drop(unsafe_owned(fd))),
    };
    match made {
        Ok(()) | Err(Errno::EEXIST) => {}
        Err(e) => {
            return Err(Error::sys(
                format!("create {} in rootfs", path.display()),
                e,
            ))
        }
    }
    open_in_root(root, path)
        .map_err(|e| Error::sys(format!("resolve {} in rootfs", path.display()), e))
}

fn unsafe_owned(fd: i32) -> OwnedFd {
    // SAFETY: only called on a descriptor a syscall just returned to us.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// Split `/a/b/c` into (`/a/b`, `c`), refusing `..` and empty names.
fn split_last(path: &Path) -> Result<(PathBuf, PathBuf)> {
    let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
    for c in path.components() {
        match c {
            Component::Normal(n) => parts.push(n),
            Component::ParentDir => {
                parts.pop();
            }
            _ => {}
        }
    }
    let name = parts.pop().ok_or_else(|| Error::InvalidConfig {
        field: "mounts",
        reason: format!("{} resolves to the root itself", path.display()),
    })?;
    let mut parent = PathBuf::from("/");
    parent.extend(parts);
    Ok((parent, PathBuf::from(name)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn symlink_to_host_root_stays_inside() {
        let root = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink("/", root.path().join("escape")).unwrap();
        std::os::unix::fs::symlink("../../../../etc", root.path().join("up")).unwrap();
        std::fs::create_dir(root.path().join("etc")).unwrap();
        let rootfd = std::fs::File::open(root.path()).unwrap();
        let fd = ensure_in_root(rootfd.as_fd(), Path::new("/escape/made-here"), Kind::Dir).unwrap();
        drop(fd);
        assert!(
            root.path().join("made-here").is_dir(),
            "created inside the root"
        );
        assert!(!Path::new("/made-here").exists());
        ensure_in_root(rootfd.as_fd(), Path::new("/up/passwd-target"), Kind::File).unwrap();
        assert!(root.path().join("etc/passwd-target").is_file());
        assert!(!Path::new("/etc/passwd-target").exists());
    }
}
