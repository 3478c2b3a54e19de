//! What a checkpoint holds that CRIU must not dump: the container's stdio
//! (files and pipes of the host), bind mounts from the host (the config's,
//! and the cgroup directories of a container without a cgroup namespace),
//! and a network namespace the container joined. Each is named to CRIU at dump time and
//! handed back at restore; the names are kept next to the images in
//! `berth-checkpoint.json`.

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use serde::{Deserialize, Serialize};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The record's file name inside the image directory.
pub const RECORD: &str = "berth-checkpoint.json";
/// CRIU's key for a joined network namespace.
pub const NETNS_KEY: &str = "berth-netns";

/// What `checkpoint` made external, for `restore` to reconnect.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Record {
    /// For stdio fd 0, 1, 2: CRIU's name of the host file or pipe it was
    /// (`file[mnt:ino]`, `pipe:[ino]`), or `None` when CRIU dumped it.
    pub stdio: Vec<Option<String>>,
    /// Destinations of bind mounts from the host.
    pub bind_mounts: Vec<PathBuf>,
    /// Whether the container joined an existing network namespace.
    pub external_netns: bool,
    /// Mount points of cgroup directories bound from the host (a container
    /// without its own cgroup namespace sees them that way).
    #[serde(default)]
    pub cgroup_binds: Vec<PathBuf>,
}

impl Record {
    /// Load the record of a checkpoint in `images`.
    pub fn load(images: &Path) -> Result<Record> {
        let path = images.join(RECORD);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::Criu {
                action: "restore",
                reason: format!(
                    "{} holds no berth checkpoint ({RECORD} is missing)",
                    images.display()
                ),
            },
            _ => Error::io("read", &path, e),
        })?;
        serde_json::from_slice(&bytes).map_err(|source| Error::State { path, source })
    }

    /// Write the record into `images`.
    pub fn save(&self, images: &Path) -> Result<()> {
        let path = images.join(RECORD);
        let bytes = serde_json::to_vec_pretty(self).map_err(|source| Error::State {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, bytes).map_err(|e| Error::io("write", path, e))
    }
}

/// CRIU's external name for fd `fd` of `pid`: host files are
/// `file[<mnt_id>:<inode>]` (hex, CRIU's own spelling), pipes and sockets
/// their link text. Anything else (anon inodes) is left to CRIU.
pub fn stdio_key(pid: i32, fd: i32) -> Result<Option<String>> {
    let link_path = format!("/proc/{pid}/fd/{fd}");
    let link = match std::fs::read_link(&link_path) {
        Ok(l) => l.to_string_lossy().into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("readlink", link_path, e)),
    };
    if link.starts_with("pipe:[") || link.starts_with("socket:[") {
        return Ok(Some(link));
    }
    if !link.starts_with('/') {
        return Ok(None);
    }
    let info_path = format!("/proc/{pid}/fdinfo/{fd}");
    let info = std::fs::read_to_string(&info_path).map_err(|e| Error::io("read", &info_path, e))?;
    let mnt_id: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("mnt_id:"))
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::Criu {
            action: "checkpoint",
            reason: format!("no mnt_id in {info_path}"),
        })?;
    let ino = std::fs::metadata(&link_path)
        .map_err(|e| Error::io("stat", &link_path, e))?
        .ino();
    Ok(Some(format!("file[{mnt_id:x}:{ino:x}]")))
}

/// Whether a config mount is a bind mount (its source is a host path).
fn is_bind(m: &oci_spec::runtime::Mount) -> bool {
    m.typ().as_deref() == Some("bind")
        || m.options()
            .as_ref()
            .is_some_and(|o| o.iter().any(|o| o == "bind" || o == "rbind"))
}

/// Destinations of the config's bind mounts.
pub fn bind_destinations(spec: &Spec) -> Vec<PathBuf> {
    spec.mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|m| is_bind(m))
        .map(|m| m.destination().clone())
        .collect()
}

/// The host source of the bind mount at `dest` in `spec`, made absolute
/// against the bundle.
pub fn bind_source(spec: &Spec, bundle: &Path, dest: &Path) -> Result<PathBuf> {
    let m = spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|m| is_bind(m) && m.destination() == dest)
        .ok_or_else(|| Error::InvalidConfig {
            field: "mounts",
            reason: format!(
                "the checkpoint has a bind mount at {} that this config lacks",
                dest.display()
            ),
        })?;
    let source = m.source().clone().unwrap_or_default();
    Ok(if source.is_absolute() {
        source
    } else {
        bundle.join(source)
    })
}

/// The path of a network namespace the config joins, if any.
pub fn joined_netns(spec: &Spec) -> Option<PathBuf> {
    spec.linux()
        .as_ref()?
        .namespaces()
        .as_deref()?
        .iter()
        .find(|n| n.typ() == LinuxNamespaceType::Network)
        .and_then(|n| n.path().clone())
}

/// The inode of the namespace file at `path` (CRIU's name for it).
pub fn netns_inode(path: &Path) -> Result<u64> {
    Ok(std::fs::metadata(path)
        .map_err(|e| Error::io("stat", path, e))?
        .ino())
}

/// Whether the runtime bound the cgroup directories from the host instead
/// of mounting the hierarchies in a cgroup namespace (as
/// `rootfs::cgroup_mount` decides: no cgroup namespace, or a user one).
fn cgroups_are_bound(spec: &Spec) -> bool {
    let namespaces = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().clone())
        .unwrap_or_default();
    let has = |t| namespaces.iter().any(|n| n.typ() == t);
    !has(LinuxNamespaceType::Cgroup) || has(LinuxNamespaceType::User)
}

/// Mount points of the cgroup file systems bound into the container whose
/// init is `pid` (empty when it mounted its own).
pub fn cgroup_binds(spec: &Spec, pid: i32) -> Result<Vec<PathBuf>> {
    if !cgroups_are_bound(spec) {
        return Ok(Vec::new());
    }
    let path = format!("/proc/{pid}/mountinfo");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io("read", &path, e))?;
    Ok(text
        .lines()
        .filter_map(|line| {
            let (front, back) = line.split_once(" - ")?;
            let fstype = back.split(' ').next()?;
            let mount_point = front.split(' ').nth(4)?;
            matches!(fstype, "cgroup" | "cgroup2").then(|| PathBuf::from(mount_point))
        })
        .collect())
}

/// The host directory to bind at `mount_point` on restore: the restored
/// container's cgroup in the hierarchy that `rootfs::cgroup_mount` puts
/// there (`<dest>/<name under /sys/fs/cgroup>`, or `<dest>` itself on v2).
pub fn cgroup_source(
    spec: &Spec,
    cgroup: Option<&crate::cgroups::Cgroup>,
    mount_point: &Path,
) -> Result<PathBuf> {
    let dest = spec
        .mounts()
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|m| m.typ().as_deref() == Some("cgroup"))
        .map(|m| m.destination().clone());
    let found = cgroup.zip(dest).and_then(|(cg, dest)| {
        cg.v1_hierarchies()
            .iter()
            .chain(cg.unified())
            .find(|h| {
                let name = h.mountpoint().strip_prefix("/sys/fs/cgroup").ok();
                name.map(|n| dest.join(n)).as_deref() == Some(mount_point)
            })
            .map(|h| h.dir().to_path_buf())
    });
    found.ok_or_else(|| Error::InvalidConfig {
        field: "mounts",
        reason: format!(
            "the checkpoint has a cgroup bind at {} that this config and host do not make",
            mount_point.display()
        ),
    })
}
