//! `linux.rootfsPropagation`: how the container's root mount propagates.
//!
//! As runc does it, in three steps:
//! 1. before anything is mounted, the whole tree of the new mount
//!    namespace gets a propagation (rslave unless the config asks for
//!    shared or private), so no mount of ours reaches the host's peers;
//! 2. the mount holding the rootfs is made private if it is shared, since
//!    a bind under a shared mount would propagate to the host and
//!    pivot_root(2) refuses a shared parent (and an unbindable one could
//!    not be bound at all);
//! 3. after pivot_root the asked-for propagation is set on the new `/`:
//!    it cannot be set before, as pivot_root refuses a shared new root.

use super::mount_opts::propagation;
use crate::error::{Error, Result};
use nix::mount::{mount, MsFlags};
use std::path::{Path, PathBuf};

/// Step 1: the flags for `/` before the rootfs is bound. Always recursive,
/// so that every mount in the namespace leaves the host's peer groups.
pub fn before_pivot(configured: Option<&str>) -> MsFlags {
    let flags = configured
        .and_then(propagation)
        .unwrap_or(MsFlags::MS_SLAVE);
    let kind = if flags.contains(MsFlags::MS_SHARED) {
        MsFlags::MS_SHARED
    } else if flags.contains(MsFlags::MS_PRIVATE) {
        MsFlags::MS_PRIVATE
    } else {
        // slave, and unbindable: the sources of bind mounts must stay
        // bindable until they are mounted; `/` becomes unbindable in step 3.
        MsFlags::MS_SLAVE
    };
    kind | MsFlags::MS_REC
}

/// Step 3: the flags for the new `/`, exactly as configured (`rshared` is
/// recursive, `shared` is not); nothing when the config sets none.
pub fn after_pivot(configured: Option<&str>) -> Option<MsFlags> {
    configured.and_then(propagation)
}

/// Step 2: make the mount that holds `rootfs` private if it is shared or
/// unbindable.
pub fn make_parent_private(rootfs: &Path) -> Result<()> {
    let real = std::fs::canonicalize(rootfs).map_err(|e| Error::io("resolve", rootfs, e))?;
    let info = std::fs::read_to_string("/proc/self/mountinfo")
        .map_err(|e| Error::io("read", "/proc/self/mountinfo", e))?;
    let Some((point, optional)) = parent_mount(&info, &real) else {
        return Err(Error::InvalidConfig {
            field: "root.path",
            reason: format!("no mount holds {}", real.display()),
        });
    };
    let shared = optional.split(' ').any(|o| o.starts_with("shared:"));
    if shared || optional.split(' ').any(|o| o == "unbindable") {
        mount(
            None::<&str>,
            &point,
            None::<&str>,
            MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .map_err(|e| Error::sys(format!("make {} private", point.display()), e))?;
    }
    Ok(())
}

/// The deepest mount point in `mountinfo` at or above `path`, with the
/// optional fields of its line (`shared:N master:M`, `unbindable`); the
/// last one mounted wins when several share a mount point.
fn parent_mount(mountinfo: &str, path: &Path) -> Option<(PathBuf, String)> {
    let mut best: Option<(PathBuf, String)> = None;
    for line in mountinfo.lines() {
        let Some((head, _)) = line.split_once(" - ") else {
            continue;
        };
        let fields: Vec<&str> = head.split(' ').collect();
        let Some(point) = fields.get(4).map(|f| PathBuf::from(unescape(f))) else {
            continue;
        };
        if !path.starts_with(&point) {
            continue;
        }
        let deeper = best
            .as_ref()
            .is_none_or(|(b, _)| point.components().count() >= b.components().count());
        if deeper {
            best = Some((point, fields[6..].join(" ")));
        }
    }
    best
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match (bytes[i], octal) {
            (b'\\', Some(d)) => {
                out.push((d[0] - b'0') * 64 + (d[1] - b'0') * 8 + (d[2] - b'0'));
                i += 4;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INFO: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/root rw
30 22 0:26 / /tmp rw,nosuid shared:5 - tmpfs tmpfs rw
31 30 0:27 / /tmp/with\\040space rw master:3 - tmpfs tmpfs rw
32 22 0:28 / /srv rw unbindable - tmpfs tmpfs rw
";

    #[test]
    fn finds_the_deepest_mount_and_its_propagation() {
        let (p, o) = parent_mount(INFO, Path::new("/tmp/b/rootfs")).unwrap();
        assert_eq!((p.as_path(), o.as_str()), (Path::new("/tmp"), "shared:5"));
        let (p, o) = parent_mount(INFO, Path::new("/tmp/with space/r")).unwrap();
        assert_eq!(
            (p.as_path(), o.as_str()),
            (Path::new("/tmp/with space"), "master:3")
        );
        let (p, _) = parent_mount(INFO, Path::new("/var/lib/x")).unwrap();
        assert_eq!(p, Path::new("/"));
        let (_, o) = parent_mount(INFO, Path::new("/srv/x")).unwrap();
        assert_eq!(o, "unbindable");
    }

    #[test]
    fn before_and_after_pivot() {
        let rec = MsFlags::MS_REC;
        assert_eq!(before_pivot(None), MsFlags::MS_SLAVE | rec);
        assert_eq!(before_pivot(Some("shared")), MsFlags::MS_SHARED | rec);
        assert_eq!(before_pivot(Some("private")), MsFlags::MS_PRIVATE | rec);
        assert_eq!(before_pivot(Some("unbindable")), MsFlags::MS_SLAVE | rec);
        assert_eq!(after_pivot(None), None);
        assert_eq!(after_pivot(Some("shared")), Some(MsFlags::MS_SHARED));
        assert_eq!(after_pivot(Some("rslave")), Some(MsFlags::MS_SLAVE | rec));
    }
}
