//! The [`MountOptions`] of the container's volumes applied to the
//! config.json `spec::build` made, where each volume is an `rbind` with
//! `rprivate` propagation: another propagation replaces it, `idmap` adds
//! the identity mappings (berth gives containers no user namespace yet),
//! `bind` makes it a bind of the source alone (not its submounts),
//! `O` turns the bind into an overlay whose upper and work directories
//! are the container's, and `U` chowns the source to the process's user.
//! A shared or slave volume sets the root's propagation, as podman does.

use crate::error::{sys, Error, IoContext, Result};
use crate::options::CreateOptions;
use crate::volume_options::MountOptions;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{Mode, SFlag};
use nix::unistd::{Gid, Uid};
use oci_spec::runtime::{LinuxIdMappingBuilder, Mount, Spec};
use std::ffi::OsStr;
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Apply the volumes' options of `opts` (sources already host paths) to
/// `spec`. `overlays` is the container's directory for `O` mounts' upper
/// and work directories, one numbered subdirectory per volume.
pub(crate) fn apply(spec: &mut Spec, opts: &CreateOptions, overlays: &Path) -> Result<()> {
    let (uid, gid) = spec
        .process()
        .as_ref()
        .map(|p| (p.user().uid(), p.user().gid()))
        .unwrap_or((0, 0));
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    for (i, v) in opts.volumes.iter().enumerate() {
        let o = &v.options;
        if !(o.chown || o.overlay || o.idmap || o.nonrecursive || o.propagation.is_some()) {
            continue;
        }
        let dest = Path::new(&v.destination);
        let Some(m) = mounts
            .iter_mut()
            .rev()
            .find(|m| m.destination() == dest && m.typ().as_deref() == Some("bind"))
        else {
            continue;
        };
        if o.chown {
            chown_tree(Path::new(&v.source), uid, gid)?;
        }
        if o.overlay {
            *m = overlay(m, &v.source, &overlays.join(i.to_string()), v.readonly)?;
            continue;
        }
        set_propagation(m, o);
        if o.nonrecursive {
            // The mounts under the source stay out of the container.
            let mut options = m.options().clone().unwrap_or_default();
            options.retain(|x| x != "rbind");
            options.insert(0, "bind".into());
            m.set_options(Some(options));
        }
        if o.idmap {
            // No user namespace: the container's ids are the host's.
            let identity = LinuxIdMappingBuilder::default()
                .container_id(0u32)
                .host_id(0u32)
                .size(u32::MAX)
                .build()
                .map_err(|source| Error::Spec {
                    what: "mounts.uidMappings",
                    source,
                })?;
            m.set_uid_mappings(Some(vec![identity]));
            m.set_gid_mappings(Some(vec![identity]));
        }
    }
    spec.set_mounts(Some(mounts));
    if let (Some(p), Some(linux)) = (root_propagation(opts), spec.linux_mut()) {
        linux.set_rootfs_propagation(Some(p.into()));
    }
    Ok(())
}

/// podman's rule: a shared volume keeps the root `rshared`, a slave one
/// `rslave` (else the runtime's recursive slave or private root would
/// cut the volume off from its peers); nothing for private ones.
fn root_propagation(opts: &CreateOptions) -> Option<&'static str> {
    let modes: Vec<&str> = opts
        .volumes
        .iter()
        .filter_map(|v| v.options.propagation.as_deref())
        .collect();
    if modes.iter().any(|m| m.ends_with("shared")) {
        Some("rshared")
    } else if modes.iter().any(|m| m.ends_with("slave")) {
        Some("rslave")
    } else {
        None
    }
}

fn set_propagation(m: &mut Mount, o: &MountOptions) {
    let Some(p) = &o.propagation else { return };
    let mut options = m.options().clone().unwrap_or_default();
    options.retain(|x| !crate::volume_options::PROPAGATIONS.contains(&x.as_str()));
    options.insert(1.min(options.len()), p.clone());
    m.set_options(Some(options));
}

/// The overlay that replaces the bind of `lower` at `m`'s destination:
/// fresh upper and work directories under `dir`, so writes stay the
/// container's and never reach the host.
fn overlay(m: &Mount, lower: &str, dir: &Path, readonly: bool) -> Result<Mount> {
    let upper = dir.join("upper");
    let work = dir.join("work");
    for d in [&upper, &work] {
        std::fs::create_dir_all(d).ctx("create", d)?;
    }
    let mut options = vec![
        format!("lowerdir={lower}"),
        format!("upperdir={}", upper.display()),
        format!("workdir={}", work.display()),
        "private".to_string(),
        "nosuid".to_string(),
        "nodev".to_string(),
    ];
    if readonly {
        options.push("ro".into());
    }
    oci_spec::runtime::MountBuilder::default()
        .destination(m.destination())
        .typ("overlay")
        .source("overlay")
        .options(options)
        .build()
        .map_err(|source| Error::Spec {
            what: "mounts",
            source,
        })
}

/// `U`: `path` and everything below it to `uid:gid`. The tree may be
/// written by containers: it is walked by descriptor, each entry opened
/// relative to its parent with `O_NOFOLLOW`, and symlinks are chowned
/// themselves, never followed.
pub(crate) fn chown_tree(path: &Path, uid: u32, gid: u32) -> Result<()> {
    let (uid, gid) = (Some(Uid::from_raw(uid)), Some(Gid::from_raw(gid)));
    std::os::unix::fs::lchown(path, uid.map(|u| u.as_raw()), gid.map(|g| g.as_raw()))
        .ctx("chown", path)?;
    let meta = std::fs::symlink_metadata(path).ctx("stat", path)?;
    if !meta.is_dir() {
        return Ok(());
    }
    let fd = nix::fcntl::open(
        path,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(sys(format!("open {}", path.display())))?;
    // SAFETY: open returned a new descriptor that we now own.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    chown_dir(fd, path, uid, gid)
}

fn chown_dir(dir: OwnedFd, path: &Path, uid: Option<Uid>, gid: Option<Gid>) -> Result<()> {
    let what = |op: &str| sys(format!("{op} under {}", path.display()));
    // Dir takes the descriptor over and closes it.
    let mut d = nix::dir::Dir::from_fd(dir.into_raw_fd()).map_err(what("read"))?;
    let fd: RawFd = d.as_raw_fd();
    let mut subdirs = Vec::new();
    for entry in d.iter() {
        let entry = entry.map_err(what("read"))?;
        let name = OsStr::from_bytes(entry.file_name().to_bytes()).to_os_string();
        if name == "." || name == ".." {
            continue;
        }
        nix::unistd::fchownat(
            Some(fd),
            name.as_os_str(),
            uid,
            gid,
            AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(what("chown"))?;
        let st = nix::sys::stat::fstatat(Some(fd), name.as_os_str(), AtFlags::AT_SYMLINK_NOFOLLOW)
            .map_err(what("stat"))?;
        if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFDIR {
            subdirs.push(name);
        }
    }
    for name in subdirs {
        let child = nix::fcntl::openat(
            Some(fd),
            name.as_os_str(),
            OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC,
            Mode::empty(),
        )
        .map_err(what("open"))?;
        // SAFETY: openat returned a new descriptor that we now own.
        let child = unsafe { OwnedFd::from_raw_fd(child) };
        chown_dir(child, &path.join(&name), uid, gid)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    #[test]
    fn chown_tree_never_follows_links() {
        if !nix::unistd::geteuid().is_root() {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::NamedTempFile::new().unwrap();
        let tree = d.path().join("t");
        std::fs::create_dir_all(tree.join("a/b")).unwrap();
        std::fs::write(tree.join("a/b/f"), "x").unwrap();
        symlink(outside.path(), tree.join("a/link")).unwrap();
        chown_tree(&tree, 1234, 567).unwrap();
        for p in ["", "a", "a/b", "a/b/f", "a/link"] {
            let m = std::fs::symlink_metadata(tree.join(p)).unwrap();
            assert_eq!((m.uid(), m.gid()), (1234, 567), "{p}");
        }
        assert_eq!(std::fs::metadata(outside.path()).unwrap().uid(), 0);
    }
}
