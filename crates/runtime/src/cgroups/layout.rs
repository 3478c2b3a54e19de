//! Which cgroup hierarchies the host has (v1, hybrid, v2) and where the
//! container's cgroup lives in each: `linux.cgroupsPath` resolution.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::error::{Error, Result};
use super::fsutil;

/// The cgroup setup of a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Only v1 hierarchies.
    Legacy,
    /// v1 hierarchies plus a cgroup2 mount (usually `/sys/fs/cgroup/unified`)
    /// that may own the controllers no v1 hierarchy binds.
    Hybrid,
    /// Only the unified (cgroup2) hierarchy.
    Unified,
}

/// One mounted hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Controllers bound to it, comma separated as in /proc/self/cgroup
    /// (`cpu,cpuacct`, `name=systemd`); empty for cgroup2.
    pub controllers: String,
    /// Where it is mounted.
    pub mountpoint: PathBuf,
    /// The cgroup shown at the mountpoint (field 4 of mountinfo), `/` unless
    /// the mount is a bind of a sub-cgroup.
    pub root: String,
}

/// The hierarchies of a host, as detected once per process. Tests build one
/// by hand over a temporary directory laid out like cgroupfs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// v1, hybrid or v2.
    pub mode: Mode,
    /// The v1 hierarchies this module manages (the known controllers and
    /// `name=systemd`), at most one mount each.
    pub v1: Vec<Mount>,
    /// The cgroup2 mount, if any.
    pub unified: Option<Mount>,
}

/// The v1 controllers this module knows; other named hierarchies are left
/// alone.
const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "name=systemd",
];

const MOUNTINFO: &str = "/proc/self/mountinfo";
const DEFAULT_ROOT: &str = "/sys/fs/cgroup";

impl Layout {
    /// Detect the host's layout. A pure v2 host is recognised by one
    /// statfs(2) of /sys/fs/cgroup; otherwise /proc/self/mountinfo is read
    /// once.
    pub fn detect() -> Result<Layout> {
        if is_cgroup2(Path::new(DEFAULT_ROOT)) {
            return Ok(Layout {
                mode: Mode::Unified,
                v1: Vec::new(),
                unified: Some(Mount {
                    controllers: String::new(),
                    mountpoint: PathBuf::from(DEFAULT_ROOT),
                    root: "/".into(),
                }),
            });
        }
        let text = fsutil::read_path(Path::new(MOUNTINFO))?;
        Layout::from_mountinfo(&text)
    }

    /// Build the layout from the text of a mountinfo file.
    pub fn from_mountinfo(text: &str) -> Result<Layout> {
        let mut v1: Vec<Mount> = Vec::new();
        let mut unified = None;
        for line in text.lines() {
            let Some((pre, post)) = line.split_once(" - ") else {
                continue;
            };
            let mut pre_fields = pre.split(' ');
            let (Some(root), Some(mountpoint)) = (pre_fields.nth(3), pre_fields.next()) else {
                continue;
            };
            let mut post_fields = post.split(' ');
            let (Some(fstype), Some(_source), Some(opts)) =
                (post_fields.next(), post_fields.next(), post_fields.next())
            else {
                continue;
            };
            let mountpoint = PathBuf::from(unescape(mountpoint));
            // A later mount on the same point hides an earlier one (an
            // engine may cover /sys/fs/cgroup/unified with a tmpfs).
            if unified
                .as_ref()
                .is_some_and(|m: &Mount| m.mountpoint == mountpoint)
            {
                unified = None;
            }
            v1.retain(|m| m.mountpoint != mountpoint);
            match fstype {
                "cgroup2" if unified.is_none() => {
                    unified = Some(Mount {
                        controllers: String::new(),
                        mountpoint,
                        root: unescape(root),
                    });
                }
                "cgroup" => {
                    let mut controllers = String::new();
                    for opt in opts.split(',') {
                        if V1_CONTROLLERS.contains(&opt) {
                            if !controllers.is_empty() {
                                controllers.push(',');
                            }
                            controllers.push_str(opt);
                        }
                    }
                    if !controllers.is_empty() && !v1.iter().any(|m| m.controllers == controllers) {
                        v1.push(Mount {
                            controllers,
                            mountpoint,
                            root: unescape(root),
                        });
                    }
                }
                _ => {}
            }
        }
        let mode = match (v1.is_empty(), unified.is_some()) {
            (true, true) => Mode::Unified,
            (false, true) => Mode::Hybrid,
            (false, false) => Mode::Legacy,
            (true, false) => return Err(Error::NoCgroupMounts),
        };
        Ok(Layout { mode, v1, unified })
    }
}

fn is_cgroup2(path: &Path) -> bool {
    nix::sys::statfs::statfs(path)
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

/// Undo mountinfo's octal escapes (`\040` for a space).
fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_owned();
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How `linux.cgroupsPath` names the cgroup, before it is placed in each
/// hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CgroupPath {
    /// From the root of every hierarchy (already cleaned, starts with `/`).
    Absolute(String),
    /// Below the calling process's own cgroup in each hierarchy.
    Relative(String),
}

/// Parse `linux.cgroupsPath` for container `id`.
///
/// - `""` means `<id>`, relative, as runc does.
/// - `/a/b` is absolute in every hierarchy.
/// - `slice:prefix:name` (systemd style, what podman passes with the
///   systemd cgroup manager) is mapped onto cgroupfs as systemd would lay it
///   out: `/<expanded slice>/<prefix>-<name>.scope`. berth has no systemd
///   driver: nothing is asked of systemd over D-Bus, the directories are
///   made directly. An empty slice means `system.slice`, as in runc.
/// - anything else is relative.
///
/// `..` components are resolved lexically and cannot climb above the root
/// of a hierarchy; a path that ends up at the root itself is refused (it
/// would put the container in the root cgroup and make `destroy` fail).
pub(crate) fn parse_cgroups_path(path: &str, id: &str) -> Result<CgroupPath> {
    let invalid = |reason| Error::InvalidPath {
        path: path.to_owned(),
        reason,
    };
    if path.is_empty() {
        if id.is_empty() || id.contains('/') || id == "." || id == ".." {
            return Err(invalid(
                "empty, and the container id is not a valid cgroup name",
            ));
        }
        return Ok(CgroupPath::Relative(id.to_owned()));
    }
    if path.starts_with('/') {
        let cleaned = clean(path);
        if cleaned == "/" {
            return Err(invalid("it is the root of the hierarchy"));
        }
        return Ok(CgroupPath::Absolute(cleaned));
    }
    if !path.contains('/') && path.bytes().filter(|&b| b == b':').count() == 2 {
        let mut parts = path.splitn(3, ':');
        let (slice, prefix, name) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        if name.is_empty() {
            return Err(invalid("systemd-style path with an empty name"));
        }
        let slice = if slice.is_empty() {
            "system.slice"
        } else {
            slice
        };
        let mut out = expand_slice(slice).ok_or_else(|| invalid("invalid systemd slice name"))?;
        out.push('/');
        if name.ends_with(".slice") {
            out.push_str(name);
        } else {
            if !prefix.is_empty() {
                out.push_str(prefix);
                out.push('-');
            }
            out.push_str(name);
            out.push_str(".scope");
        }
        return Ok(CgroupPath::Absolute(clean(&out)));
    }
    Ok(CgroupPath::Relative(path.to_owned()))
}

/// systemd's slice expansion: `a-b-c.slice` lives at
/// `/a.slice/a-b.slice/a-b-c.slice`; `-.slice` is the root.
fn expand_slice(slice: &str) -> Option<String> {
    let base = slice.strip_suffix(".slice")?;
    if base == "-" {
        return Some(String::new());
    }
    if base.is_empty()
        || base.contains('/')
        || base.starts_with('-')
        || base.ends_with('-')
        || base.contains("--")
    {
        return None;
    }
    let mut out = String::new();
    for (i, _) in base
        .match_indices('-')
        .chain(std::iter::once((base.len(), "")))
    {
        out.push('/');
        out.push_str(&base[..i]);
        out.push_str(".slice");
    }
    Some(out)
}

/// Lexically clean a path into `/a/b` form; `..` never climbs above `/`.
pub(crate) fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return "/".into();
    }
    let mut out = String::with_capacity(path.len() + 1);
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    out
}

/// The calling process's cgroup in each hierarchy, from the text of
/// /proc/self/cgroup: `(controllers, path)`; the unified one has empty
/// controllers.
pub(crate) fn parse_proc_cgroup(text: &str) -> Vec<(&str, &str)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let _id = it.next()?;
            Some((it.next()?, it.next()?))
        })
        .collect()
}

/// The directory of the container's cgroup in the hierarchy mounted at
/// `mount`. `own` is the caller's cgroup in that hierarchy (only needed for
/// relative paths).
pub(crate) fn cgroup_dir(mount: &Mount, path: &CgroupPath, own: Option<&str>) -> Result<PathBuf> {
    let inner = match path {
        CgroupPath::Absolute(p) => p.clone(),
        CgroupPath::Relative(rel) => {
            let own = own.ok_or_else(|| Error::OwnCgroupMissing {
                controllers: mount.controllers.clone(),
            })?;
            // /proc/self/cgroup shows paths from the cgroup namespace root;
            // a mount of a sub-cgroup shows that sub-cgroup at its root.
            let own = if mount.root != "/" {
                own.strip_prefix(mount.root.as_str()).unwrap_or(own)
            } else {
                own
            };
            let joined = clean(&format!("{own}/{rel}"));
            if joined == "/" {
                return Err(Error::InvalidPath {
                    path: rel.clone(),
                    reason: "it resolves to the root of the hierarchy",
                });
            }
            joined
        }
    };
    let mut dir = mount.mountpoint.clone().into_os_string();
    dir.push(&inner);
    Ok(PathBuf::from(dir))
}

/// The caller's cgroup in the hierarchy with exactly `controllers`.
pub(crate) fn own_path<'a>(entries: &[(&str, &'a str)], controllers: &str) -> Option<&'a str> {
    entries.iter().find_map(|&(c, p)| {
        let same = c == controllers
            || (!controllers.is_empty()
                && c.split(',').count() == controllers.split(',').count()
                && controllers.split(',').all(|x| c.split(',').any(|y| y == x)));
        same.then_some(p)
    })
}
