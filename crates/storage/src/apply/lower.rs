//! What a layer needs from the layers below it: hard links to their files
//! (copied up, since layers are separate directories) and the metadata of
//! parent directories an archive did not list. When layers are unpacked in
//! parallel, the layers below are not known yet, so both are deferred to
//! commit time.

use super::resolve::{cname, split_entry_path, walk_existing};
use super::unpack::entry_err;
use crate::error::{Error, Result};
use crate::fsat::{file_type, lstat_at, open_dir};
use rustix::fs::{fchmod, fchown, futimens, FileType, Gid, Mode, Timespec, Timestamps, Uid};
use rustix::io::Errno;
use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};

/// What needs the layers below and was unpacked before they were known
/// (layers unpacked in parallel).
#[derive(Debug)]
pub(crate) enum Deferred {
    /// A hard link whose target was not in its own layer.
    Link {
        entry: String,
        link: Vec<u8>,
        target: Vec<u8>,
    },
    /// A parent directory the archive did not list.
    ParentDir(Vec<u8>),
}

/// Give the directory `path` of the layer at `root` the owner, mode and
/// times of the same directory in the first lower layer that has one.
pub(super) fn adopt_lower_dir(root: BorrowedFd<'_>, lowers: &[PathBuf], path: &[u8]) -> Result<()> {
    let entry = String::from_utf8_lossy(path).into_owned();
    let comps: Vec<&[u8]> = path.split(|b| *b == b'/').collect();
    let ours = match walk_existing(root, &comps, &entry) {
        Ok(Some(fd)) => fd,
        // A later entry replaced or removed it: nothing to adopt.
        Ok(None) | Err(Error::HostileEntry { .. }) => return Ok(()),
        Err(e) => return Err(e),
    };
    for lower in lowers {
        let lroot = open_dir(lower).map_err(entry_err(&entry, "open lower layer"))?;
        let theirs = match walk_existing(lroot.as_fd(), &comps, &entry) {
            Ok(Some(fd)) => fd,
            // Missing there, or not a directory there (our directory hides
            // it): look further down.
            Ok(None) | Err(Error::HostileEntry { .. }) => continue,
            Err(e) => return Err(e),
        };
        let st = rustix::fs::fstat(&theirs).map_err(entry_err(&entry, "stat lower directory"))?;
        fchown(
            &ours,
            Some(Uid::from_raw(st.st_uid)),
            Some(Gid::from_raw(st.st_gid)),
        )
        .map_err(entry_err(&entry, "chown"))?;
        fchmod(&ours, Mode::from_raw_mode(st.st_mode & 0o7777))
            .map_err(entry_err(&entry, "chmod"))?;
        let t = |sec: i64, nsec: u64| Timespec {
            tv_sec: sec,
            tv_nsec: nsec as _,
        };
        let times = Timestamps {
            last_access: t(st.st_atime, st.st_atime_nsec as u64),
            last_modification: t(st.st_mtime, st.st_mtime_nsec as u64),
        };
        futimens(&ours, &times).map_err(entry_err(&entry, "set times"))?;
        return Ok(());
    }
    Ok(())
}

/// Copy `tparent/tc` from the first lower layer that has it to `c` in
/// `dst`. `Ok(false)` when no lower layer has it.
pub(super) fn copy_up(
    lowers: &[PathBuf],
    tparent: &[&[u8]],
    tc: &CStr,
    dst: BorrowedFd<'_>,
    c: &CStr,
    name: &str,
) -> Result<bool> {
    for lower in lowers {
        let root = open_dir(lower).map_err(entry_err(name, "open lower layer"))?;
        let Some(tdir) = walk_existing(root.as_fd(), tparent, name)? else {
            continue;
        };
        match lstat_at(tdir.as_fd(), tc) {
            Ok(st) if file_type(&st) == FileType::RegularFile => {
                crate::driver::copy::copy_file(tdir.as_fd(), tc, dst, c, &st)
                    .map_err(entry_err(name, "copy hard link target from lower layer"))?;
                return Ok(true);
            }
            Ok(_) => {
                return Err(Error::HostileEntry {
                    entry: name.to_string(),
                    reason: "hard link target is not a regular file in a lower layer".into(),
                })
            }
            Err(Errno::NOENT) => continue,
            Err(e) => return Err(entry_err(name, "stat hard link target")(e)),
        }
    }
    Ok(false)
}

/// Finish what was deferred for the layer at `root` now that its lower
/// layers are known. A link whose path a later entry took is dropped.
pub(crate) fn finish_deferred(
    root: &Path,
    lowers: &[PathBuf],
    deferred: &[Deferred],
) -> Result<()> {
    let root_fd = open_dir(root).map_err(|e| Error::Io {
        op: "open layer directory",
        path: root.to_path_buf(),
        source: e.into(),
    })?;
    for d in deferred {
        let (name, link, target) = match d {
            Deferred::ParentDir(path) => {
                adopt_lower_dir(root_fd.as_fd(), lowers, path)?;
                continue;
            }
            Deferred::Link {
                entry,
                link,
                target,
            } => (entry.as_str(), link, target),
        };
        let comps: Vec<&[u8]> = link.split(|b| *b == b'/').collect();
        let tcomps = split_entry_path(target).map_err(|reason| Error::HostileEntry {
            entry: name.to_string(),
            reason: reason.to_string(),
        })?;
        let (Some((last, parent)), Some((tlast, tparent))) =
            (comps.split_last(), tcomps.split_last())
        else {
            continue;
        };
        let Some(dir) = walk_existing(root_fd.as_fd(), parent, name)? else {
            continue;
        };
        let c = cname(name, last)?;
        if lstat_at(dir.as_fd(), c.as_c_str()).is_ok() {
            continue;
        }
        let tc = cname(name, tlast)?;
        if !copy_up(lowers, tparent, &tc, dir.as_fd(), &c, name)? {
            return Err(Error::HostileEntry {
                entry: name.to_string(),
                reason: format!(
                    "hard link target {:?}: does not exist in this layer or below",
                    String::from_utf8_lossy(target)
                ),
            });
        }
    }
    Ok(())
}
