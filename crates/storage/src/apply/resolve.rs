//! Turning a tar entry's path into directory fds, one component at a time,
//! never following a symlink. This is the layer's security boundary: an
//! archive that plants `a -> /etc` and then writes `a/passwd`, or that
//! names `../x` or `/x`, is refused here (the class of CVE-2018-15664,
//! CVE-2019-14271 and friends).

use crate::error::{Error, Result};
use crate::fsat::{file_type, lstat_at, open_dir_at};
use rustix::fs::{mkdirat, FileType, Mode};
use rustix::io::Errno;
use std::ffi::CString;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

/// Split an archive path into its components. `.` and empty components
/// are dropped (`./usr//lib/` is `usr/lib`); an absolute path or any `..`
/// is refused, since neither has a meaning inside a layer.
pub(crate) fn split_entry_path(raw: &[u8]) -> std::result::Result<Vec<&[u8]>, &'static str> {
    if raw.first() == Some(&b'/') {
        return Err("absolute path");
    }
    let mut comps = Vec::new();
    for c in raw.split(|b| *b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => return Err("path has a '..' component that would leave the layer"),
            c => comps.push(c),
        }
    }
    Ok(comps)
}

/// A component as a C string; tar names cannot hold NUL, but a hostile
/// PAX record could, so check rather than assume.
pub(crate) fn cname(entry: &str, c: &[u8]) -> Result<CString> {
    CString::new(c).map_err(|_| Error::HostileEntry {
        entry: entry.to_string(),
        reason: "path contains a NUL byte".into(),
    })
}

/// Open directory fds for the directories of a layer, caching the chain of
/// the last one used: tar streams list a directory's entries together, so
/// almost every entry reuses the cached parent and costs no lookup.
pub(crate) struct DirStack {
    root: OwnedFd,
    names: Vec<Vec<u8>>,
    fds: Vec<OwnedFd>,
    /// Directories created because an entry needed them as parents.
    pub(crate) created: Vec<Vec<u8>>,
}

impl DirStack {
    pub(crate) fn new(root: OwnedFd) -> DirStack {
        DirStack {
            root,
            names: Vec::new(),
            fds: Vec::new(),
            created: Vec::new(),
        }
    }

    /// The layer's root directory.
    pub(crate) fn root(&self) -> BorrowedFd<'_> {
        self.root.as_fd()
    }

    /// The fd at `depth` as returned by [`DirStack::dir`] (0 is the root).
    pub(crate) fn fd(&self, depth: usize) -> BorrowedFd<'_> {
        match depth {
            0 => self.root.as_fd(),
            d => self.fds[d - 1].as_fd(),
        }
    }

    /// Open the directory `comps`, creating missing ones (mode 0755, as tar
    /// does for parents an archive does not list). Returns its depth for
    /// [`DirStack::fd`]. Refuses to pass through a symlink or a non-directory.
    pub(crate) fn dir(&mut self, comps: &[&[u8]], entry: &str) -> Result<usize> {
        let common = self
            .names
            .iter()
            .zip(comps)
            .take_while(|(a, b)| a.as_slice() == **b)
            .count();
        self.names.truncate(common);
        self.fds.truncate(common);
        for (i, comp) in comps.iter().enumerate().skip(common) {
            let c = cname(entry, comp)?;
            let (fd, created) = open_child_dir(self.fd(i), &c, comps, i, entry, true)?;
            if created {
                self.created.push(comps[..=i].join(&b'/'));
            }
            self.names.push(comp.to_vec());
            self.fds.push(fd);
        }
        Ok(comps.len())
    }

    /// Drop cached fds at or below `comps`, which is being removed or
    /// replaced: a later entry must look it up again (and find whatever
    /// replaced it, e.g. a symlink, which it then refuses).
    pub(crate) fn forget(&mut self, comps: &[&[u8]]) {
        let under = self.names.len() >= comps.len()
            && self
                .names
                .iter()
                .zip(comps)
                .all(|(a, b)| a.as_slice() == *b);
        if under {
            let keep = comps.len().saturating_sub(1);
            self.names.truncate(keep);
            self.fds.truncate(keep);
        }
    }

    /// Forget every cached fd (after removing whole subtrees).
    pub(crate) fn clear(&mut self) {
        self.names.clear();
        self.fds.clear();
    }
}

/// Open `c` (component `i` of `comps`) inside `parent` as a directory,
/// creating it when `create` is set. `Ok` only for a real directory, with
/// whether it was created.
fn open_child_dir(
    parent: BorrowedFd<'_>,
    c: &CString,
    comps: &[&[u8]],
    i: usize,
    entry: &str,
    create: bool,
) -> Result<(OwnedFd, bool)> {
    let prefix = || String::from_utf8_lossy(&comps[..=i].join(&b'/')).into_owned();
    let refuse = |parent: BorrowedFd<'_>| {
        let what = match lstat_at(parent, c.as_c_str()) {
            Ok(st) if file_type(&st) == FileType::Symlink => "is a symlink",
            _ => "is not a directory",
        };
        Error::HostileEntry {
            entry: entry.to_string(),
            reason: format!("parent {} {what}; refusing to write through it", prefix()),
        }
    };
    match open_dir_at(parent, c.as_c_str()) {
        Ok(fd) => Ok((fd, false)),
        Err(Errno::NOENT) if create => {
            let created = match mkdirat(parent, c.as_c_str(), Mode::from_raw_mode(0o755)) {
                Ok(()) => true,
                Err(Errno::EXIST) => false,
                Err(e) => {
                    return Err(Error::Entry {
                        entry: entry.to_string(),
                        op: "create parent directory",
                        source: e.into(),
                    })
                }
            };
            let fd = open_dir_at(parent, c.as_c_str()).map_err(|_| refuse(parent))?;
            Ok((fd, created))
        }
        Err(Errno::LOOP) | Err(Errno::NOTDIR) => Err(refuse(parent)),
        Err(e) => Err(Error::Entry {
            entry: entry.to_string(),
            op: "open parent directory",
            source: e.into(),
        }),
    }
}

/// Open the existing directory `comps` under `root` without creating
/// anything: `Ok(None)` when some component is missing.
pub(crate) fn walk_existing(
    root: BorrowedFd<'_>,
    comps: &[&[u8]],
    entry: &str,
) -> Result<Option<OwnedFd>> {
    let mut cur: Option<OwnedFd> = None;
    for (i, comp) in comps.iter().enumerate() {
        let c = cname(entry, comp)?;
        let parent = cur.as_ref().map(|f| f.as_fd()).unwrap_or(root);
        match open_child_dir(parent, &c, comps, i, entry, false) {
            Ok((fd, _)) => cur = Some(fd),
            Err(Error::Entry { source, .. }) if source.raw_os_error() == Some(libc_enoent()) => {
                return Ok(None)
            }
            Err(e) => return Err(e),
        }
    }
    match cur {
        Some(fd) => Ok(Some(fd)),
        None => rustix::io::dup(root).map(Some).map_err(|e| Error::Entry {
            entry: entry.to_string(),
            op: "dup root",
            source: e.into(),
        }),
    }
}

fn libc_enoent() -> i32 {
    Errno::NOENT.raw_os_error()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_refuses_escapes() {
        assert_eq!(
            split_entry_path(b"./usr//lib/").unwrap(),
            vec![&b"usr"[..], b"lib"]
        );
        assert!(split_entry_path(b"./").unwrap().is_empty());
        assert!(split_entry_path(b"/etc/passwd").is_err());
        assert!(split_entry_path(b"a/../../etc").is_err());
        assert!(split_entry_path(b"..").is_err());
    }
}
