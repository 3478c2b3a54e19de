//! Finding what a layer changed: for overlay, the upper directory is the
//! change set (whiteout devices and opaque xattrs mark deletions); for vfs,
//! the layer is compared with its parent's full copy.

use super::{Change, ChangeKind};
use crate::error::{IoContext, Result};
use crate::fsat::{file_type, lstat_at, open_dir, open_dir_at, read_names};
use rustix::fs::{fgetxattr, readlinkat, FileType, Stat};
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

fn join(prefix: &[u8], name: &CString) -> Vec<u8> {
    let mut p = prefix.to_vec();
    if !p.is_empty() {
        p.push(b'/');
    }
    p.extend_from_slice(name.as_bytes());
    p
}

/// The changes recorded in an overlay upper directory.
pub(crate) fn upper_changes(upper: &Path) -> Result<Vec<Change>> {
    let root = open_dir(upper).ctx("open layer", upper)?;
    let mut out = Vec::new();
    walk_upper(root.as_fd(), b"", &mut out).ctx("read layer changes in", upper)?;
    Ok(out)
}

fn walk_upper(dir: BorrowedFd<'_>, prefix: &[u8], out: &mut Vec<Change>) -> rustix::io::Result<()> {
    for name in read_names(dir)? {
        let st = lstat_at(dir, name.as_c_str())?;
        let path = join(prefix, &name);
        match file_type(&st) {
            FileType::CharacterDevice if st.st_rdev == 0 => out.push(Change {
                path,
                kind: ChangeKind::Whiteout,
            }),
            FileType::Directory => {
                let sub = open_dir_at(dir, name.as_c_str())?;
                out.push(Change {
                    path: path.clone(),
                    kind: ChangeKind::Entry,
                });
                let mut v = [0u8; 4];
                if let Ok(n) = fgetxattr(&sub, crate::overlay_xattrs::opaque(), &mut v[..]) {
                    if &v[..n] == b"y" {
                        out.push(Change {
                            path: path.clone(),
                            kind: ChangeKind::Opaque,
                        });
                    }
                }
                walk_upper(sub.as_fd(), &path, out)?;
            }
            _ => out.push(Change {
                path,
                kind: ChangeKind::Entry,
            }),
        }
    }
    Ok(())
}

/// The changes of the tree `upper` relative to the tree `lower` (none: an
/// empty tree). A directory is listed when it changed itself or holds a
/// change, as overlay's copy-up would have put it in the upper directory,
/// so both drivers give the same diff for the same change.
pub(crate) fn compare_changes(upper: &Path, lower: Option<&Path>) -> Result<Vec<Change>> {
    let u = open_dir(upper).ctx("open layer", upper)?;
    let l = match lower {
        Some(p) => Some(open_dir(p).ctx("open layer", p)?),
        None => None,
    };
    let mut out = Vec::new();
    compare(u.as_fd(), l.as_ref().map(|f| f.as_fd()), b"", &mut out).ctx("compare layer", upper)?;
    Ok(out)
}

fn same_meta(
    dir_u: BorrowedFd<'_>,
    dir_l: BorrowedFd<'_>,
    name: &CString,
    a: &Stat,
    b: &Stat,
) -> rustix::io::Result<bool> {
    let same = a.st_mode == b.st_mode
        && a.st_uid == b.st_uid
        && a.st_gid == b.st_gid
        && a.st_rdev == b.st_rdev
        && (file_type(a) == FileType::Directory
            || (a.st_size == b.st_size
                && a.st_mtime == b.st_mtime
                && a.st_mtime_nsec == b.st_mtime_nsec));
    if same && file_type(a) == FileType::Symlink {
        let ta = readlinkat(dir_u, name.as_c_str(), Vec::new())?;
        let tb = readlinkat(dir_l, name.as_c_str(), Vec::new())?;
        return Ok(ta == tb);
    }
    Ok(same)
}

fn compare(
    upper: BorrowedFd<'_>,
    lower: Option<BorrowedFd<'_>>,
    prefix: &[u8],
    out: &mut Vec<Change>,
) -> rustix::io::Result<()> {
    let mut names = read_names(upper)?;
    let lower_names = match lower {
        Some(l) => read_names(l)?,
        None => Vec::new(),
    };
    names.extend(lower_names.iter().cloned());
    names.sort();
    names.dedup();
    for name in names {
        let path = join(prefix, &name);
        let su = match lstat_at(upper, name.as_c_str()) {
            Ok(st) => st,
            Err(rustix::io::Errno::NOENT) => {
                out.push(Change {
                    path,
                    kind: ChangeKind::Whiteout,
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        let sl = match lower {
            Some(l) if lower_names.binary_search(&name).is_ok() => {
                Some(lstat_at(l, name.as_c_str())?)
            }
            _ => None,
        };
        let is_dir = file_type(&su) == FileType::Directory;
        let unchanged = match (&sl, lower) {
            (Some(sl), Some(l)) => same_meta(upper, l, &name, &su, sl)?,
            _ => false,
        };
        if !is_dir {
            if !unchanged {
                out.push(Change {
                    path,
                    kind: ChangeKind::Entry,
                });
            }
            continue;
        }
        let at = out.len();
        out.push(Change {
            path: path.clone(),
            kind: ChangeKind::Entry,
        });
        let sub_u = open_dir_at(upper, name.as_c_str())?;
        let sub_l = match (&sl, lower) {
            (Some(sl), Some(l)) if file_type(sl) == FileType::Directory => {
                Some(open_dir_at(l, name.as_c_str())?)
            }
            _ => None,
        };
        compare(sub_u.as_fd(), sub_l.as_ref().map(|f| f.as_fd()), &path, out)?;
        if unchanged && out.len() == at + 1 {
            out.pop();
        }
    }
    Ok(())
}
