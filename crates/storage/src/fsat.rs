//! Directory-fd relative filesystem helpers. Everything that touches layer
//! content goes through a directory fd and one name at a time with
//! `O_NOFOLLOW`, so a symlink planted in a layer (by a tar stream or by a
//! running container) can never redirect a write or a read outside it.

use rustix::fs::{openat, statat, unlinkat, AtFlags, Dir, FileType, Mode, OFlags, Stat};
use rustix::io::{Errno, Result as SysResult};
use std::ffi::{CStr, CString, OsStr};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// Open the directory `name` inside `dir` without following a symlink.
pub(crate) fn open_dir_at<P: rustix::path::Arg>(
    dir: BorrowedFd<'_>,
    name: P,
) -> SysResult<OwnedFd> {
    openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// Open a directory by absolute path (the root of a layer, which the store
/// itself made).
pub(crate) fn open_dir(path: &std::path::Path) -> SysResult<OwnedFd> {
    openat(
        rustix::fs::CWD,
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// `lstat` of `name` inside `dir`.
pub(crate) fn lstat_at<P: rustix::path::Arg>(dir: BorrowedFd<'_>, name: P) -> SysResult<Stat> {
    statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
}

/// The type of a stat result.
pub(crate) fn file_type(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

/// The names in `dir` (without `.` and `..`), sorted bytewise so that every
/// walk of the same tree visits it in the same order.
pub(crate) fn read_names(dir: BorrowedFd<'_>) -> SysResult<Vec<CString>> {
    let fd = openat(
        dir,
        c".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut d = Dir::new(fd)?;
    let mut names = Vec::new();
    while let Some(entry) = d.read() {
        let entry = entry?;
        let name = entry.file_name();
        if name != c"." && name != c".." {
            names.push(name.to_owned());
        }
    }
    names.sort();
    Ok(names)
}

/// Remove `name` inside `dir`, recursing into directories without
/// following symlinks. A missing entry is not an error.
pub(crate) fn remove_at(dir: BorrowedFd<'_>, name: &CStr) -> SysResult<()> {
    match unlinkat(dir, name, AtFlags::empty()) {
        Ok(()) | Err(Errno::NOENT) => return Ok(()),
        Err(Errno::ISDIR) | Err(Errno::PERM) => {}
        Err(e) => return Err(e),
    }
    let sub = match open_dir_at(dir, name) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    for child in read_names(sub.as_fd())? {
        remove_at(sub.as_fd(), &child)?;
    }
    match unlinkat(dir, name, AtFlags::REMOVEDIR) {
        Ok(()) | Err(Errno::NOENT) => Ok(()),
        Err(e) => Err(e),
    }
}

/// `/proc/self/fd/N/name`: the way to reach a symlink or device node inside
/// a directory fd for the xattr calls that have no `*at` form. The kernel
/// resolves the fd link to the directory itself, so no path is re-walked.
pub(crate) fn proc_path(dir: BorrowedFd<'_>, name: &[u8]) -> PathBuf {
    let mut p = PathBuf::from(format!("/proc/self/fd/{}", dir.as_raw_fd()));
    p.push(OsStr::from_bytes(name));
    p
}

/// The extended attributes of an open file, sorted by name.
pub(crate) fn fd_xattrs(fd: BorrowedFd<'_>) -> SysResult<Vec<(String, Vec<u8>)>> {
    let mut list = vec![0u8; 4096];
    let n = loop {
        match rustix::fs::flistxattr(fd, &mut list[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => list.resize(list.len() * 4, 0),
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    };
    let mut out = Vec::new();
    for raw in list[..n].split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let name = String::from_utf8_lossy(raw).into_owned();
        let mut value = vec![0u8; 256];
        let len = loop {
            match rustix::fs::fgetxattr(fd, name.as_str(), &mut value[..]) {
                Ok(len) => break len,
                Err(Errno::RANGE) => value.resize(value.len() * 4, 0),
                Err(e) => return Err(e),
            }
        };
        value.truncate(len);
        out.push((name, value));
    }
    out.sort();
    Ok(out)
}

/// The extended attributes of a symlink or special file inside `dir`.
pub(crate) fn link_xattrs(dir: BorrowedFd<'_>, name: &[u8]) -> SysResult<Vec<(String, Vec<u8>)>> {
    let path = proc_path(dir, name);
    let mut list = vec![0u8; 4096];
    let n = loop {
        match rustix::fs::llistxattr(&path, &mut list[..]) {
            Ok(n) => break n,
            Err(Errno::RANGE) => list.resize(list.len() * 4, 0),
            Err(Errno::NOTSUP) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    };
    let mut out = Vec::new();
    for raw in list[..n].split(|b| *b == 0).filter(|s| !s.is_empty()) {
        let key = String::from_utf8_lossy(raw).into_owned();
        let mut value = vec![0u8; 256];
        let len = loop {
            match rustix::fs::lgetxattr(&path, key.as_str(), &mut value[..]) {
                Ok(len) => break len,
                Err(Errno::RANGE) => value.resize(value.len() * 4, 0),
                Err(e) => return Err(e),
            }
        };
        value.truncate(len);
        out.push((key, value));
    }
    out.sort();
    Ok(out)
}
