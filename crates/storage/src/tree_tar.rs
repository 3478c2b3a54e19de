//! Trees in and out of a directory that is not a layer: `berth cp` and
//! `export` read a container's files as a tar, `cp` writes a tar into one.
//! Both go one name at a time under a directory fd with `O_NOFOLLOW` (the
//! layer code's own helpers), so a symlink a container planted can never
//! carry a read or a write outside the directory given.

use crate::apply::WhiteoutStyle;
use crate::diff::{write_tar, Change, ChangeKind};
use crate::error::{IoContext, Result};
use crate::fsat::{file_type, lstat_at, open_dir, open_dir_at, read_names};
use crate::tar_split::Recording;
use rustix::fs::FileType;
use std::ffi::CString;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

/// Write the tree under directory `root` as a tar to `out`: the entry
/// `top` (a name in `root`) and everything below it, named `top/...`; with
/// no `top`, everything in `root` (its own entry left out). Headers as a
/// layer's diff: mode, owner, mtime, xattrs; hard links kept.
pub fn tar_tree<W: Write>(root: &Path, top: Option<&[u8]>, out: W) -> Result<()> {
    let fd = open_dir(root).ctx("open", root)?;
    let mut changes = Vec::new();
    match top {
        Some(name) => {
            let c = CString::new(name).map_err(|_| crate::Error::InvalidName {
                what: "path",
                value: String::from_utf8_lossy(name).into_owned(),
                reason: "contains NUL",
            })?;
            let st = lstat_at(fd.as_fd(), c.as_c_str())
                .ctx("stat", root.join(c.to_string_lossy().as_ref()))?;
            changes.push(entry(name.to_vec()));
            if file_type(&st) == FileType::Directory {
                let sub = open_dir_at(fd.as_fd(), c.as_c_str()).ctx("open", root)?;
                walk(sub.as_fd(), name, &mut changes).ctx("read", root)?;
            }
        }
        None => walk(fd.as_fd(), b"", &mut changes).ctx("read", root)?,
    }
    write_tar(root, &changes, out)?;
    Ok(())
}

fn entry(path: Vec<u8>) -> Change {
    Change {
        path,
        kind: ChangeKind::Entry,
    }
}

fn walk(dir: BorrowedFd<'_>, prefix: &[u8], out: &mut Vec<Change>) -> rustix::io::Result<()> {
    for name in read_names(dir)? {
        let mut path = prefix.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(name.as_bytes());
        let st = match lstat_at(dir, name.as_c_str()) {
            Ok(st) => st,
            // Gone since it was listed (a running container).
            Err(rustix::io::Errno::NOENT) => continue,
            Err(e) => return Err(e),
        };
        out.push(entry(path.clone()));
        if file_type(&st) == FileType::Directory {
            match open_dir_at(dir, name.as_c_str()) {
                Ok(sub) => walk(sub.as_fd(), &path, out)?,
                Err(rustix::io::Errno::NOENT) => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Unpack the tar `input` into the directory `dir` (an absolute path the
/// caller resolved safely, e.g. `/proc/self/fd/N` of a directory opened
/// inside a container's root). Every entry is created under `dir` one name
/// at a time; one whose parent is a symlink or escapes `dir` is refused.
/// `owner` replaces every entry's uid and gid when given. `.wh.` names are
/// deletions, as in a layer.
pub fn untar_into<R: Read + Send>(
    dir: &Path,
    mut input: R,
    owner: Option<(u32, u32)>,
) -> Result<()> {
    let unpacker =
        crate::apply::Unpacker::new(dir, WhiteoutStyle::Delete, Some(&[][..]))?.with_owner(owner);
    let recording = Recording::unrecorded(&mut input);
    unpacker.unpack(&recording)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    fn tar_of(entries: &[(&str, Option<&str>)]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, link) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_uid(1234);
            h.set_gid(1234);
            h.set_mtime(0);
            h.set_size(0);
            match link {
                Some(target) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_mode(0o777);
                    b.append_link(&mut h, path, target).unwrap();
                }
                None => {
                    h.set_mode(0o644);
                    b.append_data(&mut h, path, std::io::empty()).unwrap();
                }
            }
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn untar_chowns_and_refuses_writes_through_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        symlink(outside.path(), dir.path().join("out")).unwrap();
        let t = tar_of(&[("a/f", None)]);
        untar_into(dir.path(), &t[..], Some((7, 8))).unwrap();
        let m = std::fs::metadata(dir.path().join("a/f")).unwrap();
        assert_eq!((m.uid(), m.gid()), (7, 8));
        // A symlink already there, and one the same stream plants.
        for t in [
            tar_of(&[("out/pwned", None)]),
            tar_of(&[("l", Some("/tmp")), ("l/pwned", None)]),
        ] {
            let e = untar_into(dir.path(), &t[..], None).unwrap_err();
            assert!(e.to_string().contains("symlink"), "{e}");
        }
        assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
        assert!(!std::path::Path::new("/tmp/pwned").exists());
    }

    #[test]
    fn tar_tree_names_entries_under_the_top() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("top/sub")).unwrap();
        std::fs::write(dir.path().join("top/sub/f"), "x").unwrap();
        symlink("/etc", dir.path().join("top/l")).unwrap();
        let mut out = Vec::new();
        tar_tree(dir.path(), Some(b"top"), &mut out).unwrap();
        let mut a = tar::Archive::new(&out[..]);
        let names: Vec<String> = a
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["top/", "top/l", "top/sub/", "top/sub/f"]);
        let mut all = Vec::new();
        tar_tree(dir.path(), None, &mut all).unwrap();
        assert!(all.len() >= out.len());
    }
}
