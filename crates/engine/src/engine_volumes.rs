//! The engine's volume commands: thin delegations to [`Volumes`], which
//! never sees the engine. What only the engine knows, which containers use
//! a volume, it computes here from its containers' records.

use crate::engine::Engine;
use crate::error::{IoContext, Result};
use crate::image_config::ImageConfig;
use crate::meta::Meta;
use crate::options::CreateOptions;
use crate::rootfs_reader::RootfsReader;
use crate::volumes::{NewVolumes, VolumeInfo, Volumes};

impl Engine {
    fn volume_store(&self) -> Volumes {
        Volumes::new(self.store.root().join("volumes"))
    }

    /// `volume create [NAME]`.
    pub fn volume_create(&self, name: Option<&str>) -> Result<VolumeInfo> {
        self.volume_store().create(name)
    }

    /// The volume `name`.
    pub fn volume(&self, name: &str) -> Result<VolumeInfo> {
        self.volume_store().get(name)
    }

    /// Every volume, by name.
    pub fn volumes(&self) -> Result<Vec<VolumeInfo>> {
        self.volume_store().list()
    }

    /// Names of the containers whose options use volume `name`.
    pub fn volume_users(&self, name: &str) -> Result<Vec<String>> {
        let mut users = Vec::new();
        for c in self.store.containers()? {
            // Corrupt metadata is an error here: its volumes may be in use.
            let meta = Meta::of(&c)?;
            if meta.options.volumes.iter().any(|v| v.source == name) {
                users.push(c.name);
            }
        }
        Ok(users)
    }

    /// `volume rm [-f]`: refused while containers use it, unless `force`,
    /// which removes those containers first (as podman does).
    pub fn volume_remove(&self, name: &str, force: bool) -> Result<()> {
        if force {
            self.volume(name)?;
            for user in self.volume_users(name)? {
                self.remove(&user, true)?;
            }
        }
        self.volume_store()
            .remove_unused(name, &|n| self.volume_users(n))
    }

    /// `volume prune`: remove every volume no container uses; their names.
    pub fn volume_prune(&self) -> Result<Vec<String>> {
        self.volume_store().prune(&|n| self.volume_users(n))
    }

    /// Volumes for a new container: see [`Volumes::for_new_container`].
    pub(crate) fn new_volumes(
        &self,
        opts: &CreateOptions,
        image: &ImageConfig,
    ) -> Result<NewVolumes> {
        self.volume_store()
            .for_new_container(opts, &crate::image_config::volumes(image))
    }

    /// The options with named volumes as host paths, new ones filled from
    /// the container's root.
    pub(crate) fn volume_binds(
        &self,
        opts: &CreateOptions,
        root: &RootfsReader,
    ) -> Result<CreateOptions> {
        self.volume_store().binds(opts, root)
    }

    /// The upper and work directories of container `id`'s `-v …:O`
    /// overlays: in the store, so their writes are the container's own.
    pub(crate) fn volume_overlay_dir(&self, id: &str) -> std::path::PathBuf {
        self.store.root().join("volume-overlays").join(id)
    }

    /// Remove them with the container. Its overlays are mounted only in
    /// its own mount namespace, gone once it stopped: nothing is mounted
    /// under the directory.
    pub(crate) fn remove_volume_overlays(&self, id: &str) -> Result<()> {
        let dir = self.volume_overlay_dir(id);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(crate::error::Error::Io {
                op: "remove",
                path: dir,
                source: e,
            }),
        }
    }

    /// Remove a container and, as `rm -v` and `--rm` do, its anonymous
    /// volumes.
    pub fn remove_with_volumes(&self, key: &str, force: bool) -> Result<()> {
        let c = self.container(key)?;
        // With its metadata corrupt its volumes are unknown: they stay.
        let opts = Meta::of(&c).map(|m| m.options);
        self.remove(&c.id, force)?;
        match opts {
            Ok(opts) => self
                .volume_store()
                .remove_anonymous(&opts, &|n| self.volume_users(n)),
            Err(_) => Ok(()),
        }
    }
}

/// Before a container starts: the upper and work directories of its `O`
/// overlays (under `dir`, its [`Engine::volume_overlay_dir`]) emptied, so
/// a run starts from the host directory as it is (podman discards an
/// overlay's writes when the run ends). Takes no lock: its caller,
/// [`Engine::launch`], holds the record lock and has seen the container
/// is not running.
pub(crate) fn reset_volume_overlays(opts: &CreateOptions, dir: &std::path::Path) -> Result<()> {
    for (i, _) in opts
        .volumes
        .iter()
        .enumerate()
        .filter(|(_, v)| v.options.overlay)
    {
        for sub in ["upper", "work"] {
            let d = dir.join(i.to_string()).join(sub);
            match std::fs::remove_dir_all(&d) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).ctx("remove", d),
            }
            std::fs::create_dir_all(&d).ctx("create", &d)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn volumes_of_an_image_config() {
        let volumes = |config: &str| {
            let blob = format!(
                r#"{{"architecture":"amd64","os":"linux",
                    "rootfs":{{"type":"layers","diff_ids":[]}}{config}}}"#
            );
            let parsed = crate::image_config::parse("t", blob.as_bytes()).unwrap();
            crate::image_config::volumes(&crate::image_config::execution(&parsed))
        };
        let c = r#","config":{"Volumes":{"/var/log":{},"/data":{}}}"#;
        assert_eq!(volumes(c), ["/data", "/var/log"]);
        assert!(volumes("").is_empty());
        assert!(volumes(r#","config":{"Volumes":null}"#).is_empty());
    }
}
