//! `/dev` for a container whose `/dev` is a fresh tmpfs: the default device
//! nodes, `linux.devices`, and the usual symlinks.

use super::resolve::{ensure_in_root, fd_path, Kind};
use crate::error::{Error, Result};
use nix::mount::{mount, MsFlags};
use nix::sys::stat::{makedev, mknodat, Mode, SFlag};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::path::Path;

/// The devices every container gets (runtime spec, "Default Devices").
const DEFAULT_DEVICES: [(&str, u64, u64); 6] = [
    ("/dev/null", 1, 3),
    ("/dev/zero", 1, 5),
    ("/dev/full", 1, 7),
    ("/dev/random", 1, 8),
    ("/dev/urandom", 1, 9),
    ("/dev/tty", 5, 0),
];

/// The links the spec asks for in `/dev`.
const DEV_SYMLINKS: [(&str, &str); 5] = [
    ("/proc/self/fd", "/dev/fd"),
    ("/proc/self/fd/0", "/dev/stdin"),
    ("/proc/self/fd/1", "/dev/stdout"),
    ("/proc/self/fd/2", "/dev/stderr"),
    ("pts/ptmx", "/dev/ptmx"),
];

/// Create the default devices and `devices` under `root`. In a user
/// namespace mknod is not allowed, so the host's nodes are bind mounted.
pub fn create_devices(root: BorrowedFd<'_>, devices: &[LinuxDevice], bind: bool) -> Result<()> {
    for (path, major, minor) in DEFAULT_DEVICES {
        if devices.iter().any(|d| d.path() == Path::new(path)) {
            continue;
        }
        make_node(
            root,
            Path::new(path),
            SFlag::S_IFCHR,
            major,
            minor,
            0o666,
            (0, 0),
            bind,
        )?;
    }
    for d in devices {
        let kind = match d.typ() {
            LinuxDeviceType::C | LinuxDeviceType::U => SFlag::S_IFCHR,
            LinuxDeviceType::B => SFlag::S_IFBLK,
            LinuxDeviceType::P => SFlag::S_IFIFO,
            LinuxDeviceType::A => {
                return Err(Error::InvalidConfig {
                    field: "linux.devices",
                    reason: format!(
                        "{}: type 'a' is only valid in the cgroup allow-list",
                        d.path().display()
                    ),
                })
            }
        };
        let mode = d.file_mode().unwrap_or(0o666);
        let owner = (d.uid().unwrap_or(0), d.gid().unwrap_or(0));
        make_node(
            root,
            d.path(),
            kind,
            d.major() as u64,
            d.minor() as u64,
            mode,
            owner,
            bind,
        )?;
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn make_node(
    root: BorrowedFd<'_>,
    path: &Path,
    kind: SFlag,
    major: u64,
    minor: u64,
    mode: u32,
    owner: (u32, u32),
    bind: bool,
) -> Result<()> {
    if bind {
        let fd = ensure_in_root(root, path, Kind::File)?;
        return mount(
            Some(path),
            &fd_path(&fd),
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| Error::sys(format!("bind device {}", path.display()), e));
    }
    let (dir, name) = parent_dir(root, path)?;
    match mknodat(
        Some(dir.as_raw_fd()),
        name,
        kind,
        Mode::from_bits_truncate(mode),
        makedev(major, minor),
    ) {
        Ok(()) => {}
        // The spec: a file already at `path` that is not the requested
        // device MUST be an error (an image's /etc/passwd must not be
        // chowned and passed off as a device).
        Err(nix::errno::Errno::EEXIST) => existing_matches(&dir, name, path, kind, major, minor)?,
        Err(e) => return Err(Error::sys(format!("mknod {}", path.display()), e)),
    }
    nix::unistd::fchownat(
        Some(dir.as_raw_fd()),
        name,
        Some(owner.0.into()),
        Some(owner.1.into()),
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| Error::sys(format!("chown {}", path.display()), e))
}

/// Whether the file `name` in `dir` is the device node asked for.
fn existing_matches(
    dir: &OwnedFd,
    name: &std::ffi::OsStr,
    path: &Path,
    kind: SFlag,
    major: u64,
    minor: u64,
) -> Result<()> {
    let st = nix::sys::stat::fstatat(
        Some(dir.as_raw_fd()),
        name,
        nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
    )
    .map_err(|e| Error::sys(format!("stat {}", path.display()), e))?;
    let same_kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == kind;
    // A fifo has no device number to compare.
    let same_dev = kind == SFlag::S_IFIFO || st.st_rdev == makedev(major, minor);
    if same_kind && same_dev {
        return Ok(());
    }
    Err(Error::InvalidConfig {
        field: "linux.devices",
        reason: format!(
            "{} already exists and is not the requested device",
            path.display()
        ),
    })
}

/// A real directory fd for the parent of `path` (created if missing), and
/// the last component.
fn parent_dir<'p>(root: BorrowedFd<'_>, path: &'p Path) -> Result<(OwnedFd, &'p std::ffi::OsStr)> {
    let name = path.file_name().ok_or_else(|| Error::InvalidConfig {
        field: "linux.devices",
        reason: format!("{} has no file name", path.display()),
    })?;
    let parent = path.parent().unwrap_or(Path::new("/"));
    let pfd = ensure_in_root(root, parent, Kind::Dir)?;
    let fd = nix::fcntl::open(
        &fd_path(&pfd),
        nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| Error::sys(format!("open {}", parent.display()), e))?;
    // SAFETY: `open` returned a new descriptor that we now own.
    Ok((unsafe { OwnedFd::from_raw_fd(fd) }, name))
}

/// The `/dev` links (`fd`, `stdin`…, `ptmx`), and `/dev/core` when `/proc`
/// is mounted.
pub fn create_dev_symlinks(root: BorrowedFd<'_>, with_proc: bool) -> Result<()> {
    let core = [("/proc/kcore", "/dev/core")];
    let extra: &[(&str, &str)] = if with_proc { &core } else { &[] };
    for (target, link) in DEV_SYMLINKS.iter().chain(extra) {
        let (dir, name) = parent_dir(root, Path::new(link))?;
        // A /dev/ptmx node may exist already; the link must replace it so
        // the container's devpts instance is used.
        let _ = nix::unistd::unlinkat(
            Some(dir.as_raw_fd()),
            name,
            nix::unistd::UnlinkatFlags::NoRemoveDir,
        );
        nix::unistd::symlinkat(*target, Some(dir.as_raw_fd()), name)
            .map_err(|e| Error::sys(format!("symlink {link}"), e))?;
    }
    Ok(())
}
