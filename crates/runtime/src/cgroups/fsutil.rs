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

/// Read a file whole.
pub(crate) fn read_path(path: &Path) -> Result<String> {
    let mut s = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut s))
        .map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
    Ok(s)
}

/// Read `dir/name`, or `None` when the file does not exist (a controller or
/// knob this kernel does not have).
pub(crate) fn read_opt(dir: &Path, name: &str) -> Result<Option<String>> {
    let path = dir.join(name);
    let mut s = String::new();
    match File::open(&path).and_then(|mut f| f.read_to_string(&mut s)) {
        Ok(_) => Ok(Some(s)),
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
            if let Some(parent) = path.parent() {
                mkdir_p(parent, created)?;
            }
            match fs::create_dir(path) {
                Ok(()) => {
                    created.push(path.to_path_buf());
                    Ok(())
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
                Err(source) => Err(Error::Mkdir {
                    path: path.to_path_buf(),
                    source,
                }),
            }
        }
        Err(source) => Err(Error::Mkdir {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// How many times removal is retried while the last tasks exit; the delays
/// double from 1 ms, about a quarter second in all (runc waits ~310 ms).
const RMDIR_ATTEMPTS: u32 = 9;

/// Remove a cgroup directory and every cgroup below it, children first.
/// A directory already gone is fine. EBUSY (tasks still exiting, or a child
/// cgroup appearing) is retried briefly.
pub(crate) fn remove_cgroup(path: &Path) -> Result<()> {
    let mut delay = Duration::from_millis(1);
    let mut attempt = 0;
    loop {
        match fs::remove_dir(path) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                let busy = matches!(
                    e.raw_os_error(),
                    Some(libc::EBUSY) | Some(libc::ENOTEMPTY) | Some(libc::EAGAIN)
                );
                if !busy || attempt + 1 >= RMDIR_ATTEMPTS {
                    return Err(Error::Rmdir {
                        path: path.to_path_buf(),
                        source: e,
                    });
                }
                // Child cgroups (a nested runtime, systemd inside) keep the
                // parent busy: remove them first. Control files are not
                // directories, so only cgroups are visited.
                let mut had_children = false;
                if let Ok(entries) = fs::read_dir(path) {
                    for entry in entries.flatten() {
                        if entry.file_type().is_ok_and(|t| t.is_dir()) {
                            had_children = true;
                            remove_cgroup(&entry.path())?;
                        }
                    }
                }
                if !had_children {
                    std::thread::sleep(delay);
                    delay *= 2;
                }
                attempt += 1;
            }
        }
    }
}
