//! What a build's RUN must not leave in the layer: the mountpoints the
//! runtime made for its mounts (`/proc`, `/dev`, `/etc/hosts`, a secret's
//! `/run/secrets/x`, ...) where the image had none, and the run's own
//! `/etc/hosts`, `/etc/hostname` and `/etc/resolv.conf`. Those three are
//! bind-mounted from the bundle, so the command's writes to them land in
//! the bundle's copies; a copy that changed is written back into the root
//! (the command wrote the file, as buildah keeps it), one that did not
//! leaves the root as the image had it. A directory of the image that
//! overlay copied up only to hold such a mountpoint (`/etc` for
//! `/etc/hosts`) is dropped from the layer again once unmounted.

use crate::error::Result;
use crate::rootfs_reader::RootfsReader;
use nix::fcntl::OFlag;
use nix::sys::stat::{fstatat, SFlag};
use nix::unistd::UnlinkatFlags;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// The container files the bundle binds in from its directory.
pub(crate) const ETC_FILES: [(&str, &str); 3] = [
    ("/etc/hosts", "hosts"),
    ("/etc/hostname", "hostname"),
    ("/etc/resolv.conf", "resolv.conf"),
];

/// The root's state before a run, to put back what the run's mounts made.
pub(crate) struct BeforeRun {
    /// Paths (and their parents) of mount destinations missing from the
    /// root, deepest first.
    missing: Vec<String>,
    /// The bundle's copies of the etc files as written: (container path,
    /// bundle file, bytes).
    etc: Vec<(String, PathBuf, Vec<u8>)>,
    /// Directories above mountpoints that the layer did not hold, with
    /// their mode, uid and gid.
    parents: Vec<(String, (u32, u32, u32))>,
}

/// Note which of `destinations` (and their parents) the root lacks, and
/// the bundle's etc files in `dir`.
pub(crate) fn before_run(
    root: &RootfsReader,
    destinations: &[String],
    dir: &Path,
    in_layer: impl Fn(&str) -> bool,
) -> BeforeRun {
    let mut missing: Vec<String> = Vec::new();
    let mut parents = Vec::new();
    for dest in destinations {
        let mut path = String::new();
        for comp in dest.split('/').filter(|c| !c.is_empty() && *c != ".") {
            path.push('/');
            path.push_str(comp);
            if missing.contains(&path) || parents.iter().any(|(p, _)| *p == path) {
                continue;
            }
            match stat_of(root, &path) {
                None => missing.push(path.clone()),
                Some(st) if path != *dest && !in_layer(&path) => parents.push((path.clone(), st)),
                Some(_) => {}
            }
        }
    }
    missing.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    let etc = ETC_FILES
        .iter()
        .filter_map(|(ctr, file)| {
            let host = dir.join(file);
            let bytes = std::fs::read(&host).ok()?;
            Some((ctr.to_string(), host, bytes))
        })
        .collect();
    parents.sort_by_key(|(p, _)| std::cmp::Reverse(p.matches('/').count()));
    BeforeRun {
        missing,
        etc,
        parents,
    }
}

/// Mode, uid and gid of `path` (not followed), or None when absent.
fn stat_of(root: &RootfsReader, path: &str) -> Option<(u32, u32, u32)> {
    let fd = root
        .open_in_root(path, OFlag::O_PATH | OFlag::O_NOFOLLOW)
        .ok()?;
    let st = nix::sys::stat::fstat(fd.as_raw_fd()).ok()?;
    Some((st.st_mode, st.st_uid, st.st_gid))
}

/// Put the root back as [`before_run`] saw it, keeping what the command
/// itself wrote to the etc files. Returns the directories the layer may
/// drop once unmounted (deepest first): the copied-up parents whose mode
/// and owner the command left alone.
pub(crate) fn after_run(root: &RootfsReader, before: &BeforeRun) -> Result<Vec<String>> {
    let mut written = Vec::new();
    for (ctr, host, bytes) in &before.etc {
        let now = std::fs::read(host).unwrap_or_else(|_| bytes.clone());
        if &now != bytes {
            write_in_root(root, ctr, &now)?;
            written.push(ctr.as_str());
        }
    }
    for path in &before.missing {
        if written.contains(&path.as_str()) {
            continue;
        }
        remove_if_empty(root, path)?;
    }
    Ok(before
        .parents
        .iter()
        .filter(|(p, st)| stat_of(root, p) == Some(*st))
        .map(|(p, _)| p.clone())
        .collect())
}

/// Write `bytes` to `path` in the root (created 0644 if missing).
fn write_in_root(root: &RootfsReader, path: &str, bytes: &[u8]) -> Result<()> {
    let fd = root
        .open_in_root(path, OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_TRUNC)
        .map_err(|e| root.error("write", path, e))?;
    std::fs::File::from(fd)
        .write_all(bytes)
        .map_err(|e| root.error("write", path, e))
}

/// Remove the empty directory or empty regular file at `path` (in-root);
/// anything else stays (the command made it its own).
fn remove_if_empty(root: &RootfsReader, path: &str) -> Result<()> {
    let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
    let dir = match root.open_in_root(parent, OFlag::O_PATH | OFlag::O_DIRECTORY) {
        Ok(d) => d,
        Err(_) => return Ok(()),
    };
    let st = match fstatat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    ) {
        Ok(st) => st,
        Err(_) => return Ok(()),
    };
    let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
    let flag = if kind == SFlag::S_IFDIR {
        UnlinkatFlags::RemoveDir
    } else if kind == SFlag::S_IFREG && st.st_size == 0 {
        UnlinkatFlags::NoRemoveDir
    } else {
        return Ok(());
    };
    match nix::unistd::unlinkat(Some(dir.as_raw_fd()), name, flag) {
        Ok(()) | Err(nix::errno::Errno::ENOTEMPTY | nix::errno::Errno::ENOENT) => Ok(()),
        Err(e) => Err(root.error("remove", path, e.into())),
    }
}
