//! The one pass over an image's tree that finds language packages.
//!
//! Directories are opened one name at a time below a directory fd with
//! `O_NOFOLLOW`, so the walk never follows a symlink: it cannot loop and
//! cannot leave the root, whatever links the image plants. Each regular
//! file's path goes to [`lang::classify`]; each executable regular file
//! that starts with the ELF magic goes to [`lang::read_binary`]; each
//! directory's path to [`lang::required_file`]. What cannot be read
//! becomes a warning and the walk goes on.

use crate::lang;
use crate::model::{Package, ScanWarning};
use nix::dir::{Dir, Type};
use nix::fcntl::{openat, OFlag};
use nix::sys::stat::{fstat, fstatat, FileStat, Mode, SFlag};
use std::ffi::CStr;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Files larger than this are not read (a record or binary that big is
/// more likely a trap than a package).
const READ_CAP: u64 = 512 << 20;

/// Deeper directories are reported, not entered: each level holds an fd.
const MAX_DEPTH: usize = 256;

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

/// What one walk found.
#[derive(Debug, Default)]
pub struct WalkResult {
    pub packages: Vec<Package>,
    pub warnings: Vec<ScanWarning>,
    /// Regular files seen (for measurements).
    pub files: usize,
}

/// Walk the tree below the directory `root` (an fd on the image's `/`),
/// staying on its filesystem.
pub fn walk(root: &OwnedFd) -> WalkResult {
    let mut out = WalkResult::default();
    let dev = match fstat(root.as_raw_fd()) {
        Ok(st) => st.st_dev,
        Err(e) => {
            out.warnings.push(warn("/", format!("stat: {e}")));
            return out;
        }
    };
    let mut path = String::new();
    match dup_dir(root) {
        Ok(dir) => walk_dir(dir, &mut path, dev, 0, &mut out),
        Err(e) => out.warnings.push(warn("/", format!("open: {e}"))),
    }
    out
}

fn dup_dir(fd: &OwnedFd) -> nix::Result<OwnedFd> {
    open_at(fd.as_raw_fd(), c".", OFlag::O_DIRECTORY)
}

fn open_at(dir: RawFd, name: &CStr, extra: OFlag) -> nix::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC | extra;
    let fd = openat(Some(dir), name, flags, Mode::empty())?;
    // SAFETY: openat returned a new descriptor that we now own.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn warn(path: &str, message: String) -> ScanWarning {
    ScanWarning {
        path: if path.is_empty() {
            "/".into()
        } else {
            path.into()
        },
        line: None,
        message,
    }
}

/// Walk directory `fd`, whose in-image path is `path` ("" for `/`).
fn walk_dir(fd: OwnedFd, path: &mut String, dev: u64, depth: usize, out: &mut WalkResult) {
    let dir_fd = fd.as_raw_fd();
    let mut dir = match Dir::from_fd(fd_into_raw(fd)) {
        Ok(d) => d,
        Err(e) => {
            out.warnings
                .push(warn(path, format!("read directory: {e}")));
            return;
        }
    };
    let mut subdirs: Vec<Vec<u8>> = Vec::new();
    let mut names: Vec<(Vec<u8>, Option<Type>)> = Vec::new();
    for entry in dir.iter() {
        match entry {
            Ok(e) => {
                let name = e.file_name().to_bytes();
                if name == b"." || name == b".." {
                    continue;
                }
                names.push((name.to_vec(), e.file_type()));
            }
            Err(e) => {
                out.warnings
                    .push(warn(path, format!("read directory: {e}")));
                break;
            }
        }
    }
    let required = lang::required_file(if path.is_empty() { "/" } else { path });
    if let Some(file) = required {
        if !names.iter().any(|(n, _)| n == file.as_bytes()) {
            let p = format!("{path}/{file}");
            out.warnings
                .push(warn(&p, "missing: the record is incomplete".into()));
        }
    }
    let base = path.len();
    for (name, kind) in names {
        let Ok(cname) = std::ffi::CString::new(name.clone()) else {
            continue;
        };
        path.push('/');
        path.push_str(&String::from_utf8_lossy(&name));
        let kind = match kind {
            Some(Type::File) => Kind::File(None),
            Some(Type::Directory) => Kind::Dir,
            Some(_) => Kind::Other,
            None => match fstatat(
                Some(dir_fd),
                cname.as_c_str(),
                nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
            ) {
                Ok(st) => kind_of(&st),
                Err(e) => {
                    out.warnings.push(warn(path, format!("stat: {e}")));
                    Kind::Other
                }
            },
        };
        match kind {
            Kind::Dir => subdirs.push(name),
            Kind::File(st) => visit_file(dir_fd, &cname, st, path, out),
            Kind::Other => {}
        }
        path.truncate(base);
    }
    for name in subdirs {
        let Ok(cname) = std::ffi::CString::new(name.clone()) else {
            continue;
        };
        path.push('/');
        path.push_str(&String::from_utf8_lossy(&name));
        match open_at(dir_fd, &cname, OFlag::O_DIRECTORY) {
            Ok(sub) => match fstat(sub.as_raw_fd()) {
                // Another filesystem mounted inside (a container's /proc):
                // not the image's.
                Ok(st) if st.st_dev != dev => {}
                Ok(_) if depth >= MAX_DEPTH => out.warnings.push(warn(
                    path,
                    format!("not read: deeper than {MAX_DEPTH} levels"),
                )),
                Ok(_) => walk_dir(sub, path, dev, depth + 1, out),
                Err(e) => out.warnings.push(warn(path, format!("stat: {e}"))),
            },
            Err(e) => out
                .warnings
                .push(warn(path, format!("open directory: {e}"))),
        }
        path.truncate(base);
    }
    drop(dir);
}

enum Kind {
    File(Option<FileStat>),
    Dir,
    Other,
}

fn kind_of(st: &FileStat) -> Kind {
    match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFREG => Kind::File(Some(*st)),
        SFlag::S_IFDIR => Kind::Dir,
        _ => Kind::Other,
    }
}

/// `Dir` takes ownership of a raw fd.
fn fd_into_raw(fd: OwnedFd) -> RawFd {
    std::os::fd::IntoRawFd::into_raw_fd(fd)
}

/// A regular file: a language record by its path, or an executable that
/// may be an ELF binary with embedded module lists.
fn visit_file(dir: RawFd, name: &CStr, st: Option<FileStat>, path: &str, out: &mut WalkResult) {
    out.files += 1;
    if let Some(kind) = lang::classify(path) {
        match read_file(dir, name, path) {
            Ok(data) => match lang::read_record(kind, path, &data) {
                Ok(p) => out.packages.extend(p),
                Err(w) => out.warnings.push(w),
            },
            Err(w) => out.warnings.push(w),
        }
        return;
    }
    let st = match st {
        Some(st) => st,
        None => match fstatat(Some(dir), name, nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(e) => {
                out.warnings.push(warn(path, format!("stat: {e}")));
                return;
            }
        },
    };
    if st.st_mode & 0o111 == 0 || st.st_size < 4 {
        return;
    }
    let mut file = match open_at(dir, name, OFlag::O_NONBLOCK) {
        Ok(fd) => File::from(fd),
        Err(e) => {
            out.warnings.push(warn(path, format!("open: {e}")));
            return;
        }
    };
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || &magic != ELF_MAGIC {
        return;
    }
    let mut data = magic.to_vec();
    if let Err(w) = read_rest(&mut file, &mut data, path) {
        out.warnings.push(w);
        return;
    }
    match lang::read_binary(path, &data) {
        Ok(p) => out.packages.extend(p),
        Err(w) => out.warnings.push(w),
    }
}

/// The bytes of regular file `name` in `dir`, symlinks not followed.
fn read_file(dir: RawFd, name: &CStr, path: &str) -> Result<Vec<u8>, ScanWarning> {
    let fd = open_at(dir, name, OFlag::O_NONBLOCK).map_err(|e| warn(path, format!("open: {e}")))?;
    let mut file = File::from(fd);
    let mut data = Vec::new();
    read_rest(&mut file, &mut data, path)?;
    Ok(data)
}

fn read_rest(file: &mut File, data: &mut Vec<u8>, path: &str) -> Result<(), ScanWarning> {
    let size = file
        .metadata()
        .map_err(|e| warn(path, format!("stat: {e}")))?
        .len();
    if size > READ_CAP {
        return Err(warn(
            path,
            format!("not read: larger than {READ_CAP} bytes"),
        ));
    }
    data.reserve(size as usize);
    file.take(READ_CAP + 1 - data.len() as u64)
        .read_to_end(data)
        .map_err(|e| warn(path, format!("read: {e}")))?;
    if data.len() as u64 > READ_CAP {
        return Err(warn(
            path,
            format!("not read: larger than {READ_CAP} bytes"),
        ));
    }
    Ok(())
}
