//! Podman's copy-up: a new volume is filled with the image's files at its
//! mount path on first use, owner and mode kept. The image is hostile: the
//! path is resolved in-root ([`RootfsReader`]), and the walk below it opens
//! every entry relative to its parent's descriptor with `O_NOFOLLOW`, so
//! neither the path nor a link inside the tree leads onto the host.
//! Symlinks are copied as symlinks.

use crate::error::{Error, IoContext, Result};
use crate::rootfs_reader::RootfsReader;
use nix::dir::Dir;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{FileStat, Mode, SFlag};
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Fill the empty volume `data` with the files under `dest` in `root`.
/// Nothing to copy when the image has no directory there, or the volume
/// is not empty.
pub(crate) fn copy_up(root: &RootfsReader, dest: &str, data: &Path) -> Result<()> {
    let dir = match root.open_dir(dest) {
        Ok(fd) => fd,
        Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR)) => return Ok(()),
        Err(e) => return Err(root.error("open", dest, e)),
    };
    if std::fs::read_dir(data).ctx("read", data)?.next().is_some() {
        return Ok(());
    }
    let stat =
        nix::sys::stat::fstat(dir.as_raw_fd()).map_err(|e| root.error("stat", dest, e.into()))?;
    let mut walk = Walk { root, dest };
    walk.copy_dir(dir, data)?;
    set_owner_mode(data, &stat)
}

/// A copy in progress; `root` and `dest` name the source in errors.
struct Walk<'a> {
    root: &'a RootfsReader,
    dest: &'a str,
}

impl Walk<'_> {
    fn err(&self, op: &'static str, name: &std::ffi::OsStr, e: nix::errno::Errno) -> Error {
        let path = format!("{}/{}", self.dest, name.to_string_lossy());
        self.root.error(op, &path, e.into())
    }

    /// Copy the entries of the directory `from` (a descriptor it consumes)
    /// into the existing host directory `to`.
    fn copy_dir(&mut self, from: OwnedFd, to: &Path) -> Result<()> {
        // Dir takes the descriptor over: it closes it, on failure too.
        let mut dir = Dir::from_fd(from.into_raw_fd())
            .map_err(|e| self.root.error("read", self.dest, e.into()))?;
        let fd = dir.as_raw_fd();
        let mut names = Vec::new();
        for entry in dir.iter() {
            let entry = entry.map_err(|e| self.root.error("read", self.dest, e.into()))?;
            let name = std::ffi::OsStr::from_bytes(entry.file_name().to_bytes()).to_os_string();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        for name in names {
            self.copy_entry(fd, &name, &to.join(&name))?;
        }
        Ok(())
    }

    fn copy_entry(&mut self, parent: RawFd, name: &std::ffi::OsStr, dst: &Path) -> Result<()> {
        let stat = nix::sys::stat::fstatat(Some(parent), name, AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(|e| self.err("stat", name, e))?;
        match SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT {
            SFlag::S_IFDIR => {
                let child = open_at(parent, name, OFlag::O_DIRECTORY)
                    .map_err(|e| self.err("open", name, e))?;
                std::fs::create_dir(dst).ctx("create", dst)?;
                self.copy_dir(child, dst)?;
            }
            SFlag::S_IFLNK => {
                let target = nix::fcntl::readlinkat(Some(parent), name)
                    .map_err(|e| self.err("readlink", name, e))?;
                std::os::unix::fs::symlink(&target, dst).ctx("symlink", dst)?;
            }
            SFlag::S_IFREG => {
                // O_NONBLOCK: should the entry have turned into a fifo since
                // the stat, the open does not hang; the copy then fails.
                let src = open_at(parent, name, OFlag::O_NONBLOCK)
                    .map_err(|e| self.err("open", name, e))?;
                let mut src = File::from(src);
                let mut out = File::create_new(dst).ctx("create", dst)?;
                std::io::copy(&mut src, &mut out).ctx("copy", dst)?;
            }
            // Devices, fifos, sockets: not what a volume's seed holds.
            _ => return Ok(()),
        }
        set_owner_mode(dst, &stat)
    }
}

/// `openat(parent, name, O_RDONLY | O_NOFOLLOW | flags)`: a symlink in
/// the tree is never followed.
fn open_at(parent: RawFd, name: &std::ffi::OsStr, flags: OFlag) -> nix::Result<OwnedFd> {
    let fd = nix::fcntl::openat(
        Some(parent),
        name,
        OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | flags,
        Mode::empty(),
    )?;
    // SAFETY: openat returned a new descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Give host path `path` the owner and mode of the image's entry.
fn set_owner_mode(path: &Path, stat: &FileStat) -> Result<()> {
    std::os::unix::fs::lchown(path, Some(stat.st_uid), Some(stat.st_gid)).ctx("chown", path)?;
    let is_link = SFlag::from_bits_truncate(stat.st_mode) & SFlag::S_IFMT == SFlag::S_IFLNK;
    if !is_link {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(stat.st_mode & 0o7777))
            .ctx("chmod", path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    fn reader(d: &tempfile::TempDir) -> RootfsReader {
        RootfsReader::open(d.path()).unwrap()
    }

    fn is_empty(p: &Path) -> bool {
        std::fs::read_dir(p).unwrap().next().is_none()
    }

    #[test]
    fn copy_up_keeps_modes_and_links() {
        let root = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        let d = root.path().join("srv/www");
        std::fs::create_dir_all(d.join("sub")).unwrap();
        std::fs::write(d.join("sub/f"), "x").unwrap();
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o711)).unwrap();
        symlink("sub/f", d.join("l")).unwrap();
        copy_up(&reader(&root), "/srv/www", data.path()).unwrap();
        assert_eq!(std::fs::read_to_string(data.path().join("l")).unwrap(), "x");
        let m = std::fs::metadata(data.path()).unwrap();
        assert_eq!(m.mode() & 0o7777, 0o711);
        // A path the image lacks copies nothing.
        let empty = tempfile::tempdir().unwrap();
        copy_up(&reader(&root), "/nope", empty.path()).unwrap();
        assert!(is_empty(empty.path()));
    }

    #[test]
    fn copy_up_stays_in_the_image() {
        let root = tempfile::tempdir().unwrap();
        let host = tempfile::tempdir().unwrap();
        std::fs::write(host.path().join("canary"), "host").unwrap();
        let hostdir = host.path().display().to_string();
        // The volume's own path is a link to the host dir, absolute and
        // through `..`: resolved in the image, where there is nothing.
        std::fs::create_dir(root.path().join("srv")).unwrap();
        symlink(&hostdir, root.path().join("srv/abs")).unwrap();
        symlink(
            format!("../../../..{hostdir}"),
            root.path().join("srv/dots"),
        )
        .unwrap();
        symlink("/srv/loop", root.path().join("srv/loop")).unwrap();
        for dest in [
            "/srv/abs",
            "/srv/dots",
            "/srv/abs/",
            "/../../..",
            "/srv/loop",
        ] {
            let data = tempfile::tempdir().unwrap();
            let r = copy_up(&reader(&root), dest, data.path());
            if dest == "/srv/loop" {
                assert!(r.is_err(), "a loop is an error");
            } else if dest == "/../../.." {
                // The root itself: the image's files, not the host's.
                r.unwrap();
                assert!(data.path().join("srv").is_dir());
                assert!(!data.path().join("canary").exists());
            } else {
                r.unwrap();
                assert!(is_empty(data.path()), "{dest} copied something");
            }
        }
        // Inside the tree, links to the host are copied as links, never
        // followed: the canary's content is nowhere in the volume.
        let d = root.path().join("data");
        std::fs::create_dir(&d).unwrap();
        symlink(host.path().join("canary"), d.join("file-link")).unwrap();
        symlink(&hostdir, d.join("dir-link")).unwrap();
        let data = tempfile::tempdir().unwrap();
        copy_up(&reader(&root), "/data", data.path()).unwrap();
        for l in ["file-link", "dir-link"] {
            let m = std::fs::symlink_metadata(data.path().join(l)).unwrap();
            assert!(m.file_type().is_symlink(), "{l}");
        }
        assert_eq!(std::fs::read_dir(data.path()).unwrap().count(), 2);
        assert_eq!(
            std::fs::read_to_string(host.path().join("canary")).unwrap(),
            "host"
        );
        assert_eq!(std::fs::read_dir(host.path()).unwrap().count(), 1);
    }
}
