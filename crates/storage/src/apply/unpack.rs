//! Writing the entries of a tar stream into a layer directory: every entry
//! type, ownership, modes, times and xattrs, and whiteouts turned into the
//! driver's own form.

use super::lower::{adopt_lower_dir, copy_up, Deferred};
use super::resolve::{cname, split_entry_path, walk_existing, DirStack};
use crate::error::{Error, Result};
use crate::fsat::{file_type, lstat_at, open_dir, open_dir_at, remove_at};
use crate::tar_split::Recording;
use rustix::fs::{
    chmodat, chownat, fchmod, fchown, fsetxattr, futimens, linkat, lsetxattr, makedev, mkdirat,
    mknodat, openat, symlinkat, utimensat, AtFlags, FileType, Gid, Mode, OFlags, Timespec,
    Timestamps, Uid, XattrFlags,
};
use rustix::io::Errno;
use std::collections::HashSet;
use std::ffi::CStr;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// How the driver stores a deletion of something in a lower layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhiteoutStyle {
    /// overlayfs: a 0/0 character device for a deleted name, the
    /// `trusted.overlay.opaque=y` xattr for a directory hiding its lowers.
    Overlay,
    /// vfs: the layer holds a full copy of its parent, so delete for real.
    Delete,
}

/// Everything one entry's header says about the file besides its data.
struct Attrs {
    mode: u32,
    uid: u32,
    gid: u32,
    mtime: Timespec,
    xattrs: Vec<(String, Vec<u8>)>,
}

impl Attrs {
    fn times(&self) -> Timestamps {
        Timestamps {
            last_access: self.mtime,
            last_modification: self.mtime,
        }
    }
}

/// Unpacks one tar stream into one layer directory.
pub(crate) struct Unpacker<'a> {
    stack: DirStack,
    style: WhiteoutStyle,
    /// Content directories of the layers below, top first (overlay only):
    /// where hard links to files of lower layers find their target. None
    /// while the parent is not committed yet: such links are then deferred.
    lowers: Option<&'a [PathBuf]>,
    deferred: Vec<Deferred>,
    /// Paths written by this stream: whiteouts and opaque markers only hide
    /// what lower layers hold, never what this same layer added.
    written: HashSet<Vec<u8>>,
    /// Paths whited out by this stream (overlay): a directory created there
    /// afterwards must hide the lower one, so it is made opaque.
    whited: HashSet<Vec<u8>>,
    /// Directory times are set last, after their entries stopped changing them.
    dir_times: Vec<(Vec<u8>, Timestamps)>,
    buf: Vec<u8>,
    /// Replaces every entry's uid and gid (`berth cp`'s chown).
    owner: Option<(u32, u32)>,
}

pub(super) fn entry_err<'a>(entry: &'a str, op: &'static str) -> impl FnOnce(Errno) -> Error + 'a {
    move |e| Error::Entry {
        entry: entry.to_string(),
        op,
        source: e.into(),
    }
}

fn stream_err(entry: Option<&str>) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Stream {
        entry: entry.map(str::to_string),
        source,
    }
}

impl<'a> Unpacker<'a> {
    pub(crate) fn new(
        root: &Path,
        style: WhiteoutStyle,
        lowers: Option<&'a [PathBuf]>,
    ) -> Result<Self> {
        let fd = open_dir(root).map_err(|e| Error::Io {
            op: "open layer directory",
            path: root.to_path_buf(),
            source: e.into(),
        })?;
        Ok(Unpacker {
            stack: DirStack::new(fd),
            style,
            lowers,
            deferred: Vec::new(),
            written: HashSet::new(),
            whited: HashSet::new(),
            dir_times: Vec::new(),
            buf: vec![0u8; 1 << 20],
            owner: None,
        })
    }

    /// Give every entry this uid and gid instead of the archive's.
    pub(crate) fn with_owner(mut self, owner: Option<(u32, u32)>) -> Self {
        self.owner = owner;
        self
    }

    /// Apply every entry of `reader`, then set directory times. Returns the
    /// hard links and parent directories left for [`super::finish_deferred`].
    pub(crate) fn unpack(mut self, reader: &Recording<'_>) -> Result<Vec<Deferred>> {
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries().map_err(stream_err(None))? {
            let mut entry = entry.map_err(stream_err(None))?;
            let raw = entry.path_bytes().into_owned();
            let name = String::from_utf8_lossy(&raw).into_owned();
            let mut attrs = read_attrs(&mut entry, &name)?;
            if let Some((uid, gid)) = self.owner {
                (attrs.uid, attrs.gid) = (uid, gid);
            }
            self.entry(&mut entry, &raw, &name, attrs, reader)?;
        }
        let mut deferred = std::mem::take(&mut self.deferred);
        // Parents the archive did not list take their owner, mode and times
        // from the layer below (a `tmp/x` entry must not turn a 1777 `/tmp`
        // into 0755), as containerd does.
        let implicit: Vec<Vec<u8>> = std::mem::take(&mut self.stack.created)
            .into_iter()
            .filter(|p| !self.written.contains(p))
            .collect();
        let lowers = self.lowers;
        let root = rustix::io::dup(self.stack.root()).map_err(entry_err("", "dup root"))?;
        self.finish_dir_times()?;
        match lowers {
            Some(lowers) if !lowers.is_empty() => {
                for path in &implicit {
                    adopt_lower_dir(root.as_fd(), lowers, path)?;
                }
            }
            Some(_) => {}
            None => deferred.extend(implicit.into_iter().map(Deferred::ParentDir)),
        }
        Ok(deferred)
    }

    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<'_, R>,
        raw: &[u8],
        name: &str,
        attrs: Attrs,
        split: &Recording<'_>,
    ) -> Result<()> {
        let kind = entry.header().entry_type();
        if matches!(
            kind,
            tar::EntryType::XGlobalHeader | tar::EntryType::XHeader
        ) {
            // PAX records for the archive, not files (their names are
            // made-up paths that must not create directories).
            return Ok(());
        }
        let comps = split_entry_path(raw).map_err(|reason| Error::HostileEntry {
            entry: name.to_string(),
            reason: reason.to_string(),
        })?;
        let Some((last, parent)) = comps.split_last() else {
            // The archive's "./": the layer root itself.
            if !kind.is_dir() {
                return Err(Error::HostileEntry {
                    entry: name.to_string(),
                    reason: "would replace the layer root with a non-directory".into(),
                });
            }
            let root = rustix::io::dup(self.stack.root()).map_err(entry_err(name, "dup root"))?;
            set_owner_mode_xattrs(root.as_fd(), &attrs, name)?;
            self.dir_times.push((Vec::new(), attrs.times()));
            return Ok(());
        };
        let path = comps.join(&b'/');
        if let Some(target) = last.strip_prefix(b".wh.") {
            // Whiteouts never remove what this stream wrote, so the
            // tar-split need not know them.
            return self.whiteout(parent, target, name);
        }
        split.entry(&path, kind.is_dir());
        let c = cname(name, last)?;
        let depth = self.stack.dir(parent, name)?;
        match kind {
            tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
                let fd = self.create_file(depth, &comps, &c, name)?;
                if kind != tar::EntryType::GNUSparse && entry.size() > 0 {
                    // A sparse entry's stored data is not the file's bytes:
                    // the record keeps it as it was.
                    split.file_content(&path, entry.raw_file_position(), entry.size());
                }
                let mut file = File::from(fd);
                loop {
                    let n = entry.read(&mut self.buf).map_err(stream_err(Some(name)))?;
                    if n == 0 {
                        break;
                    }
                    file.write_all(&self.buf[..n])
                        .map_err(|source| Error::Entry {
                            entry: name.to_string(),
                            op: "write",
                            source,
                        })?;
                }
                set_owner_mode_xattrs(file.as_fd(), &attrs, name)?;
                futimens(&file, &attrs.times()).map_err(entry_err(name, "set times"))?;
            }
            tar::EntryType::Directory => {
                self.make_dir(depth, &comps, &c, name, &attrs)?;
                self.dir_times.push((path.clone(), attrs.times()));
            }
            tar::EntryType::Symlink => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                let target = cname(name, &target)?;
                self.replace_with(depth, &comps, &c, name, |dir| {
                    symlinkat(target.as_c_str(), dir, c.as_c_str())
                })?;
                self.set_link_attrs(depth, &c, last, &attrs, name)?;
            }
            tar::EntryType::Link => {
                let target = entry.link_name_bytes().unwrap_or_default().into_owned();
                self.hard_link(depth, &comps, &c, &target, name)?;
            }
            tar::EntryType::Char | tar::EntryType::Block | tar::EntryType::Fifo => {
                let (ft, dev) = match kind {
                    tar::EntryType::Fifo => (FileType::Fifo, 0),
                    k => {
                        let h = entry.header();
                        let major = h.device_major().ok().flatten().unwrap_or(0);
                        let minor = h.device_minor().ok().flatten().unwrap_or(0);
                        let ft = if k == tar::EntryType::Char {
                            FileType::CharacterDevice
                        } else {
                            FileType::BlockDevice
                        };
                        (ft, makedev(major, minor))
                    }
                };
                self.replace_with(depth, &comps, &c, name, |dir| {
                    mknodat(dir, c.as_c_str(), ft, Mode::from_raw_mode(0o600), dev)
                })?;
                let dir = self.stack.fd(depth);
                chmodat(
                    dir,
                    c.as_c_str(),
                    Mode::from_raw_mode(attrs.mode),
                    AtFlags::empty(),
                )
                .map_err(entry_err(name, "chmod"))?;
                self.set_link_attrs(depth, &c, last, &attrs, name)?;
            }
            other => {
                return Err(Error::UnsupportedEntry {
                    entry: name.to_string(),
                    kind: other.as_byte(),
                })
            }
        }
        self.written.insert(path);
        Ok(())
    }

    /// Create a new regular file, replacing whatever was there.
    fn create_file(
        &mut self,
        depth: usize,
        comps: &[&[u8]],
        c: &CStr,
        name: &str,
    ) -> Result<OwnedFd> {
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let mode = Mode::from_raw_mode(0o600);
        match openat(self.stack.fd(depth), c, flags, mode) {
            Ok(fd) => Ok(fd),
            Err(Errno::EXIST) => {
                self.remove_existing(depth, comps, c, name)?;
                openat(self.stack.fd(depth), c, flags, mode).map_err(entry_err(name, "create file"))
            }
            Err(e) => Err(entry_err(name, "create file")(e)),
        }
    }

    /// Run `make` to create a non-directory, replacing an existing entry.
    fn replace_with(
        &mut self,
        depth: usize,
        comps: &[&[u8]],
        c: &CStr,
        name: &str,
        make: impl Fn(BorrowedFd<'_>) -> rustix::io::Result<()>,
    ) -> Result<()> {
        match make(self.stack.fd(depth)) {
            Ok(()) => Ok(()),
            Err(Errno::EXIST) => {
                self.remove_existing(depth, comps, c, name)?;
                make(self.stack.fd(depth)).map_err(entry_err(name, "create"))
            }
            Err(e) => Err(entry_err(name, "create")(e)),
        }
    }

    fn remove_existing(
        &mut self,
        depth: usize,
        comps: &[&[u8]],
        c: &CStr,
        name: &str,
    ) -> Result<()> {
        self.stack.forget(comps);
        remove_at(self.stack.fd(depth), c).map_err(entry_err(name, "replace existing entry"))
    }

    fn make_dir(
        &mut self,
        depth: usize,
        comps: &[&[u8]],
        c: &CStr,
        name: &str,
        attrs: &Attrs,
    ) -> Result<()> {
        let path = comps.join(&b'/');
        match mkdirat(self.stack.fd(depth), c, Mode::from_raw_mode(0o700)) {
            Ok(()) => {}
            Err(Errno::EXIST) => {
                let st = lstat_at(self.stack.fd(depth), c).map_err(entry_err(name, "stat"))?;
                if file_type(&st) != FileType::Directory {
                    self.remove_existing(depth, comps, c, name)?;
                    mkdirat(self.stack.fd(depth), c, Mode::from_raw_mode(0o700))
                        .map_err(entry_err(name, "create directory"))?;
                }
            }
            Err(e) => return Err(entry_err(name, "create directory")(e)),
        }
        let fd = open_dir_at(self.stack.fd(depth), c).map_err(entry_err(name, "open directory"))?;
        set_owner_mode_xattrs(fd.as_fd(), attrs, name)?;
        if self.style == WhiteoutStyle::Overlay && self.whited.contains(&path) {
            fsetxattr(
                &fd,
                crate::overlay_xattrs::opaque(),
                b"y",
                XattrFlags::empty(),
            )
            .map_err(entry_err(name, "mark directory opaque"))?;
        }
        Ok(())
    }

    /// Owner, xattrs and times of something that cannot be opened (symlink,
    /// device, fifo): through the directory fd, never following a link.
    fn set_link_attrs(
        &self,
        depth: usize,
        c: &CStr,
        last: &[u8],
        attrs: &Attrs,
        name: &str,
    ) -> Result<()> {
        let dir = self.stack.fd(depth);
        chownat(
            dir,
            c,
            Some(Uid::from_raw(attrs.uid)),
            Some(Gid::from_raw(attrs.gid)),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .map_err(entry_err(name, "chown"))?;
        if !attrs.xattrs.is_empty() {
            let path = crate::fsat::proc_path(dir, last);
            for (key, value) in &attrs.xattrs {
                lsetxattr(&path, key.as_str(), value, XattrFlags::empty())
                    .map_err(entry_err(name, "set xattr"))?;
            }
        }
        utimensat(dir, c, &attrs.times(), AtFlags::SYMLINK_NOFOLLOW)
            .map_err(entry_err(name, "set times"))
    }

    fn hard_link(
        &mut self,
        depth: usize,
        comps: &[&[u8]],
        c: &CStr,
        target: &[u8],
        name: &str,
    ) -> Result<()> {
        let hostile = |reason: &str| Error::HostileEntry {
            entry: name.to_string(),
            reason: format!(
                "hard link target {:?}: {reason}",
                String::from_utf8_lossy(target)
            ),
        };
        let tcomps = split_entry_path(target).map_err(hostile)?;
        let Some((tlast, tparent)) = tcomps.split_last() else {
            return Err(hostile("names the layer root"));
        };
        let tc = cname(name, tlast)?;
        if let Some(tdir) = walk_existing(self.stack.root(), tparent, name)? {
            match lstat_at(tdir.as_fd(), tc.as_c_str()) {
                Ok(st) if file_type(&st) == FileType::Directory => {
                    return Err(hostile("is a directory"));
                }
                Ok(_) => {
                    return self.replace_with(depth, comps, c, name, |dir| {
                        linkat(tdir.as_fd(), tc.as_c_str(), dir, c, AtFlags::empty())
                    });
                }
                Err(Errno::NOENT) => {}
                Err(e) => return Err(entry_err(name, "stat hard link target")(e)),
            }
        }
        // Not in this layer: a link to a file of a lower layer. Layers are
        // separate directories, so copy the file up instead.
        let Some(lowers) = self.lowers else {
            self.deferred.push(Deferred::Link {
                entry: name.to_string(),
                link: comps.join(&b'/'),
                target: target.to_vec(),
            });
            return Ok(());
        };
        self.remove_existing(depth, comps, c, name)?;
        if copy_up(lowers, tparent, &tc, self.stack.fd(depth), c, name)? {
            return Ok(());
        }
        Err(hostile("does not exist in this layer or below"))
    }

    fn whiteout(&mut self, parent: &[&[u8]], target: &[u8], name: &str) -> Result<()> {
        let depth = self.stack.dir(parent, name)?;
        if target == b".wh..opq" {
            return self.opaque(depth, parent, name);
        }
        if target.starts_with(b".wh.") || target.is_empty() {
            // aufs bookkeeping (.wh..wh.plnk, …) means nothing here.
            return Ok(());
        }
        if target == b"." || target == b".." {
            return Err(Error::HostileEntry {
                entry: name.to_string(),
                reason: "whiteout of '.' or '..'".into(),
            });
        }
        let mut comps = parent.to_vec();
        comps.push(target);
        let path = comps.join(&b'/');
        let c = cname(name, target)?;
        match self.style {
            WhiteoutStyle::Overlay => {
                if self.written.contains(&path) {
                    // Deleting the lower entry and adding a new one in the
                    // same layer: a new directory must not merge with the old.
                    if let Ok(fd) = open_dir_at(self.stack.fd(depth), c.as_c_str()) {
                        fsetxattr(
                            &fd,
                            crate::overlay_xattrs::opaque(),
                            b"y",
                            XattrFlags::empty(),
                        )
                        .map_err(entry_err(name, "mark directory opaque"))?;
                    }
                    return Ok(());
                }
                self.replace_with(depth, &comps, &c, name, |dir| {
                    mknodat(
                        dir,
                        c.as_c_str(),
                        FileType::CharacterDevice,
                        Mode::empty(),
                        makedev(0, 0),
                    )
                })?;
                self.whited.insert(path);
            }
            WhiteoutStyle::Delete => {
                if !self.written.contains(&path) {
                    self.remove_existing(depth, &comps, &c, name)?;
                }
            }
        }
        Ok(())
    }

    fn opaque(&mut self, depth: usize, parent: &[&[u8]], name: &str) -> Result<()> {
        match self.style {
            WhiteoutStyle::Overlay => {
                let fd = rustix::io::dup(self.stack.fd(depth)).map_err(entry_err(name, "dup"))?;
                fsetxattr(
                    &fd,
                    crate::overlay_xattrs::opaque(),
                    b"y",
                    XattrFlags::empty(),
                )
                .map_err(entry_err(name, "mark directory opaque"))
            }
            WhiteoutStyle::Delete => {
                let fd = rustix::io::dup(self.stack.fd(depth)).map_err(entry_err(name, "dup"))?;
                let prefix = parent.join(&b'/');
                self.stack.clear();
                remove_unwritten(fd.as_fd(), &prefix, &self.written)
                    .map_err(entry_err(name, "clear opaque directory"))
            }
        }
    }

    fn finish_dir_times(mut self) -> Result<()> {
        let times = std::mem::take(&mut self.dir_times);
        for (path, ts) in times.iter().rev() {
            let entry = String::from_utf8_lossy(path).into_owned();
            let comps: Vec<&[u8]> = path
                .split(|b| *b == b'/')
                .filter(|c| !c.is_empty())
                .collect();
            match comps.split_last() {
                None => futimens(self.stack.root(), ts).map_err(entry_err(&entry, "set times"))?,
                Some((last, parent)) => {
                    let c = cname(&entry, last)?;
                    let depth = self.stack.dir(parent, &entry)?;
                    match utimensat(
                        self.stack.fd(depth),
                        c.as_c_str(),
                        ts,
                        AtFlags::SYMLINK_NOFOLLOW,
                    ) {
                        // A later entry removed it: nothing to do.
                        Ok(()) | Err(Errno::NOENT) => {}
                        Err(e) => return Err(entry_err(&entry, "set times")(e)),
                    }
                }
            }
        }
        Ok(())
    }
}

/// vfs opaque directory: remove everything below `dir` that this layer did
/// not itself write, keeping this layer's own additions.
fn remove_unwritten(
    dir: BorrowedFd<'_>,
    prefix: &[u8],
    written: &HashSet<Vec<u8>>,
) -> rustix::io::Result<()> {
    for child in crate::fsat::read_names(dir)? {
        let mut path = prefix.to_vec();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(child.as_bytes());
        if !written.contains(&path) {
            remove_at(dir, &child)?;
        } else if let Ok(sub) = open_dir_at(dir, child.as_c_str()) {
            remove_unwritten(sub.as_fd(), &path, written)?;
        }
    }
    Ok(())
}

/// Owner, mode and xattrs through an open fd. The order matters: chown
/// clears setuid bits and `security.capability`, so both come after it.
fn set_owner_mode_xattrs(fd: BorrowedFd<'_>, attrs: &Attrs, name: &str) -> Result<()> {
    fchown(
        fd,
        Some(Uid::from_raw(attrs.uid)),
        Some(Gid::from_raw(attrs.gid)),
    )
    .map_err(entry_err(name, "chown"))?;
    fchmod(fd, Mode::from_raw_mode(attrs.mode)).map_err(entry_err(name, "chmod"))?;
    for (key, value) in &attrs.xattrs {
        fsetxattr(fd, key.as_str(), value, XattrFlags::empty())
            .map_err(entry_err(name, "set xattr"))?;
    }
    Ok(())
}

/// Mode, owner, mtime and xattrs of an entry, PAX records included.
fn read_attrs<R: Read>(entry: &mut tar::Entry<'_, R>, name: &str) -> Result<Attrs> {
    let h = entry.header();
    let bad = |what: &'static str| {
        move |e: std::io::Error| Error::Stream {
            entry: Some(name.to_string()),
            source: std::io::Error::new(e.kind(), format!("{what}: {e}")),
        }
    };
    let mode = h.mode().map_err(bad("mode"))? & 0o7777;
    let uid = h.uid().map_err(bad("uid"))? as u32;
    let gid = h.gid().map_err(bad("gid"))? as u32;
    let mut mtime = Timespec {
        tv_sec: h.mtime().map_err(bad("mtime"))? as i64,
        tv_nsec: 0,
    };
    let mut xattrs = Vec::new();
    if let Some(exts) = entry.pax_extensions().map_err(bad("pax header"))? {
        for ext in exts {
            let ext = ext.map_err(bad("pax header"))?;
            let Ok(key) = ext.key() else { continue };
            if let Some(x) = key.strip_prefix("SCHILY.xattr.") {
                if crate::overlay_xattrs::is_overlay_xattr(x) {
                    // overlayfs reads these from upper layers (redirects,
                    // opaque markers); an archive must not forge them.
                    return Err(Error::HostileEntry {
                        entry: name.to_string(),
                        reason: format!("xattr {x} is reserved for the overlay driver"),
                    });
                }
                xattrs.push((x.to_string(), ext.value_bytes().to_vec()));
            } else if key == "mtime" {
                if let Some(ts) = ext.value().ok().and_then(parse_pax_time) {
                    mtime = ts;
                }
            }
        }
    }
    Ok(Attrs {
        mode,
        uid,
        gid,
        mtime,
        xattrs,
    })
}

/// A PAX time (`1700000000.123456789`).
fn parse_pax_time(s: &str) -> Option<Timespec> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let tv_sec = secs.parse::<i64>().ok()?;
    let digits: String = frac.chars().take(9).collect();
    let tv_nsec = if digits.is_empty() {
        0
    } else {
        format!("{digits:0<9}").parse::<i64>().ok()?
    };
    Some(Timespec { tv_sec, tv_nsec })
}
