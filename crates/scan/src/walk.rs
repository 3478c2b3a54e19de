//! The one pass over an image's tree that finds language packages.
//!
//! Directories are opened one name at a time below their parent's fd with
//! `O_NOFOLLOW`, so the walk never follows a symlink: it cannot loop and
//! cannot leave the root, whatever links the image plants. Each regular
//! file's path goes to [`lang::classify`]; each executable regular file
//! that starts with the ELF magic goes to [`lang::read_binary`]; each
//! directory's path to [`lang::required_file`]. What cannot be read
//! becomes a warning and the walk goes on.
//!
//! A few threads share a stack of directories still to read (depth first,
//! so few directory fds are held open at once); the results are merged and
//! sorted, so the output does not depend on which thread read what.

use crate::file_bytes::FileBytes;
use crate::lang;
use crate::model::{Package, ScanWarning};
use nix::dir::{Dir, Type};
use nix::fcntl::{openat, AtFlags, OFlag};
use nix::sys::stat::{fstat, fstatat, Mode, SFlag};
use std::ffi::{CStr, CString};
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::sync::{Arc, Condvar, Mutex};

/// Deeper directories are reported, not entered.
const MAX_DEPTH: usize = 256;

/// At most this many walking threads.
const MAX_THREADS: usize = 4;

const ELF_MAGIC: &[u8; 4] = b"\x7fELF";

/// What one walk found.
#[derive(Debug, Default)]
pub struct WalkResult {
    pub packages: Vec<Package>,
    pub warnings: Vec<ScanWarning>,
    /// Regular files seen (for measurements).
    pub files: usize,
}

/// How to walk.
#[derive(Debug, Clone, Copy, Default)]
pub struct WalkOptions {
    /// Map files instead of reading them: only for a tree nothing changes
    /// while it is walked (see [`FileBytes`]).
    pub frozen: bool,
}

/// A directory still to read: `name` below the directory `parent`.
struct Job {
    parent: Arc<OwnedFd>,
    name: CString,
    path: String,
    depth: usize,
}

/// The stack of jobs and how many threads are reading one.
struct Queue {
    state: Mutex<(Vec<Job>, usize)>,
    more: Condvar,
}

/// Walk the tree below the directory `root` (an fd on the image's `/`),
/// staying on its filesystem.
pub fn walk(root: &OwnedFd, opts: WalkOptions) -> WalkResult {
    let mut out = WalkResult::default();
    let (dev, root) = match fstat(root.as_raw_fd()).and_then(|st| Ok((st.st_dev, dup(root)?))) {
        Ok(x) => x,
        Err(e) => {
            out.warnings.push(warn("/", format!("open: {e}")));
            return out;
        }
    };
    let queue = Queue {
        state: Mutex::new((
            vec![Job {
                parent: Arc::new(root),
                name: CString::from(c"."),
                path: String::new(),
                depth: 0,
            }],
            0,
        )),
        more: Condvar::new(),
    };
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_THREADS);
    let results: Vec<WalkResult> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| s.spawn(|| worker(&queue, dev, opts)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_default())
            .collect()
    });
    for r in results {
        out.packages.extend(r.packages);
        out.warnings.extend(r.warnings);
        out.files += r.files;
    }
    out.packages.sort_by(|a, b| a.location.cmp(&b.location));
    out.warnings.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn dup(fd: &OwnedFd) -> nix::Result<OwnedFd> {
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

/// Take jobs until none is left and no thread can add one.
fn worker(queue: &Queue, dev: u64, opts: WalkOptions) -> WalkResult {
    let mut out = WalkResult::default();
    loop {
        let job = {
            let Ok(mut st) = queue.state.lock() else {
                return out;
            };
            loop {
                if let Some(job) = st.0.pop() {
                    st.1 += 1;
                    break job;
                }
                if st.1 == 0 {
                    queue.more.notify_all();
                    return out;
                }
                st = match queue.more.wait(st) {
                    Ok(s) => s,
                    Err(_) => return out,
                };
            }
        };
        // A reader that panics on hostile bytes must neither stop the scan
        // nor leave this job counted as busy (the others would wait on it
        // for ever): the directory becomes a warning.
        let path = job.path.clone();
        let found = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut mine = WalkResult::default();
            let found = read_dir(job, dev, opts, &mut mine);
            (found, mine)
        }));
        let found = match found {
            Ok((found, mine)) => {
                out.packages.extend(mine.packages);
                out.warnings.extend(mine.warnings);
                out.files += mine.files;
                found
            }
            Err(_) => {
                out.warnings
                    .push(warn(&path, "a reader failed on this directory".into()));
                Vec::new()
            }
        };
        if let Ok(mut st) = queue.state.lock() {
            st.0.extend(found);
            st.1 -= 1;
        }
        queue.more.notify_all();
    }
}

/// Read one directory: visit its files, return its subdirectories.
fn read_dir(job: Job, dev: u64, opts: WalkOptions, out: &mut WalkResult) -> Vec<Job> {
    let path = job.path.as_str();
    let fd = match open_at(job.parent.as_raw_fd(), &job.name, OFlag::O_DIRECTORY) {
        Ok(fd) => fd,
        Err(e) => {
            out.warnings
                .push(warn(path, format!("open directory: {e}")));
            return Vec::new();
        }
    };
    match fstat(fd.as_raw_fd()) {
        // Another filesystem mounted inside (a container's /proc): not
        // the image's.
        Ok(st) if st.st_dev != dev => return Vec::new(),
        Ok(_) => {}
        Err(e) => {
            out.warnings.push(warn(path, format!("stat: {e}")));
            return Vec::new();
        }
    }
    let entries = match list(&fd) {
        Ok(e) => e,
        Err(e) => {
            out.warnings
                .push(warn(path, format!("read directory: {e}")));
            return Vec::new();
        }
    };
    if let Some(file) = lang::required_file(if path.is_empty() { "/" } else { path }) {
        if !entries.iter().any(|(n, _)| n.as_bytes() == file.as_bytes()) {
            let p = format!("{path}/{file}");
            out.warnings
                .push(warn(&p, "missing: the record is incomplete".into()));
        }
    }
    let fd = Arc::new(fd);
    let mut subdirs = Vec::new();
    for (name, kind) in entries {
        let child = format!("{path}/{}", String::from_utf8_lossy(name.as_bytes()));
        let kind = match kind {
            Some(k) => Some(k),
            None => match fstatat(
                Some(fd.as_raw_fd()),
                name.as_c_str(),
                AtFlags::AT_SYMLINK_NOFOLLOW,
            ) {
                Ok(st) => match SFlag::from_bits_truncate(st.st_mode & SFlag::S_IFMT.bits()) {
                    SFlag::S_IFREG => Some(Type::File),
                    SFlag::S_IFDIR => Some(Type::Directory),
                    _ => None,
                },
                Err(e) => {
                    out.warnings.push(warn(&child, format!("stat: {e}")));
                    None
                }
            },
        };
        match kind {
            Some(Type::Directory) if job.depth >= MAX_DEPTH => out.warnings.push(warn(
                &child,
                format!("not read: deeper than {MAX_DEPTH} levels"),
            )),
            Some(Type::Directory) => subdirs.push(Job {
                parent: fd.clone(),
                name,
                path: child,
                depth: job.depth + 1,
            }),
            Some(Type::File) => visit_file(fd.as_raw_fd(), &name, &child, opts, out),
            _ => {}
        }
    }
    subdirs
}

/// The names in directory `fd` and their types where the filesystem
/// gives them.
fn list(fd: &OwnedFd) -> nix::Result<Vec<(CString, Option<Type>)>> {
    let mut dir = Dir::openat(
        Some(fd.as_raw_fd()),
        c".",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let mut names = Vec::new();
    for entry in dir.iter() {
        let e = entry?;
        let name = e.file_name();
        if name == c"." || name == c".." {
            continue;
        }
        let kind = match e.file_type() {
            Some(Type::File) => Some(Type::File),
            Some(Type::Directory) => Some(Type::Directory),
            Some(_) => Some(Type::Symlink),
            None => None,
        };
        names.push((name.to_owned(), kind));
    }
    Ok(names)
}

/// A regular file: a language record by its path, or an executable that
/// may be an ELF binary with embedded module lists.
fn visit_file(dir: RawFd, name: &CStr, path: &str, opts: WalkOptions, out: &mut WalkResult) {
    out.files += 1;
    if let Some(kind) = lang::classify(path) {
        match open_file(dir, name).and_then(|f| FileBytes::of(f, opts.frozen)) {
            Ok(data) => match lang::read_record(kind, path, &data) {
                Ok(p) => out.packages.extend(p),
                Err(w) => out.warnings.push(w),
            },
            Err(e) => out.warnings.push(warn(path, e)),
        }
        return;
    }
    let st = match fstatat(Some(dir), name, AtFlags::AT_SYMLINK_NOFOLLOW) {
        Ok(st) => st,
        Err(e) => return out.warnings.push(warn(path, format!("stat: {e}"))),
    };
    if st.st_mode & 0o111 == 0 || st.st_size < 4 {
        return;
    }
    let mut file = match open_file(dir, name) {
        Ok(f) => f,
        Err(e) => return out.warnings.push(warn(path, e)),
    };
    let mut magic = [0u8; 4];
    if file.read_exact(&mut magic).is_err() || &magic != ELF_MAGIC {
        return;
    }
    let data = match file_from_start(file).and_then(|f| FileBytes::of(f, opts.frozen)) {
        Ok(d) => d,
        Err(e) => return out.warnings.push(warn(path, e)),
    };
    match lang::read_binary(path, &data) {
        Ok(p) => out.packages.extend(p),
        Err(w) => out.warnings.push(w),
    }
}

/// Regular file `name` in `dir`, opened without following a link and
/// without blocking (a fifo that raced in stays harmless).
fn open_file(dir: RawFd, name: &CStr) -> Result<File, String> {
    open_at(dir, name, OFlag::O_NONBLOCK)
        .map(File::from)
        .map_err(|e| format!("open: {e}"))
}

fn file_from_start(mut file: File) -> Result<File, String> {
    use std::io::Seek;
    file.rewind().map_err(|e| format!("seek: {e}"))?;
    Ok(file)
}
