//! The overlay driver: each layer is a directory of only its own changes;
//! a chain is mounted as one overlayfs.
//!
//! Layout under `<root>/overlay/`:
//! - `<id>/diff`  the layer's files (overlay's upper form: whiteouts are
//!   0/0 character devices, opaque directories carry an xattr);
//! - `<id>/work`  overlayfs' work directory, for read-write mounts;
//! - `<id>/link`  the layer's short name, `l/<link>` is a symlink to `diff`;
//! - `<id>/lower` the short names of the layers below, top first.
//!
//! Mounting uses the new mount API where the kernel takes each lower layer
//! as its own `lowerdir+` parameter (Linux 6.8+): no length limit. Older
//! kernels get mount(2), whose options are limited to one page (4096
//! bytes): with 64-character ids and absolute paths about 40 layers fit,
//! with `l/` + 26 characters relative to the overlay directory more than
//! 128 do. Those relative paths need the mounting thread's working
//! directory to be the overlay directory, so that mount runs on a
//! short-lived thread that unshares its working directory from the rest of
//! the process.

use super::{Driver, DriverKind, MountMode};
use crate::apply::WhiteoutStyle;
use crate::diff::{upper_changes, Change};
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{fill_random, list_dir, random_hex, remove_tree};
use rustix::mount::{MountFlags, UnmountFlags};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU8, Ordering};

const LINK_LEN: usize = 26;

/// The overlay driver over `<root>/overlay`.
#[derive(Debug)]
pub(crate) struct Overlay {
    dir: PathBuf,
}

impl Overlay {
    pub(crate) fn open(root: &Path) -> Result<Overlay> {
        let dir = root.join("overlay");
        fs::create_dir_all(dir.join("l")).ctx("create", dir.join("l"))?;
        fs::create_dir_all(dir.join("empty")).ctx("create", dir.join("empty"))?;
        Ok(Overlay { dir })
    }

    fn layer(&self, id: &str) -> PathBuf {
        self.dir.join(id)
    }

    fn read_small(path: &Path) -> Result<String> {
        Ok(fs::read_to_string(path)
            .ctx("read", path)?
            .trim()
            .to_string())
    }

    /// `l/<link>` entries of layer `id` and the layers below it, top first.
    fn chain_links(&self, id: &str) -> Result<Vec<String>> {
        let layer = self.layer(id);
        let mut links = vec![format!("l/{}", Self::read_small(&layer.join("link"))?)];
        let lower = Self::read_small(&layer.join("lower"))?;
        links.extend(
            lower
                .split(':')
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        Ok(links)
    }
}

fn short_link() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut buf = [0u8; LINK_LEN];
    fill_random(&mut buf);
    buf.iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect()
}

impl Driver for Overlay {
    fn kind(&self) -> DriverKind {
        DriverKind::Overlay
    }

    fn whiteout_style(&self) -> WhiteoutStyle {
        WhiteoutStyle::Overlay
    }

    fn prepare(&self, staging: &Path, parent: Option<&str>) -> Result<PathBuf> {
        let lower = match parent {
            Some(p) => self.chain_links(p)?.join(":"),
            None => String::new(),
        };
        fs::create_dir(staging).ctx("create", staging)?;
        fs::create_dir(staging.join("work")).ctx("create", staging.join("work"))?;
        fs::write(staging.join("lower"), lower).ctx("write", staging.join("lower"))?;
        let diff = staging.join("diff");
        fs::create_dir(&diff).ctx("create", &diff)?;
        Ok(diff)
    }

    fn layers_independent(&self) -> bool {
        true
    }

    fn set_parent(&self, staging: &Path, parent: Option<&str>) -> Result<()> {
        let lower = match parent {
            Some(p) => self.chain_links(p)?.join(":"),
            None => String::new(),
        };
        fs::write(staging.join("lower"), lower).ctx("write", staging.join("lower"))
    }

    fn lowers(&self, parent: Option<&str>) -> Result<Vec<PathBuf>> {
        match parent {
            None => Ok(Vec::new()),
            Some(p) => Ok(self
                .chain_links(p)?
                .iter()
                .map(|l| self.dir.join(l))
                .collect()),
        }
    }

    fn commit(&self, staging: &Path, id: &str) -> Result<()> {
        let layer = self.layer(id);
        fs::rename(staging, &layer).ctx("commit layer", &layer)?;
        let link = short_link();
        std::os::unix::fs::symlink(format!("../{id}/diff"), self.dir.join("l").join(&link))
            .ctx("create link", self.dir.join("l").join(&link))?;
        fs::write(layer.join("link"), &link).ctx("write", layer.join("link"))
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.layer(id)
    }

    fn content(&self, id: &str) -> PathBuf {
        self.layer(id).join("diff")
    }

    fn mount(&self, id: &str, target: &Path, mode: MountMode) -> Result<()> {
        let layer = self.layer(id);
        let spec = match mode {
            MountMode::ReadWrite => {
                let lower = Self::read_small(&layer.join("lower"))?;
                let mut lowers: Vec<String> = lower
                    .split(':')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect();
                if lowers.is_empty() {
                    lowers.push("empty".into());
                }
                MountSpec {
                    lowers,
                    upper: Some((format!("{id}/diff"), format!("{id}/work"))),
                }
            }
            MountMode::ReadOnly => {
                let mut lowers = self.chain_links(id)?;
                if lowers.len() == 1 {
                    // Without an upper layer overlayfs wants two lowers.
                    lowers.push("empty".into());
                }
                MountSpec {
                    lowers,
                    upper: None,
                }
            }
        };
        mount_overlay(&self.dir, &spec, target).map_err(|source| Error::Mount {
            op: "mount overlay on",
            target: target.to_path_buf(),
            source,
        })
    }

    fn remove(&self, id: &str) -> Result<()> {
        let layer = self.layer(id);
        if let Ok(link) = Self::read_small(&layer.join("link")) {
            if !link.is_empty() && !link.contains('/') {
                remove_tree(&self.dir.join("l").join(link))?;
            }
        }
        remove_tree(&layer)
    }

    fn detach(&self, id: &str, trash: &Path) -> Result<()> {
        let layer = self.layer(id);
        if let Ok(link) = Self::read_small(&layer.join("link")) {
            if !link.is_empty() && !link.contains('/') {
                remove_tree(&self.dir.join("l").join(link))?;
            }
        }
        match fs::rename(&layer, trash) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            r => r.ctx("move layer to trash", trash),
        }
    }

    fn list(&self) -> Result<Vec<String>> {
        Ok(list_dir(&self.dir)?
            .into_iter()
            .filter(|n| n != "l" && n != "empty")
            .collect())
    }

    fn changes(&self, id: &str, _parent: Option<&str>) -> Result<(PathBuf, Vec<Change>)> {
        let diff = self.layer(id).join("diff");
        let changes = upper_changes(&diff)?;
        Ok((diff, changes))
    }
}

/// Remove symlinks in `l/` whose layer is gone (a crash between removing a
/// layer and its link, or between commit and writing `link`).
pub(crate) fn prune_links(root: &Path) -> Result<()> {
    let l = root.join("overlay").join("l");
    for name in list_dir(&l)? {
        let p = l.join(&name);
        if fs::metadata(&p).is_err() {
            remove_tree(&p)?;
        }
    }
    Ok(())
}

/// What to mount: lower directories (top first) and an optional upper and
/// work directory, all relative to the overlay directory.
struct MountSpec {
    lowers: Vec<String>,
    upper: Option<(String, String)>,
}

/// Options every mount gets. index=off: the same lower layers are shared by
/// many mounts. metacopy and redirect_dir off: a diff must find every
/// changed file's data and every renamed directory in the upper layer.
/// In a user namespace overlayfs needs `userxattr` (trusted xattrs are out
/// of reach), which refuses redirect_dir=off: nofollow also writes no
/// redirects (a renamed directory is copied, as without redirect_dir).
fn fixed_options() -> &'static [(&'static str, Option<&'static str>)] {
    if crate::overlay_xattrs::in_user_namespace() {
        &[
            ("index", Some("off")),
            ("metacopy", Some("off")),
            ("redirect_dir", Some("nofollow")),
            ("userxattr", None),
        ]
    } else {
        &[
            ("index", Some("off")),
            ("metacopy", Some("off")),
            ("redirect_dir", Some("off")),
        ]
    }
}

/// The fixed options as mount(2) text: `,k=v,flag...`.
fn fixed_options_text() -> String {
    fixed_options()
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!(",{k}={v}"),
            None => format!(",{k}"),
        })
        .collect()
}

/// 0: not tried yet, 1: the new mount API with `lowerdir+` works, 2: it
/// does not (kernel before 6.8), use mount(2).
static NEW_API: AtomicU8 = AtomicU8::new(0);

fn mount_overlay(dir: &Path, spec: &MountSpec, target: &Path) -> std::io::Result<()> {
    if NEW_API.load(Ordering::Relaxed) != 2 {
        match mount_new_api(dir, spec, target) {
            Ok(()) => {
                NEW_API.store(1, Ordering::Relaxed);
                return Ok(());
            }
            Err(e) if NEW_API.load(Ordering::Relaxed) == 1 => return Err(e),
            Err(e) => {
                tracing::debug!(error = %e, "overlay lowerdir+ unavailable, using mount(2)");
                NEW_API.store(2, Ordering::Relaxed);
            }
        }
    }
    let (data, flags) = legacy_options(spec);
    mount_from(dir, &data, target, flags)
}

/// The mount(2) option string and flags for `spec`.
fn legacy_options(spec: &MountSpec) -> (String, MountFlags) {
    let mut data = format!("lowerdir={}", spec.lowers.join(":"));
    if let Some((upper, work)) = &spec.upper {
        data.push_str(&format!(",upperdir={upper},workdir={work}"));
    }
    data.push_str(&fixed_options_text());
    let mut flags = MountFlags::NODEV;
    if spec.upper.is_none() {
        flags |= MountFlags::RDONLY;
    }
    (data, flags)
}

/// fsopen/fsconfig/fsmount: each lower layer is its own `lowerdir+`
/// parameter with a full path, so there is no one-page limit on the option
/// string, and no need to change the working directory (which would take a
/// thread of its own, and a scheduler tick to start it on a busy machine).
fn mount_new_api(dir: &Path, spec: &MountSpec, target: &Path) -> std::io::Result<()> {
    use rustix::mount::{
        fsconfig_create, fsconfig_set_string, fsmount, fsopen, move_mount, FsMountFlags,
        FsOpenFlags, MountAttrFlags, MoveMountFlags,
    };
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    for lower in &spec.lowers {
        fsconfig_set_string(&fs, "lowerdir+", dir.join(lower))?;
    }
    let mut attrs = MountAttrFlags::MOUNT_ATTR_NODEV;
    match &spec.upper {
        Some((upper, work)) => {
            fsconfig_set_string(&fs, "upperdir", dir.join(upper))?;
            fsconfig_set_string(&fs, "workdir", dir.join(work))?;
        }
        None => attrs |= MountAttrFlags::MOUNT_ATTR_RDONLY,
    }
    for (k, v) in fixed_options() {
        match v {
            Some(v) => fsconfig_set_string(&fs, *k, *v)?,
            None => rustix::mount::fsconfig_set_flag(&fs, *k)?,
        }
    }
    fsconfig_create(&fs)?;
    let mnt = fsmount(&fs, FsMountFlags::FSMOUNT_CLOEXEC, attrs)?;
    move_mount(
        &mnt,
        c"",
        rustix::fs::CWD,
        target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )?;
    Ok(())
}

/// Mount overlayfs with `data` whose paths are relative to `dir`.
fn mount_from(dir: &Path, data: &str, target: &Path, flags: MountFlags) -> std::io::Result<()> {
    let data = std::ffi::CString::new(data).map_err(std::io::Error::other)?;
    std::thread::scope(|s| {
        s.spawn(|| -> std::io::Result<()> {
            // SAFETY: CLONE_FS gives only this thread its own working
            // directory, root and umask; file descriptor tables stay shared,
            // so no other thread loses or sees a different fd. The thread
            // ends right after the mount.
            unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::FS) }?;
            rustix::process::chdir(dir)?;
            rustix::mount::mount("overlay", target, "overlay", flags, data.as_c_str())?;
            Ok(())
        })
        .join()
        .unwrap_or_else(|_| Err(std::io::Error::other("mount thread panicked")))
    })
}

/// Try a real two-layer overlay mount under `root`.
pub(crate) fn probe(root: &Path) -> std::result::Result<(), String> {
    let base = root.join(format!(".overlay-probe-{}", random_hex(6)));
    let result = (|| -> std::io::Result<()> {
        for d in ["l1", "l2", "upper", "work", "merged"] {
            fs::create_dir_all(base.join(d))?;
        }
        fs::write(base.join("l1/f"), b"x")?;
        let data = format!(
            "lowerdir=l1:l2,upperdir=upper,workdir=work{}",
            fixed_options_text()
        );
        mount_from(&base, &data, &base.join("merged"), MountFlags::empty())?;
        // Deleting a lower file makes a whiteout (a 0/0 device) in the upper
        // directory: proof the upper filesystem supports what we need.
        let r = fs::remove_file(base.join("merged/f"));
        rustix::mount::unmount(base.join("merged"), UnmountFlags::DETACH)?;
        r
    })();
    let _ = fs::remove_dir_all(&base);
    result.map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On kernels without `lowerdir+`, mount(2) must still fit 130 layers
    /// in its one-page option string: that is what the short links are for.
    #[test]
    fn legacy_mount_fits_130_layers() {
        if !rustix::process::geteuid().is_root() {
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "needs root");
            eprintln!("skipping: needs root to mount");
            return;
        }
        let tmp = tempfile::tempdir_in("/dev/shm").unwrap();
        let dir = tmp.path();
        fs::create_dir_all(dir.join("l")).unwrap();
        let mut lowers = Vec::new();
        for i in 0..130 {
            let id = format!("{i:064x}");
            fs::create_dir_all(dir.join(&id).join("diff")).unwrap();
            fs::write(dir.join(&id).join("diff").join(format!("f{i}")), b"x").unwrap();
            let link = short_link();
            std::os::unix::fs::symlink(format!("../{id}/diff"), dir.join("l").join(&link)).unwrap();
            lowers.push(format!("l/{link}"));
        }
        let spec = MountSpec {
            lowers,
            upper: None,
        };
        let (data, flags) = legacy_options(&spec);
        assert!(data.len() < 4096, "{} bytes", data.len());
        let target = dir.join("merged");
        fs::create_dir(&target).unwrap();
        mount_from(dir, &data, &target, flags).unwrap();
        let seen = fs::read_dir(&target).unwrap().count();
        rustix::mount::unmount(&target, UnmountFlags::DETACH).unwrap();
        assert_eq!(seen, 130);
    }
}
