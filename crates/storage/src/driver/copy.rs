//! Copying files and trees with everything a layer holds: ownership,
//! modes, times, xattrs, hard links, devices. Used by vfs (each layer is a
//! full copy of its parent) and by overlay for hard links to lower files.

use crate::fsat::{
    fd_xattrs, file_type, link_xattrs, lstat_at, open_dir_at, proc_path, read_names,
};
use rustix::fs::{
    chownat, copy_file_range, fchmod, fchown, fsetxattr, futimens, linkat, lsetxattr, mkdirat,
    mknodat, openat, readlinkat, symlinkat, utimensat, AtFlags, FileType, Gid, Mode, OFlags, Stat,
    Timespec, Timestamps, Uid, XattrFlags,
};
use rustix::io::{Errno, Result};
use std::collections::HashMap;
use std::ffi::{CStr, CString};
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};

fn times(st: &Stat) -> Timestamps {
    Timestamps {
        last_access: Timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec as _,
        },
        last_modification: Timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec as _,
        },
    }
}

/// Copy the regular file `src_name` (whose stat is `st`) from `src_dir` to
/// a new `dst_name` in `dst_dir`, with owner, mode, xattrs and times.
pub(crate) fn copy_file(
    src_dir: BorrowedFd<'_>,
    src_name: &CStr,
    dst_dir: BorrowedFd<'_>,
    dst_name: &CStr,
    st: &Stat,
) -> Result<()> {
    let src = openat(
        src_dir,
        src_name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let dst = openat(
        dst_dir,
        dst_name,
        OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::from_raw_mode(0o600),
    )?;
    let mut left = st.st_size as u64;
    let mut fallback = false;
    while left > 0 {
        match copy_file_range(&src, None, &dst, None, left.min(1 << 30) as usize) {
            Ok(0) => break,
            Ok(n) => left -= n as u64,
            Err(Errno::XDEV) | Err(Errno::NOSYS) | Err(Errno::INVAL) | Err(Errno::OPNOTSUPP) => {
                fallback = true;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if fallback {
        let mut from = std::fs::File::from(src.try_clone().map_err(|_| Errno::BADF)?);
        let mut to = std::fs::File::from(dst.try_clone().map_err(|_| Errno::BADF)?);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = from.read(&mut buf).map_err(|_| Errno::IO)?;
            if n == 0 {
                break;
            }
            to.write_all(&buf[..n])
                .map_err(|e| Errno::from_io_error(&e).unwrap_or(Errno::IO))?;
        }
    }
    fchown(
        &dst,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    fchmod(&dst, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    for (k, v) in fd_xattrs(src.as_fd())? {
        fsetxattr(&dst, k.as_str(), &v, XattrFlags::empty())?;
    }
    futimens(&dst, &times(st))
}

/// Copies a whole tree, keeping hard links as hard links.
struct TreeCopy<'a> {
    dst_root: BorrowedFd<'a>,
    /// (dev, ino) of multiply-linked files → their path in the copy.
    links: HashMap<(u64, u64), CString>,
}

/// Copy the contents of directory `src` into the empty directory `dst`
/// (the directory's own attributes included).
pub(crate) fn copy_tree(src: BorrowedFd<'_>, dst: BorrowedFd<'_>) -> Result<()> {
    let mut c = TreeCopy {
        dst_root: dst,
        links: HashMap::new(),
    };
    c.copy_dir(src, dst, b"")?;
    let st = rustix::fs::fstat(src)?;
    set_dir_attrs(src, dst, &st)
}

fn set_dir_attrs(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, st: &Stat) -> Result<()> {
    fchown(
        dst,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
    )?;
    fchmod(dst, Mode::from_raw_mode(st.st_mode & 0o7777))?;
    for (k, v) in fd_xattrs(src)? {
        fsetxattr(dst, k.as_str(), &v, XattrFlags::empty())?;
    }
    futimens(dst, &times(st))
}

impl TreeCopy<'_> {
    fn copy_dir(&mut self, src: BorrowedFd<'_>, dst: BorrowedFd<'_>, prefix: &[u8]) -> Result<()> {
        for name in read_names(src)? {
            let st = lstat_at(src, name.as_c_str())?;
            let mut path = prefix.to_vec();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(name.as_bytes());
            match file_type(&st) {
                FileType::Directory => {
                    mkdirat(dst, name.as_c_str(), Mode::from_raw_mode(0o700))?;
                    let s = open_dir_at(src, name.as_c_str())?;
                    let d = open_dir_at(dst, name.as_c_str())?;
                    self.copy_dir(s.as_fd(), d.as_fd(), &path)?;
                    set_dir_attrs(s.as_fd(), d.as_fd(), &st)?;
                }
                FileType::RegularFile => {
                    let key = (st.st_dev, st.st_ino);
                    if st.st_nlink > 1 {
                        if let Some(first) = self.links.get(&key) {
                            // Every component of `first` was a directory when
                            // copied, so this relative path cannot be
                            // redirected by a symlink.
                            linkat(
                                self.dst_root,
                                first.as_c_str(),
                                dst,
                                name.as_c_str(),
                                AtFlags::empty(),
                            )?;
                            continue;
                        }
                        self.links
                            .insert(key, CString::new(path.clone()).map_err(|_| Errno::INVAL)?);
                    }
                    copy_file(src, &name, dst, &name, &st)?;
                }
                FileType::Symlink => {
                    let target = readlinkat(src, name.as_c_str(), Vec::new())?;
                    symlinkat(target.as_c_str(), dst, name.as_c_str())?;
                    copy_special_attrs(src, dst, &name, &st, false)?;
                }
                FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                    mknodat(
                        dst,
                        name.as_c_str(),
                        file_type(&st),
                        Mode::from_raw_mode(st.st_mode & 0o7777),
                        st.st_rdev,
                    )?;
                    copy_special_attrs(src, dst, &name, &st, true)?;
                }
                // Sockets belong to running processes, not to layers.
                _ => {}
            }
        }
        Ok(())
    }
}

fn copy_special_attrs(
    src: BorrowedFd<'_>,
    dst: BorrowedFd<'_>,
    name: &CStr,
    st: &Stat,
    chmod: bool,
) -> Result<()> {
    chownat(
        dst,
        name,
        Some(Uid::from_raw(st.st_uid)),
        Some(Gid::from_raw(st.st_gid)),
        AtFlags::SYMLINK_NOFOLLOW,
    )?;
    if chmod {
        rustix::fs::chmodat(
            dst,
            name,
            Mode::from_raw_mode(st.st_mode & 0o7777),
            AtFlags::empty(),
        )?;
    }
    let xattrs = link_xattrs(src, name.to_bytes())?;
    if !xattrs.is_empty() {
        let path = proc_path(dst, name.to_bytes());
        for (k, v) in xattrs {
            lsetxattr(&path, k.as_str(), &v, XattrFlags::empty())?;
        }
    }
    utimensat(dst, name, &times(st), AtFlags::SYMLINK_NOFOLLOW)
}
