//! Small file helpers for cgroupfs: one open/write/close per value, errors
//! that name the file, `mkdir -p`, and removal that waits for exiting tasks.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{Error, Result};

/// Write `value` to `dir/name` in a single write(2), as cgroupfs requires.
/// The file is not created: a missing file means a missing controller or
/// an unsupported knob, and is reported as such.
pub(crate) fn write(dir: &Path, name: &str, value: &str) -> Result<()> {
    let path = dir.join(name);
    write_path(&path, value)
}

/// [`write`] for a full path.
pub(crate) fn write_path(path: &Path, value: &str) -> Result<()> {
    let err = |source| Error::Write {
        path: path.to_path_buf(),
        value: value.to_owned(),
        source,
    };
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(err)?;
    let written = file.write(value.as_bytes()).map_err(err)?;
    if written != value.len() {
        return Err(err(io::Error::from(io::ErrorKind::WriteZero)));
    }
    Ok(())
}

/// Read `dir/name` whole.
pub(crate) fn read(dir: &Path, name: &str) -> Result<String> {
    read_path(&dir.join(name))
}

/// Read a file whole. procfs and cgroupfs report size 0, so start with a
/// page-sized buffer: one read(2) for the usual small file instead of a
/// series of growing ones.
pub(crate) fn read_path(path: &Path) -> Result<String> {
    read_small(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn read_small(path: &Path) -> io::Result<String> {
    let mut buf = Vec::with_capacity(4096);
    File::open(path)?.read_to_end(&mut buf)?;
    String::from_utf8(buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Write each of `values` to `path` with its own write(2) on one open
/// file: cgroupfs handles every write separately, whatever the offset
/// (`devices.allow` takes one rule per write).
pub(crate) fn write_lines<'a>(
    path: &Path,
    values: impl IntoIterator<Item = &'a str>,
) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            value: String::new(),
            source,
        })?;
    for value in values {
        let err = |source| Error::Write {
            path: path.to_path_buf(),
            value: value.to_owned(),
            source,
        };
        let written = file.write(value.as_bytes()).map_err(err)?;
        if written != value.len() {
            return Err(err(io::Error::from(io::ErrorKind::WriteZero)));
        }
    }
    Ok(())
}

/// Read `dir/name`, or `None` when the file does not exist (a controller or
/// knob this kernel does not have).
pub(crate) fn read_opt(dir: &Path, name: &str) -> Result<Option<String>> {
    let path = dir.join(name);
    match read_small(&path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read { path, source }),
    }
}

/// Parse a single unsigned number (a cgroup file such as `pids.current`).
/// `max` reads as 0, as runc reports an unlimited value.
pub(crate) fn read_u64(dir: &Path, name: &str) -> Result<Option<u64>> {
    let Some(s) = read_opt(dir, name)? else {
        return Ok(None);
    };
    let t = s.trim();
    if t == "max" {
        return Ok(Some(0));
    }
    t.parse().map(Some).map_err(|_| Error::Parse {
        path: dir.join(name),
        content: s,
    })
}

/// Whether `dir/name` exists.
pub(crate) fn exists(dir: &Path, name: &str) -> bool {
    dir.join(name).exists()
}

/// `mkdir -p`. Returns the directories it created, outermost first, so a
/// caller can initialise them (cpuset) or remove them again on failure.
pub(crate) fn mkdir_p(path: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    match fs::create_dir(path) {
        Ok(()) => {
            created.push(path.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Another container's delete may remove a parent it made just
            // after we found it (see Cgroup::destroy): make it again.
            let mut attempts = 3;
            loop {
                if let Some(parent) = path.parent() {
                    mkdir_p(parent, created)?;
                }
                match fs::create_dir(path) {
                    Ok(()) => {
                        created.push(path.to_path_buf());
                        return Ok(());
                    }
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotFound && attempts > 0 => {
                        attempts -= 1;
                    }
                    Err(source) => {
                        return Err(Error::Mkdir {
                            path: path.to_path_buf(),
                            source,
                        })
                    }
                }
            }
        }
        Err(source) => Err(Error::Mkdir {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// How many rounds removal is tried while the last tasks exit; the delays
/// between rounds double from 1 ms, about a quarter second in all (runc
/// waits ~310 ms).
pub(crate) const RMDIR_ATTEMPTS: u32 = 9;

/// One attempt at removing a cgroup directory and the cgroups below it,
/// children first. `Ok(None)` when it is gone (or was never there);
/// `Ok(Some(err))` when it is still busy (tasks exiting, EBUSY) and worth
/// another try; `Err` for anything else.
pub(crate) fn try_remove_cgroup(path: &Path) -> Result<Option<io::Error>> {
    let e = match fs::remove_dir(path) {
        Ok(()) => return Ok(None),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => e,
    };
    if !matches!(
        e.raw_os_error(),
        Some(libc::EBUSY) | Some(libc::ENOTEMPTY) | Some(libc::EAGAIN)
    ) {
        return Err(Error::Rmdir {
            path: path.to_path_buf(),
            source: e,
        });
    }
    // Child cgroups (a nested runtime, systemd inside) keep the parent
    // busy: remove them first. Control files are not directories, so only
    // cgroups are visited.
    let mut had_children = false;
    if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                had_children = true;
                try_remove_cgroup(&entry.path())?;
            }
        }
    }
    if had_children {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Ok(Some(e)),
        }
    }
    Ok(Some(e))
}

/// Remove cgroup directories, retrying those still busy in rounds so that
/// the wait for exiting tasks is paid once, not once per hierarchy. Every
/// directory is tried; the first error is returned.
pub(crate) fn remove_cgroups<'a>(dirs: impl Iterator<Item = &'a Path>) -> Result<()> {
    let mut pending: Vec<&Path> = dirs.collect();
    let mut first_err = None;
    let mut delay = Duration::from_millis(1);
    for round in 0..RMDIR_ATTEMPTS {
        let mut busy = Vec::new();
        for dir in pending {
            match try_remove_cgroup(dir) {
                Ok(None) => {}
                Ok(Some(e)) => busy.push((dir, e)),
                Err(e) => {
                    first_err.get_or_insert(e);
                }
            }
        }
        if busy.is_empty() {
            break;
        }
        if round + 1 == RMDIR_ATTEMPTS {
            let (dir, source) = busy.swap_remove(0);
            first_err.get_or_insert(Error::Rmdir {
                path: dir.to_path_buf(),
                source,
            });
            break;
        }
        std::thread::sleep(delay);
        delay *= 2;
        pending = busy.into_iter().map(|(d, _)| d).collect();
    }
    first_err.map_or(Ok(()), Err)
}
