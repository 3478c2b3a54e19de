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

use crate::engine::Engine;
use crate::error::{Error, IoContext, Result};
use crate::image_config::ImageConfig;
use crate::options::{CreateOptions, Volume};
use crate::rootfs_reader::RootfsReader;
use crate::volume_copy_up::copy_up;
use nix::fcntl::Flock;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// What goes wrong with volumes.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// No volume has this name.
    #[error("no volume named {0:?}")]
    NotFound(String),
    /// `volume create` of a name that exists.
    #[error("volume with name {0:?} already exists")]
    Exists(String),
    /// A malformed name.
    #[error("invalid volume name {0:?}: names are [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    BadName(String),
    /// Removal of a volume containers use.
    #[error("volume {name} is being used by container(s) {}: remove them first, or use --force", users.join(", "))]
    InUse {
        /// The volume.
        name: String,
        /// Names of the containers using it.
        users: Vec<String>,
    },
}

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

/// A hold on the volumes lock; released on drop.
pub(crate) struct VolumesLock {
    _lock: Flock<File>,
}

/// Volumes made while creating a container, removed again unless the
/// creation succeeded ([`NewVolumes::keep`]).
pub(crate) struct NewVolumes<'a> {
    engine: &'a Engine,
    made: Vec<String>,
    /// The options with the image's anonymous volumes added.
    pub options: CreateOptions,
    _lock: Option<VolumesLock>,
}

impl NewVolumes<'_> {
    /// The container exists: keep what was made.
    pub(crate) fn keep(mut self) {
        self.made.clear();
    }
}

impl Drop for NewVolumes<'_> {
    fn drop(&mut self) {
        for name in &self.made {
            let _ = std::fs::remove_dir_all(self.engine.volumes_dir().join(name));
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

impl Engine {
    pub(crate) fn volumes_dir(&self) -> PathBuf {
        self.store.root().join("volumes")
    }

    pub(crate) fn lock_volumes(&self) -> Result<VolumesLock> {
        let dir = self.volumes_dir();
        std::fs::create_dir_all(&dir).ctx("create", &dir)?;
        Ok(VolumesLock {
            _lock: crate::record::lock_exclusive(&dir.join("lock"))?,
        })
    }

    /// Make volume `name` (a random one when None). Volumes lock held.
    fn make_volume(&self, name: Option<&str>, anonymous: bool) -> Result<VolumeInfo> {
        let name = match name {
            Some(n) if !valid_name(n) => return Err(VolumeError::BadName(n.into()).into()),
            Some(n) => n.to_string(),
            None => random_name(),
        };
        let dir = self.volumes_dir().join(&name);
        if dir.exists() {
            return Err(VolumeError::Exists(name).into());
        }
        // Built aside and renamed in: a crash leaves no half volume.
        let tmp = self.volumes_dir().join(format!(".tmp-{name}"));
        let _ = std::fs::remove_dir_all(&tmp);
        let data = tmp.join("_data");
        std::fs::create_dir_all(&data).ctx("create", &data)?;
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755))
            .ctx("chmod", &data)?;
        let info = VolumeInfo {
            mountpoint: dir.join("_data"),
            name: name.clone(),
            driver: "local".into(),
            created_at: crate::record::now_rfc3339(),
            anonymous,
            needs_copy_up: true,
        };
        write_info(&tmp, &info)?;
        std::fs::rename(&tmp, &dir).ctx("rename", &dir)?;
        Ok(info)
    }

    /// `volume create [NAME]`.
    pub fn volume_create(&self, name: Option<&str>) -> Result<VolumeInfo> {
        let _l = self.lock_volumes()?;
        self.make_volume(name, false)
    }

    /// The volume `name`.
    pub fn volume(&self, name: &str) -> Result<VolumeInfo> {
        if !valid_name(name) {
            return Err(VolumeError::NotFound(name.into()).into());
        }
        let path = self.volumes_dir().join(name).join("volume.json");
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
    pub fn volumes(&self) -> Result<Vec<VolumeInfo>> {
        let dir = self.volumes_dir();
        let mut out = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(e).ctx("read", dir),
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name == "lock" {
                continue;
            }
            match self.volume(&name) {
                Ok(v) => out.push(v),
                Err(Error::Volume(VolumeError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// Names of the containers whose options use volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        let mut users = Vec::new();
        for c in self.store.containers()? {
            let meta = Engine::meta(&c);
            if meta.options.volumes.iter().any(|v| v.source == name) {
                users.push(c.name);
            }
        }
        Ok(users)
    }

    /// `volume rm [-f]`: refused while containers use it, unless `force`,
    /// which removes those containers first (as podman does).
    pub fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        self.volume(name)?;
        if force {
            for user in self.volume_users(name)? {
                self.remove(&user, true)?;
            }
        }
        let _l = self.lock_volumes()?;
        self.volume(name)?;
        let users = self.volume_users(name)?;
        if !users.is_empty() {
            return Err(VolumeError::InUse {
                name: name.into(),
                users,
            }
            .into());
        }
        let dir = self.volumes_dir().join(name);
        // Renamed aside first: a crash mid-removal leaves no half volume.
        let trash = self.volumes_dir().join(format!(".rm-{name}"));
        std::fs::rename(&dir, &trash).ctx("rename", &dir)?;
        std::fs::remove_dir_all(&trash).ctx("remove", &trash)
    }

    /// `volume prune`: remove every volume no container uses; their names.
    pub fn volume_prune(&self) -> Result<Vec<String>> {
        let mut removed = Vec::new();
        for v in self.volumes()? {
            match self.volume_remove(&v.name, false) {
                Ok(()) => removed.push(v.name),
                Err(Error::Volume(VolumeError::InUse { .. } | VolumeError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(removed)
    }

    /// Before a container is created: check its named volumes, make the
    /// missing ones and one anonymous volume per image `Volumes` path the
    /// user did not mount. Holds the volumes lock until dropped.
    pub(crate) fn new_volumes(
        &self,
        opts: &CreateOptions,
        image: &ImageConfig,
    ) -> Result<NewVolumes<'_>> {
        let wanted: Vec<&String> = image.volumes.iter().flat_map(|m| m.keys()).collect();
        let named = opts.volumes.iter().any(|v| !v.source.starts_with('/'));
        let mut out = NewVolumes {
            engine: self,
            made: Vec::new(),
            options: opts.clone(),
            _lock: None,
        };
        if !named && wanted.is_empty() {
            return Ok(out);
        }
        out._lock = Some(self.lock_volumes()?);
        for v in opts.volumes.iter().filter(|v| !v.source.starts_with('/')) {
            match self.volume(&v.source) {
                Ok(_) => {}
                Err(Error::Volume(VolumeError::NotFound(_))) => {
                    let made = self.make_volume(Some(&v.source), false)?;
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
        for dst in wanted.iter().filter(|d| d.starts_with('/') && !taken(d)) {
            let made = self.make_volume(None, true)?;
            out.made.push(made.name.clone());
            out.options.volumes.push(Volume {
                source: made.name,
                destination: dst.to_string(),
                readonly: false,
                anonymous: true,
            });
        }
        Ok(out)
    }

    /// The options with named volumes turned into their host paths, new
    /// volumes filled first from the container's `root` (read in-root).
    pub(crate) fn volume_binds(
        &self,
        opts: &CreateOptions,
        root: &RootfsReader,
    ) -> Result<CreateOptions> {
        let mut out = opts.clone();
        for v in out
            .volumes
            .iter_mut()
            .filter(|v| !v.source.starts_with('/'))
        {
            let mut info = self.volume(&v.source)?;
            if info.needs_copy_up {
                copy_up(root, &v.destination, &info.mountpoint)?;
                info.needs_copy_up = false;
                let dir = self.volumes_dir().join(&info.name);
                write_info(&dir, &info)?;
            }
            v.source = info.mountpoint.to_string_lossy().into_owned();
        }
        Ok(out)
    }

    /// Remove the anonymous volumes of a removed container.
    pub(crate) fn remove_anonymous_volumes(&self, opts: &CreateOptions) -> Result<()> {
        for v in opts.volumes.iter().filter(|v| v.anonymous) {
            match self.volume_remove(&v.source, false) {
                Ok(()) | Err(Error::Volume(VolumeError::NotFound(_))) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Remove a container and, as `rm -v` and `--rm` do, its anonymous
    /// volumes.
    pub fn remove_with_volumes(&self, key: &str, force: bool) -> Result<()> {
        let c = self.container(key)?;
        let opts = Engine::meta(&c).options;
        self.remove(&c.id, force)?;
        self.remove_anonymous_volumes(&opts)
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
    fn volumes_of_an_image_config() {
        let c = br#"{"config":{"Volumes":{"/data":{},"/var/log":{}}}}"#;
        let volumes = |c| {
            let config = ImageConfig::parse("t", c).unwrap();
            config
                .volumes
                .unwrap_or_default()
                .into_keys()
                .collect::<Vec<_>>()
        };
        assert_eq!(volumes(c), ["/data", "/var/log"]);
        assert!(volumes(b"{}").is_empty());
    }
}
