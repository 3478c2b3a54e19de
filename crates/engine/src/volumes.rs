//! Named volumes, podman's local driver: `<root>/volumes/<name>/_data`
//! holds the files, `<root>/volumes/<name>/volume.json` what berth knows
//! about it. Every process shares them through an flock on
//! `<root>/volumes/lock` (readers need none: files are renamed into
//! place), held to create or remove a volume and while a
//! container is created with volumes (so `volume rm` can trust the
//! containers' records when it checks who uses a volume, and a new volume
//! is filled once).
//!
//! `-v NAME:/ctr` uses the volume (creating it when missing); an image's
//! `Volumes` give each container anonymous volumes, removed with the
//! container by `rm -v` or `--rm`. A new volume is filled with the image's
//! files at the path on its first use (podman's copy-up, in
//! `volume_copy_up`).
//!
//! [`Volumes`] knows nothing of containers: who uses a volume is asked of
//! the caller (the engine reads it from its containers' records) while
//! the lock is held.

use crate::error::{Error, IoContext, Result};
use crate::options::{CreateOptions, Volume};
use crate::rootfs_reader::RootfsReader;
use crate::volume_copy_up::copy_up;
use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub use crate::volume_error::VolumeError;

/// `volume.json`, and what `volume ls`/`inspect` show.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeInfo {
    /// The name.
    #[serde(rename = "Name")]
    pub name: String,
    /// Always `local`.
    #[serde(rename = "Driver")]
    pub driver: String,
    /// Where its files are (`…/_data`).
    #[serde(rename = "Mountpoint")]
    pub mountpoint: PathBuf,
    /// RFC 3339 creation time.
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    /// Made for an image's `Volumes` entry of one container.
    #[serde(rename = "Anonymous", default)]
    pub anonymous: bool,
    /// Still to be filled from the image on its first use.
    #[serde(rename = "NeedsCopyUp", default)]
    pub needs_copy_up: bool,
}

/// Who uses a volume: names of containers, asked under the volumes lock.
pub(crate) type UsersOf<'a> = &'a dyn Fn(&str) -> Result<Vec<String>>;

/// The volumes of one store: their directory and the lock over it.
#[derive(Debug, Clone)]
pub(crate) struct Volumes {
    dir: PathBuf,
}

/// A hold on the volumes lock; released on drop.
pub(crate) struct VolumesLock {
    _lock: Flock<File>,
}

/// Volumes made while creating a container, removed again unless the
/// creation succeeded ([`NewVolumes::keep`]).
pub(crate) struct NewVolumes {
    volumes: Volumes,
    made: Vec<String>,
    /// The options with the image's anonymous volumes added.
    pub options: CreateOptions,
    _lock: Option<VolumesLock>,
}

impl NewVolumes {
    /// The container exists: keep what was made.
    pub(crate) fn keep(mut self) {
        self.made.clear();
    }
}

impl Drop for NewVolumes {
    fn drop(&mut self) {
        for name in &self.made {
            let _ = std::fs::remove_dir_all(self.volumes.dir.join(name));
        }
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

fn random_name() -> String {
    berth_storage::random_hex(32)
}

impl Volumes {
    /// The volumes kept in `dir` (`<store root>/volumes`).
    pub(crate) fn new(dir: PathBuf) -> Volumes {
        Volumes { dir }
    }

    fn lock(&self) -> Result<VolumesLock> {
        std::fs::create_dir_all(&self.dir).ctx("create", &self.dir)?;
        Ok(VolumesLock {
            _lock: crate::records::lock_exclusive(&self.dir.join("lock"))?,
        })
    }

    /// Make volume `name` (a random one when None). Volumes lock held.
    fn make(&self, name: Option<&str>, anonymous: bool) -> Result<VolumeInfo> {
        let name = match name {
            Some(n) if !valid_name(n) => return Err(VolumeError::BadName(n.into()).into()),
            Some(n) => n.to_string(),
            None => random_name(),
        };
        let dir = self.dir.join(&name);
        if dir.exists() {
            return Err(VolumeError::Exists(name).into());
        }
        // Built aside and renamed in: a crash leaves no half volume.
        let tmp = self.dir.join(format!(".tmp-{name}"));
        let _ = std::fs::remove_dir_all(&tmp);
        let data = tmp.join("_data");
        std::fs::create_dir_all(&data).ctx("create", &data)?;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))
            .ctx("chmod", &data)?;
        let info = VolumeInfo {
            mountpoint: dir.join("_data"),
            name: name.clone(),
            driver: "local".into(),
            created_at: crate::clock::now_rfc3339(),
            anonymous,
            needs_copy_up: true,
        };
        write_info(&tmp, &info)?;
        std::fs::rename(&tmp, &dir).ctx("rename", &dir)?;
        Ok(info)
    }

    /// `volume create [NAME]`.
    pub(crate) fn create(&self, name: Option<&str>) -> Result<VolumeInfo> {
        let _l = self.lock()?;
        self.make(name, false)
    }

    /// The volume `name`.
    pub(crate) fn get(&self, name: &str) -> Result<VolumeInfo> {
        if !valid_name(name) {
            return Err(VolumeError::NotFound(name.into()).into());
        }
        let path = self.dir.join(name).join("volume.json");
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(VolumeError::NotFound(name.into()).into())
            }
            Err(e) => return Err(e).ctx("read", path),
        };
        serde_json::from_slice(&bytes).map_err(|source| Error::Record { path, source })
    }

    /// Every volume, by name.
    pub(crate) fn list(&self) -> Result<Vec<VolumeInfo>> {
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).ctx("read", &self.dir),
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "lock" {
                continue;
            }
            match self.get(&name) {
                Ok(v) => out.push(v),
                Err(Error::Volume(VolumeError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Remove volume `name` unless `users_of` names a container using it;
    /// the check and the removal happen under one hold of the lock.
    pub(crate) fn remove_unused(&self, name: &str, users_of: UsersOf<'_>) -> Result<()> {
        let _l = self.lock()?;
        self.get(name)?;
        let users = users_of(name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.into(),
                users,
            }
            .into());
        }
        let dir = self.dir.join(name);
        // Renamed aside first: a crash mid-removal leaves no half volume.
        let trash = self.dir.join(format!(".rm-{name}"));
        std::fs::rename(&dir, &trash).ctx("rename", &dir)?;
        std::fs::remove_dir_all(&trash).ctx("remove", &trash)
    }

    /// `volume prune`: remove every volume no container uses; their names.
    pub(crate) fn prune(&self, users_of: UsersOf<'_>) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for v in self.list()? {
            match self.remove_unused(&v.name, users_of) {
                Ok(()) => removed.push(v.name),
                Err(Error::Volume(VolumeError::InUse { .. } | VolumeError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Remove the anonymous volumes in `opts` (of a removed container).
    pub(crate) fn remove_anonymous(
        &self,
        opts: &CreateOptions,
        users_of: UsersOf<'_>,
    ) -> Result<()> {
        for v in opts.volumes.iter().filter(|v| v.anonymous) {
            match self.remove_unused(&v.source, users_of) {
                Ok(()) | Err(Error::Volume(VolumeError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Before a container is created: check its named volumes, make the
    /// missing ones and one anonymous volume per path of the image's
    /// `Volumes` (`image_paths`) the user did not mount. Holds the volumes
    /// lock until dropped.
    pub(crate) fn for_new_container(
        &self,
        opts: &CreateOptions,
        image_paths: &[String],
    ) -> Result<NewVolumes> {
        let named = opts.volumes.iter().any(|v| !v.source.starts_with('/'));
        let mut out = NewVolumes {
            volumes: self.clone(),
            made: Vec::new(),
            options: opts.clone(),
            _lock: None,
        };
        if !named && image_paths.is_empty() {
            return Ok(out);
        }
        out._lock = Some(self.lock()?);
        let named = |v: &&Volume| !v.source.starts_with('/') && !v.source.is_empty();
        for v in opts.volumes.iter().filter(named) {
            match self.get(&v.source) {
                Ok(_) => {}
                Err(Error::Volume(VolumeError::NotFound(_))) => {
                    let made = self.make(Some(&v.source), false)?;
                    out.made.push(made.name);
                }
                Err(e) => return Err(e),
            }
        }
        let taken = |dst: &str| {
            let dst = dst.trim_end_matches('/');
            opts.volumes
                .iter()
                .any(|v| v.destination.trim_end_matches('/') == dst)
                || opts
                    .tmpfs
                    .iter()
                    .any(|t| t.split(':').next().map(|d| d.trim_end_matches('/')) == Some(dst))
        };
        // `-v /data` and `--mount type=volume` without a source.
        for v in out
            .options
            .volumes
            .iter_mut()
            .filter(|v| v.source.is_empty())
        {
            let made = self.make(None, true)?;
            out.made.push(made.name.clone());
            v.source = made.name;
            v.anonymous = true;
        }
        for dst in image_paths
            .iter()
            .filter(|d| d.starts_with('/') && !taken(d))
        {
            let made = self.make(None, true)?;
            out.made.push(made.name.clone());
            out.options.volumes.push(Volume {
                source: made.name,
                destination: dst.to_string(),
                readonly: false,
                anonymous: true,
                ..Default::default()
            });
        }
        Ok(out)
    }

    /// The options with named volumes turned into their host paths, new
    /// volumes filled first from the container's `root` (read in-root).
    pub(crate) fn binds(&self, opts: &CreateOptions, root: &RootfsReader) -> Result<CreateOptions> {
        let mut out = opts.clone();
        for v in out
            .volumes
            .iter_mut()
            .filter(|v| !v.source.starts_with('/'))
        {
            let mut info = self.get(&v.source)?;
            if info.needs_copy_up {
                // `nocopy`: its first use leaves it empty, as podman's.
                if !v.options.nocopy {
                    copy_up(root, &v.destination, &info.mountpoint)?;
                }
                info.needs_copy_up = false;
                write_info(&self.dir.join(&info.name), &info)?;
            }
            v.source = info.mountpoint.to_string_lossy().into_owned();
        }
        Ok(out)
    }
}

fn write_info(dir: &Path, info: &VolumeInfo) -> Result<()> {
    let path = dir.join("volume.json");
    let bytes = serde_json::to_vec_pretty(info).map_err(|source| Error::Record {
        path: path.clone(),
        source,
    })?;
    Ok(berth_storage::write_atomic(&path, &bytes)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_name("data"));
        assert!(valid_name("a.b_c-1"));
        assert!(!valid_name(""));
        assert!(!valid_name("-x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name(".."));
        assert_eq!(random_name().len(), 64);
    }

    #[test]
    fn removal_asks_who_uses_a_volume() {
        let d = tempfile::tempdir().unwrap();
        let volumes = Volumes::new(d.path().join("volumes"));
        volumes.create(Some("a")).unwrap();
        volumes.create(Some("b")).unwrap();
        let users_of = |n: &str| {
            Ok(if n == "a" {
                vec!["ctr".to_string()]
            } else {
                vec![]
            })
        };
        let e = volumes.remove_unused("a", &users_of).unwrap_err();
        assert!(e.to_string().contains("used by container(s) ctr"), "{e}");
        assert_eq!(volumes.prune(&users_of).unwrap(), ["b"]);
        let left: Vec<String> = volumes
            .list()
            .unwrap()
            .into_iter()
            .map(|v| v.name)
            .collect();
        assert_eq!(left, ["a"]);
    }
}
