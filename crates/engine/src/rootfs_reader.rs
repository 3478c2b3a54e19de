//! Reading a container's root filesystem from the host without leaving it.
//!
//! An image, and a running container even more, is hostile ground: its
//! `/etc/passwd` may be a symlink to `/etc/passwd`, which `rootfs.join(..)`
//! plus `std::fs` follows to the host's file. A [`RootfsReader`] opens the
//! root once and resolves every path with `openat2(RESOLVE_IN_ROOT |
//! RESOLVE_NO_MAGICLINKS)`, so absolute symlinks and `..` chains resolve as
//! if the rootfs were `/` (what the runtime does for mount destinations)
//! and `/proc/self/root`-style magic links are refused. Needs Linux 5.6.

use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use std::fs::{File, Metadata};
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// A container rootfs opened once (`O_PATH`), read only through lookups
/// that stay inside it.
#[derive(Debug)]
pub struct RootfsReader {
    root: OwnedFd,
    path: PathBuf,
}

impl RootfsReader {
    /// Open the rootfs at host path `rootfs` (the one path taken from the
    /// host's view; everything below it is resolved in-root).
    pub fn open(rootfs: &Path) -> Result<RootfsReader> {
        let fd = nix::fcntl::open(
            rootfs,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| Error::Io {
            op: "open rootfs",
            path: rootfs.into(),
            source: e.into(),
        })?;
        Ok(RootfsReader {
            // SAFETY: open returned a new descriptor that we now own.
            root: unsafe { OwnedFd::from_raw_fd(fd) },
            path: rootfs.into(),
        })
    }

    /// `openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`;
    /// `path` is absolute in the container's view (or relative to its `/`).
    pub fn open_in_root(&self, path: &str, flags: OFlag) -> std::io::Result<OwnedFd> {
        let rel = path.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        let how = OpenHow::new()
            .flags(flags | OFlag::O_CLOEXEC)
            .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
        loop {
            match nix::fcntl::openat2(self.root.as_raw_fd(), rel, how) {
                // SAFETY: openat2 returned a new descriptor that we now own.
                Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
                // The kernel asks for a retry when a rename raced the lookup.
                Err(Errno::EAGAIN | Errno::EINTR) => continue,
                Err(Errno::ENOSYS) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::Unsupported,
                        "openat2 is missing: berth needs Linux 5.6 or later",
                    ))
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// What `path` ends at, symlinks followed inside the root (`stat`).
    pub fn metadata(&self, path: &str) -> std::io::Result<Metadata> {
        File::from(self.open_in_root(path, OFlag::O_PATH)?).metadata()
    }

    /// The directory at `path`, opened for reading (`O_DIRECTORY`).
    pub fn open_dir(&self, path: &str) -> std::io::Result<OwnedFd> {
        self.open_in_root(path, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
    }

    /// The bytes of regular file `path`, or None when it does not exist.
    /// Anything else (a fifo, a device, a directory, a file over `cap`
    /// bytes, a symlink loop) is an error.
    pub fn read_small(&self, path: &str, cap: u64) -> Result<Option<Vec<u8>>> {
        let err = |source| self.error("read", path, source);
        // Looked up as O_PATH and checked before it is opened for reading:
        // opening a fifo would block, a device could act.
        let fd = match self.open_in_root(path, OFlag::O_PATH) {
            Ok(fd) => fd,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => {
                return Ok(None)
            }
            Err(e) => return Err(err(e)),
        };
        let meta = File::from(fd.try_clone().map_err(err)?)
            .metadata()
            .map_err(err)?;
        if !meta.is_file() {
            return Err(err(std::io::Error::other("not a regular file")));
        }
        if meta.len() > cap {
            return Err(err(std::io::Error::other(format!(
                "larger than {cap} bytes"
            ))));
        }
        let mut file = reopen_readable(fd.as_fd()).map_err(err)?;
        let mut bytes = Vec::new();
        file.by_ref()
            .take(cap + 1)
            .read_to_end(&mut bytes)
            .map_err(err)?;
        if bytes.len() as u64 > cap {
            return Err(err(std::io::Error::other(format!(
                "larger than {cap} bytes"
            ))));
        }
        Ok(Some(bytes))
    }

    /// An error about `path` inside this root.
    pub fn error(&self, op: &'static str, path: &str, source: std::io::Error) -> Error {
        Error::InRoot {
            op,
            path: path.into(),
            rootfs: self.path.clone(),
            source,
        }
    }
}

/// Open the file an `O_PATH` descriptor names for reading: through our own
/// `/proc/self/fd`, which names that very inode, so nothing is resolved again.
fn reopen_readable(fd: BorrowedFd<'_>) -> std::io::Result<File> {
    File::open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A root and, outside it, a host canary file the root's links aim at.
    fn hostile() -> (tempfile::TempDir, tempfile::TempDir) {
        let root = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("canary"), "host").unwrap();
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/inside"), "inside").unwrap();
        (root, host)
    }

    #[test]
    fn absolute_symlink_resolves_in_root() {
        let (root, host) = hostile();
        let canary = host.path().join("canary");
        symlink(&canary, root.path().join("etc/abs")).unwrap();
        symlink("/etc/inside", root.path().join("etc/self")).unwrap();
        let r = RootfsReader::open(root.path()).unwrap();
        // The host's canary path does not exist inside the root.
        assert_eq!(r.read_small("/etc/abs", 1024).unwrap(), None);
        assert_eq!(r.read_small("/etc/self", 1024).unwrap().unwrap(), b"inside");
        // The host file stays readable from the host: the test is real.
        assert_eq!(std::fs::read_to_string(&canary).unwrap(), "host");
    }

    #[test]
    fn dotdot_chains_stop_at_the_root() {
        let (root, host) = hostile();
        let up = format!(
            "../../../../../../..{}",
            host.path().join("canary").display()
        );
        symlink(&up, root.path().join("etc/up")).unwrap();
        symlink("../../../../etc/inside", root.path().join("etc/in")).unwrap();
        let r = RootfsReader::open(root.path()).unwrap();
        assert_eq!(r.read_small("/etc/up", 1024).unwrap(), None);
        assert_eq!(r.read_small("/etc/in", 1024).unwrap().unwrap(), b"inside");
        let path = format!("/../../..{}", host.path().join("canary").display());
        assert_eq!(r.read_small(&path, 1024).unwrap(), None);
        assert!(r.metadata("/../../etc/inside").unwrap().is_file());
    }

    #[test]
    fn symlink_loops_are_errors() {
        let (root, _host) = hostile();
        symlink("b", root.path().join("etc/a")).unwrap();
        symlink("a", root.path().join("etc/b")).unwrap();
        symlink("/etc/self-loop", root.path().join("etc/self-loop")).unwrap();
        let r = RootfsReader::open(root.path()).unwrap();
        let e = r.read_small("/etc/a", 1024).unwrap_err();
        assert!(e.to_string().contains("/etc/a"), "{e}");
        assert!(r.read_small("/etc/self-loop", 1024).is_err());
        assert!(r.metadata("/etc/a").is_err());
    }

    #[test]
    fn magic_links_and_odd_files_are_refused() {
        let (root, _host) = hostile();
        symlink("/proc/self/root/etc/passwd", root.path().join("etc/magic")).unwrap();
        nix::unistd::mkfifo(
            &root.path().join("etc/fifo"),
            Mode::from_bits_truncate(0o644),
        )
        .unwrap();
        std::fs::write(root.path().join("etc/big"), vec![b'x'; 2048]).unwrap();
        let r = RootfsReader::open(root.path()).unwrap();
        // /proc is not in this root, so the lookup finds nothing there.
        assert_eq!(r.read_small("/etc/magic", 1024).unwrap(), None);
        let e = r.read_small("/etc/fifo", 1024).unwrap_err();
        assert!(e.to_string().contains("not a regular file"), "{e}");
        let e = r.read_small("/etc/big", 1024).unwrap_err();
        assert!(e.to_string().contains("larger than 1024"), "{e}");
        assert!(r.read_small("/etc", 1024).is_err());
    }

    #[test]
    fn magic_links_in_a_real_proc_are_refused() {
        // /proc/self/root inside a root that has the host's /proc: the
        // kernel's own magic link must not be followed.
        let r = RootfsReader::open(Path::new("/")).unwrap();
        let e = r.metadata("/proc/self/root/etc").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ELOOP), "{e}");
    }
}
