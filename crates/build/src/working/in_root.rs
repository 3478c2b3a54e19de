//! Paths in a working container's root, resolved inside it
//! (`openat2(RESOLVE_IN_ROOT)`): a symlink in the image to `/etc` leads
//! to the container's `/etc`, never the host's.

use nix::errno::Errno;
use nix::fcntl::{OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// A working container's mounted root, opened once.
pub(crate) struct Root {
    fd: OwnedFd,
}

impl Root {
    /// Open the root at host path `rootfs`.
    pub(crate) fn at(rootfs: &Path) -> std::io::Result<Root> {
        let fd = nix::fcntl::open(
            rootfs,
            OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
            Mode::empty(),
        )?;
        // SAFETY: open returned a new descriptor that we now own.
        Ok(Root {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// `openat2(root, path, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`.
    pub(crate) fn open(&self, path: &str, flags: OFlag) -> std::io::Result<OwnedFd> {
        open_beneath(&self.fd, path, flags)
    }

    /// The directory `path`, made (0755, owned by root) with its missing
    /// parents, opened as `O_PATH`. A dangling symlink on the way has its
    /// target made, inside the root, as the copy would follow it.
    pub(crate) fn mkdir_all(&self, path: &str) -> std::io::Result<OwnedFd> {
        self.mkdir_all_following(path, 0)
    }

    fn mkdir_all_following(&self, path: &str, depth: usize) -> std::io::Result<OwnedFd> {
        // The kernel's own limit on symlinks in one lookup.
        if depth > 40 {
            return Err(Errno::ELOOP.into());
        }
        let mut cur = String::from("/");
        let mut dir = self.open(&cur, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
        for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
            let next = format!("{}/{comp}", cur.trim_end_matches('/'));
            match self.open(&next, OFlag::O_PATH | OFlag::O_DIRECTORY) {
                Ok(fd) => dir = fd,
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    match nix::sys::stat::mkdirat(
                        Some(dir.as_raw_fd()),
                        comp,
                        Mode::from_bits_truncate(0o755),
                    ) {
                        Ok(()) => {}
                        Err(Errno::EEXIST) => {
                            // A dangling symlink: make what it points at.
                            let target = nix::fcntl::readlinkat(Some(dir.as_raw_fd()), comp)?;
                            let target = target.to_string_lossy();
                            let target = if target.starts_with('/') {
                                target.into_owned()
                            } else {
                                format!("{cur}/{target}")
                            };
                            self.mkdir_all_following(&target, depth + 1)?;
                        }
                        Err(e) => return Err(e.into()),
                    }
                    dir = self.open(&next, OFlag::O_PATH | OFlag::O_DIRECTORY)?;
                }
                Err(e) => return Err(e),
            }
            cur = next;
        }
        Ok(dir)
    }

    /// Whether `path` is a directory (symlinks followed in-root).
    pub(crate) fn is_dir(&self, path: &str) -> bool {
        self.open(path, OFlag::O_PATH | OFlag::O_DIRECTORY).is_ok()
    }

    /// The bytes of the small file `path`, or None.
    pub(crate) fn read(&self, path: &str) -> Option<Vec<u8>> {
        use std::io::Read;
        let fd = self.open(path, OFlag::O_RDONLY | OFlag::O_NONBLOCK).ok()?;
        let mut f = std::fs::File::from(fd);
        if !f.metadata().ok()?.is_file() {
            return None;
        }
        let mut out = Vec::new();
        f.by_ref().take(4 << 20).read_to_end(&mut out).ok()?;
        Some(out)
    }
}

fn open_beneath(root: &OwnedFd, path: &str, flags: OFlag) -> std::io::Result<OwnedFd> {
    let rel = path.trim_start_matches('/');
    let rel = if rel.is_empty() { "." } else { rel };
    let how = OpenHow::new()
        .flags(flags | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    loop {
        match nix::fcntl::openat2(root.as_raw_fd(), rel, how) {
            // SAFETY: openat2 returned a new descriptor that we now own.
            Ok(fd) => return Ok(unsafe { OwnedFd::from_raw_fd(fd) }),
            Err(Errno::EAGAIN | Errno::EINTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// The path naming exactly what `fd` holds open.
pub(crate) fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `path` in the container made absolute against `workdir`, `.` and `..`
/// taken away lexically (a `..` at `/` stays there); a trailing `/` kept.
pub(crate) fn absolute(path: &str, workdir: &str) -> String {
    let joined = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("{}/{path}", workdir.trim_end_matches('/'))
    };
    let mut out: Vec<&str> = Vec::new();
    for c in joined.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    let mut s = format!("/{}", out.join("/"));
    if path.ends_with('/') && s != "/" {
        s.push('/');
    }
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn absolute_paths() {
        use super::absolute;
        assert_eq!(absolute("a/b", "/w"), "/w/a/b");
        assert_eq!(absolute("../../x/", "/w"), "/x/");
        assert_eq!(absolute("/a/./b/..", "/"), "/a");
        assert_eq!(absolute(".", "/"), "/");
    }
}
