//! What happens after `pivot_root`: sysctls, masked and read-only paths, a
//! read-only root. Paths are the container's own now; the host is gone.

use super::mounts::locked_flags;
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::mount::{mount, MsFlags};
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// `path` made absolute with `.` and `..` resolved by the letters alone
/// (as openat2 resolves them inside the root): `/tmp/../proc` is `/proc`.
pub fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for c in path.components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

/// Refuse to write through a `/proc` that is not procfs.
pub fn ensure_procfs() -> Result<()> {
    let st = nix::sys::statfs::statfs("/proc").map_err(|e| Error::sys("statfs /proc", e))?;
    if st.filesystem_type().0 as i64 != PROC_SUPER_MAGIC {
        return Err(Error::InvalidConfig {
            field: "mounts",
            reason: "/proc in the container is not a proc file system".into(),
        });
    }
    Ok(())
}

/// Write each `linux.sysctl` key under `/proc/sys`.
pub fn write_sysctls(sysctl: &HashMap<String, String>) -> Result<()> {
    if !sysctl.is_empty() {
        ensure_procfs()?;
    }
    for (key, value) in sysctl {
        if key.contains("..") || key.contains('/') && key.contains('.') && key.starts_with('/') {
            return Err(Error::InvalidConfig {
                field: "linux.sysctl",
                reason: format!("invalid key {key:?}"),
            });
        }
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        std::fs::write(&path, value.as_bytes()).map_err(|e| Error::io("write sysctl", path, e))?;
    }
    Ok(())
}

/// Hide each path: directories under an empty read-only tmpfs, files under
/// `/dev/null`. Paths that do not exist are skipped, as the spec allows.
pub fn mask_paths(paths: &[String]) -> Result<()> {
    for p in paths {
        let path = Path::new(p);
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(Error::io("mask", path, e)),
        };
        let res = if meta.is_dir() {
            mount(
                Some("tmpfs"),
                path,
                Some("tmpfs"),
                MsFlags::MS_RDONLY,
                None::<&str>,
            )
        } else {
            mount(
                Some("/dev/null"),
                path,
                None::<&str>,
                MsFlags::MS_BIND,
                None::<&str>,
            )
        };
        match res {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(Error::sys(format!("mask {p}"), e)),
        }
    }
    Ok(())
}

/// Make each path a read-only bind of itself.
pub fn readonly_paths(paths: &[String]) -> Result<()> {
    for p in paths {
        let path = Path::new(p);
        match mount(
            Some(path),
            path,
            None::<&str>,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None::<&str>,
        ) {
            Ok(()) => {}
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys(format!("bind {p} read-only"), e)),
        }
        let flags =
            locked_flags(path) | MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
        mount(None::<&str>, path, None::<&str>, flags, None::<&str>)
            .map_err(|e| Error::sys(format!("remount {p} read-only"), e))?;
    }
    Ok(())
}

/// Remount the container's root read-only (`root.readonly`).
pub fn readonly_root() -> Result<()> {
    let flags =
        locked_flags(Path::new("/")) | MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    mount(None::<&str>, "/", None::<&str>, flags, None::<&str>)
        .map_err(|e| Error::sys("remount / read-only", e))
}
