//! A layer's changes as an OCI layer tar: whiteouts back in their `.wh.`
//! form, entries in a fixed order with only the header fields a layer
//! means (no atime, ctime, user or group names), so the same change always
//! gives the same bytes and so the same digest.

mod changes;

pub(crate) use changes::{compare_changes, upper_changes};

use crate::apply::walk_existing_dir;
use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsat::{fd_xattrs, file_type, link_xattrs, lstat_at, open_dir, open_dir_at};
use rustix::fs::{openat, readlinkat, FileType, Mode, OFlags};
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// One change of a layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Change {
    /// Path relative to the layer root, components joined by `/`.
    pub path: Vec<u8>,
    pub kind: ChangeKind,
}

/// What changed at a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChangeKind {
    /// Added or modified: the layer's entry is written as is.
    Entry,
    /// Deleted: a `.wh.<name>` entry.
    Whiteout,
    /// The directory hides everything below it: a `.wh..wh..opq` entry.
    Opaque,
}

/// What [`crate::Store::diff`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffSummary {
    /// sha256 of the tar stream (the diff id of a layer made from it).
    pub digest: Digest,
    /// Its size in bytes.
    pub size: u64,
}

struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn whiteout_header() -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o600);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_size(0);
    h
}

fn with_name(path: &[u8], name: &[u8]) -> Vec<u8> {
    match path.iter().rposition(|b| *b == b'/') {
        Some(i) => [&path[..=i], name].concat(),
        None => name.to_vec(),
    }
}

/// Write `changes` of the tree at `root` as a tar stream to `out`.
pub(crate) fn write_tar<W: Write>(root: &Path, changes: &[Change], out: W) -> Result<DiffSummary> {
    let mut builder = tar::Builder::new(HashingWriter {
        inner: out,
        hasher: Sha256::new(),
        count: 0,
    });
    let root_fd = open_dir(root).ctx("open layer", root)?;
    let mut links: HashMap<(u64, u64), Vec<u8>> = HashMap::new();
    let werr = |source: io::Error| Error::Io {
        op: "write layer diff",
        path: root.to_path_buf(),
        source,
    };
    for change in changes {
        let entry = String::from_utf8_lossy(&change.path).into_owned();
        match change.kind {
            ChangeKind::Whiteout => {
                let last = change
                    .path
                    .rsplit(|b| *b == b'/')
                    .next()
                    .unwrap_or_default();
                let name = with_name(&change.path, &[b".wh.", last].concat());
                builder
                    .append_data(
                        &mut whiteout_header(),
                        OsStr::from_bytes(&name),
                        io::empty(),
                    )
                    .map_err(werr)?;
            }
            ChangeKind::Opaque => {
                let name = [&change.path[..], b"/.wh..wh..opq"].concat();
                builder
                    .append_data(
                        &mut whiteout_header(),
                        OsStr::from_bytes(&name),
                        io::empty(),
                    )
                    .map_err(werr)?;
            }
            ChangeKind::Entry => {
                let comps: Vec<&[u8]> = change.path.split(|b| *b == b'/').collect();
                let Some((last, parent)) = comps.split_last() else {
                    continue;
                };
                let Some(dir) = walk_existing_dir(root_fd.as_fd(), parent, &entry)? else {
                    continue;
                };
                let c = CString::new(*last).map_err(|_| Error::InvalidName {
                    what: "path",
                    value: entry.clone(),
                    reason: "contains NUL",
                })?;
                let ioerr = |op: &'static str| {
                    let p = root.join(OsStr::from_bytes(&change.path));
                    move |e: rustix::io::Errno| Error::Io {
                        op,
                        path: p,
                        source: e.into(),
                    }
                };
                let st = match lstat_at(dir.as_fd(), c.as_c_str()) {
                    Ok(st) => st,
                    // Gone since the walk (a running container): skip it.
                    Err(rustix::io::Errno::NOENT) => continue,
                    Err(e) => return Err(ioerr("stat")(e)),
                };
                let ft = file_type(&st);
                let mut h = tar::Header::new_gnu();
                h.set_mode(st.st_mode & 0o7777);
                h.set_uid(st.st_uid as u64);
                h.set_gid(st.st_gid as u64);
                h.set_mtime(st.st_mtime.max(0) as u64);
                h.set_size(0);
                let path = OsStr::from_bytes(&change.path);
                let mut xattrs = match ft {
                    FileType::RegularFile | FileType::Directory => Vec::new(),
                    _ => link_xattrs(dir.as_fd(), last).map_err(ioerr("read xattrs"))?,
                };
                match ft {
                    FileType::Directory => {
                        let sub = open_dir_at(dir.as_fd(), c.as_c_str()).map_err(ioerr("open"))?;
                        xattrs = fd_xattrs(sub.as_fd()).map_err(ioerr("read xattrs"))?;
                        append_xattrs(&mut builder, &xattrs).map_err(werr)?;
                        h.set_entry_type(tar::EntryType::Directory);
                        let name = [&change.path[..], b"/"].concat();
                        builder
                            .append_data(&mut h, OsStr::from_bytes(&name), io::empty())
                            .map_err(werr)?;
                    }
                    FileType::RegularFile => {
                        if st.st_nlink > 1 {
                            let key = (st.st_dev, st.st_ino);
                            if let Some(first) = links.get(&key) {
                                h.set_entry_type(tar::EntryType::Link);
                                builder
                                    .append_link(&mut h, path, OsStr::from_bytes(first))
                                    .map_err(werr)?;
                                continue;
                            }
                            links.insert(key, change.path.clone());
                        }
                        let fd = openat(
                            dir.as_fd(),
                            c.as_c_str(),
                            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                            Mode::empty(),
                        )
                        .map_err(ioerr("open"))?;
                        xattrs = fd_xattrs(fd.as_fd()).map_err(ioerr("read xattrs"))?;
                        append_xattrs(&mut builder, &xattrs).map_err(werr)?;
                        h.set_entry_type(tar::EntryType::Regular);
                        h.set_size(st.st_size as u64);
                        let file = std::fs::File::from(fd).take(st.st_size as u64);
                        builder.append_data(&mut h, path, file).map_err(werr)?;
                    }
                    FileType::Symlink => {
                        let target = readlinkat(dir.as_fd(), c.as_c_str(), Vec::new())
                            .map_err(ioerr("readlink"))?;
                        append_xattrs(&mut builder, &xattrs).map_err(werr)?;
                        h.set_entry_type(tar::EntryType::Symlink);
                        builder
                            .append_link(&mut h, path, OsStr::from_bytes(target.as_bytes()))
                            .map_err(werr)?;
                    }
                    FileType::CharacterDevice | FileType::BlockDevice | FileType::Fifo => {
                        append_xattrs(&mut builder, &xattrs).map_err(werr)?;
                        h.set_entry_type(match ft {
                            FileType::CharacterDevice => tar::EntryType::Char,
                            FileType::BlockDevice => tar::EntryType::Block,
                            _ => tar::EntryType::Fifo,
                        });
                        if ft != FileType::Fifo {
                            h.set_device_major(rustix::fs::major(st.st_rdev))
                                .map_err(werr)?;
                            h.set_device_minor(rustix::fs::minor(st.st_rdev))
                                .map_err(werr)?;
                        }
                        builder
                            .append_data(&mut h, path, io::empty())
                            .map_err(werr)?;
                    }
                    // Sockets are not part of a filesystem image.
                    _ => {}
                }
            }
        }
    }
    let inner = builder.into_inner().map_err(werr)?;
    Ok(DiffSummary {
        digest: Digest::from_hasher(inner.hasher),
        size: inner.count,
    })
}

/// Extended attributes as a PAX header before the entry; overlay's own
/// `trusted.overlay.*` (or `user.overlay.*`) bookkeeping is not part of the layer.
fn append_xattrs<W: Write>(
    builder: &mut tar::Builder<W>,
    xattrs: &[(String, Vec<u8>)],
) -> io::Result<()> {
    let records: Vec<(String, &[u8])> = xattrs
        .iter()
        .filter(|(k, _)| !crate::overlay_xattrs::is_overlay_xattr(k))
        .map(|(k, v)| (format!("SCHILY.xattr.{k}"), v.as_slice()))
        .collect();
    if records.is_empty() {
        return Ok(());
    }
    builder.append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), *v)))
}
