//! A container's files from the host: `berth cp` both ways and `export`.
//!
//! The root is mounted for the call (storage counts mounts, so a running
//! container's mount is shared, not undone), and every path the user names
//! is resolved inside it ([`RootfsReader`]: `openat2(RESOLVE_IN_ROOT)`),
//! symlinks included, as if the rootfs were `/`: a link to `/etc` in the
//! container leads to the container's `/etc`, never the host's. Below the
//! directory found that way, storage reads and writes one name at a time
//! without following symlinks.
//!
//! A path under a volume or bind mount of the container (`-v`, `--mount`)
//! is the volume's, as podman's `cp` sees it: the rest of the path is
//! resolved inside the volume's host directory, taken as the root the
//! same way, whether the container runs or not. The mount is found by the
//! path as written (a symlink in the container that leads into a volume
//! is followed in the container's own files).

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::rootfs_reader::RootfsReader;
use nix::fcntl::OFlag;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// What a path in a container is, symlinks followed inside its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// A directory.
    Dir,
    /// Anything else (a file, a device, ...).
    Other,
}

/// How many symlinks a lookup follows, as the kernel's limit.
const MAX_LINKS: usize = 40;

impl Engine {
    /// Run `f` over container `key`'s root, mounted for the call.
    fn with_root<T>(&self, key: &str, f: impl FnOnce(&RootfsReader) -> Result<T>) -> Result<T> {
        let c = self.container(key)?;
        let rootfs = self.store.mount_container(&c.id)?;
        let result = RootfsReader::open(&rootfs).and_then(|r| f(&r));
        let _ = self.store.unmount_container(&c.id, false);
        result
    }

    /// Run `f` over the root that holds `path` of container `key`: the
    /// host directory of the volume or bind mounted deepest above it, with
    /// the path below that mount (`/` for the mount point itself), else
    /// the container's own root and the path. The volume is also given.
    fn with_path_root<T>(
        &self,
        key: &str,
        path: &str,
        f: impl FnOnce(&RootfsReader, &str, Option<&Path>) -> Result<T>,
    ) -> Result<T> {
        let c = self.container(key)?;
        let opts = crate::meta::Meta::of(&c)?.options;
        let comps = clean(path);
        // `O` overlays are the container's own: their writes never reach
        // the host directory.
        let mount = opts
            .volumes
            .iter()
            .filter(|v| !v.options.overlay)
            .map(|v| (clean(&v.destination), v))
            .filter(|(dest, _)| comps.starts_with(dest))
            .max_by_key(|(dest, _)| dest.len());
        let Some((dest, v)) = mount else {
            return self.with_root(key, |root| f(root, path, None));
        };
        let host = if v.source.starts_with('/') {
            PathBuf::from(&v.source)
        } else {
            self.volume(&v.source)?.mountpoint
        };
        let root = RootfsReader::open(&host)?;
        let rest = format!("/{}", comps[dest.len()..].join("/"));
        f(&root, &rest, Some(&host))
    }

    /// What `path` is in container `key`; None when nothing is there.
    pub fn container_path_kind(&self, key: &str, path: &str) -> Result<Option<PathKind>> {
        self.with_path_root(key, path, |root, path, _| match root.metadata(path) {
            Ok(m) if m.is_dir() => Ok(Some(PathKind::Dir)),
            Ok(_) => Ok(Some(PathKind::Other)),
            Err(e) if missing(&e) => Ok(None),
            Err(e) => Err(root.error("stat", path, e)),
        })
    }

    /// Write `path` of container `key` (symlinks followed inside the root)
    /// as a tar to `out`: one top entry, named as the file it resolved to,
    /// and everything below it; the root itself gives its contents with no
    /// top entry. Returns the top entry's name (None for the root).
    pub fn copy_from_container(
        &self,
        key: &str,
        path: &str,
        out: impl Write,
    ) -> Result<Option<String>> {
        self.with_path_root(key, path, |root, path, volume| {
            let mut comps = resolve(root, path)?;
            if let (true, Some(host)) = (comps.is_empty(), volume) {
                // The mount point itself: the volume's directory as the
                // top entry (the caller names it as asked).
                return volume_as_top(host, out);
            }
            let name = comps.pop();
            let dir = format!("/{}", comps.join("/"));
            let fd = root
                .open_dir(&dir)
                .map_err(|e| root.error("open", &dir, e))?;
            let top = name.as_ref().map(|n| n.as_bytes());
            berth_storage::tar_tree(&fd_path(&fd), top, out)?;
            Ok(name)
        })
    }

    /// Unpack the tar `input` into directory `dir` of container `key`
    /// (which must exist; symlinks to it are followed inside the root).
    /// With `chown`, everything becomes the container's user's, as
    /// podman's `cp --archive`.
    pub fn copy_into_container(
        &self,
        key: &str,
        dir: &str,
        input: impl Read + Send,
        chown: bool,
    ) -> Result<()> {
        let owner = if chown {
            Some(self.container_user(key)?)
        } else {
            None
        };
        self.with_path_root(key, dir, |root, dir, _| {
            let fd = root
                .open_in_root(dir, OFlag::O_RDONLY | OFlag::O_DIRECTORY)
                .map_err(|e| root.error("open", dir, e))?;
            berth_storage::untar_into(&fd_path(&fd), input, owner)?;
            Ok(())
        })
    }

    /// The whole filesystem of container `key` as a tar (`berth export`).
    pub fn export(&self, key: &str, out: impl Write) -> Result<()> {
        self.copy_from_container(key, "/", out).map(|_| ())
    }

    /// The uid and gid the container's process runs as, from its
    /// config.json (written again first if the runroot lost it).
    fn container_user(&self, key: &str) -> Result<(u32, u32)> {
        let c = self.container(key)?;
        self.ensure_bundle(&c)?;
        let info = self.inspect(&c.id)?;
        let spec = self.container_spec(&info)?;
        let user = spec
            .as_ref()
            .and_then(|s| s.process().as_ref())
            .map(|p| (p.user().uid(), p.user().gid()));
        user.ok_or_else(|| Error::BundleConfig {
            path: info.bundle.join("config.json"),
            what: "no process user to give the copied files to",
        })
    }
}

/// A tar of the host directory `host` (a volume's, or a bind's source)
/// with itself as the top entry; its name.
fn volume_as_top(host: &Path, out: impl Write) -> Result<Option<String>> {
    let (Some(parent), Some(name)) = (host.parent(), host.file_name()) else {
        return Err(Error::InvalidOption {
            option: "cp",
            value: host.display().to_string(),
            reason: "a volume mounted from / cannot be copied whole".into(),
        });
    };
    berth_storage::tar_tree(parent, Some(name.as_bytes()), out)?;
    Ok(Some(name.to_string_lossy().into_owned()))
}

fn missing(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ENOTDIR))
}

/// The path naming exactly the directory `fd` holds open.
fn fd_path(fd: &OwnedFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}", fd.as_raw_fd()))
}

/// `path` with `.`, `..` and repeated slashes taken away lexically, as
/// components under the root (a `..` at the root stays there, as in-root
/// resolution does).
fn clean(path: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c.to_string()),
        }
    }
    out
}

/// The path `path` ends at, its last symlink followed inside the root (the
/// kernel follows the others): components under the root, empty for the
/// root itself, the last of which is no symlink.
fn resolve(root: &RootfsReader, path: &str) -> Result<Vec<String>> {
    let mut comps = clean(path);
    for _ in 0..MAX_LINKS {
        if comps.is_empty() {
            return Ok(comps);
        }
        let joined = comps.join("/");
        let fd = root
            .open_in_root(&joined, OFlag::O_PATH | OFlag::O_NOFOLLOW)
            .map_err(|e| root.error("stat", path, e))?;
        let target = match nix::fcntl::readlinkat(Some(fd.as_raw_fd()), "") {
            Ok(t) => t,
            // Not a symlink: this is the end. The parents were resolved by
            // the kernel; name them as the real directory in the root.
            Err(nix::errno::Errno::ENOENT | nix::errno::Errno::EINVAL) => return Ok(comps),
            Err(e) => return Err(root.error("readlink", &joined, e.into())),
        };
        let target = target.to_string_lossy().into_owned();
        comps.pop();
        comps = if target.starts_with('/') {
            clean(&target)
        } else {
            clean(&format!("{}/{target}", comps.join("/")))
        };
    }
    Err(root.error(
        "resolve",
        path,
        std::io::Error::from_raw_os_error(libc::ELOOP),
    ))
}
