//! Working containers: buildah's containers that exist for building, not
//! running. Each is a storage container (a read-write layer over an image,
//! or over nothing for `scratch`) whose metadata carries
//! [`WORKING_CONTAINER_KEY`]; the engine's container list (`ps`) leaves
//! them out, and what they hold beyond the layer (the image config being
//! built) belongs to their owner, the build crate.

use crate::engine::{ContainerInfo, Engine};
use crate::error::{Error, Result};
use berth_storage::{Container, NewContainer};

/// The key in storage's container metadata that marks a working container;
/// its value is whatever the builder keeps there.
pub const WORKING_CONTAINER_KEY: &str = "berth.working";

/// Whether storage container `c` is a build's working container.
pub fn is_working_container(c: &Container) -> bool {
    c.metadata.get(WORKING_CONTAINER_KEY).is_some()
}

impl Engine {
    /// Make a working container named `name` over image `image` (an id or
    /// name in storage; `None` starts from an empty root, `scratch`), with
    /// `record` kept under [`WORKING_CONTAINER_KEY`].
    pub fn create_working(
        &self,
        image: Option<&str>,
        name: &str,
        record: serde_json::Value,
    ) -> Result<Container> {
        let mut metadata = serde_json::Map::new();
        metadata.insert(WORKING_CONTAINER_KEY.into(), record);
        Ok(self.store.create_container(NewContainer {
            name: Some(name.to_string()),
            image: image.unwrap_or_default().to_string(),
            metadata: serde_json::Value::Object(metadata),
            ..Default::default()
        })?)
    }

    /// Every working container, oldest first.
    pub fn working_containers(&self) -> Result<Vec<Container>> {
        let mut out: Vec<Container> = self
            .store
            .containers()?
            .into_iter()
            .filter(is_working_container)
            .collect();
        out.sort_by_key(|c| (c.created, c.created_nanos));
        Ok(out)
    }

    /// Working containers as `ps --external` shows them (podman's view of
    /// buildah's): never run, so created, with no command, record or log.
    pub fn working_container_infos(&self) -> Result<Vec<ContainerInfo>> {
        Ok(self
            .working_containers()?
            .into_iter()
            .map(|c| ContainerInfo {
                id: c.id,
                name: c.name,
                image_id: c.image,
                meta: crate::meta::Meta::default(),
                created: c.created,
                created_nanos: c.created_nanos,
                state: crate::records::State::default(),
                log_path: std::path::PathBuf::new(),
                bundle: std::path::PathBuf::new(),
            })
            .collect())
    }

    /// The working container `key` (id, id prefix or name); a container
    /// that is not a working one is [`Error::NotFound`].
    pub fn working_container(&self, key: &str) -> Result<Container> {
        let c = self.container(key)?;
        if !is_working_container(&c) {
            return Err(Error::NotFound(key.into()));
        }
        Ok(c)
    }

    /// Replace what the builder keeps with working container `key`.
    pub fn set_working_record(&self, key: &str, record: serde_json::Value) -> Result<()> {
        let c = self.working_container(key)?;
        let mut metadata = serde_json::Map::new();
        metadata.insert(WORKING_CONTAINER_KEY.into(), record);
        self.store
            .set_container_metadata(&c.id, serde_json::Value::Object(metadata))?;
        Ok(())
    }

    /// Mount working container `key`'s root (counted: each mount needs an
    /// unmount) and return its host path.
    pub fn mount_working(&self, key: &str) -> Result<std::path::PathBuf> {
        let c = self.working_container(key)?;
        Ok(self.store.mount_container(&c.id)?)
    }

    /// Undo one [`Engine::mount_working`]; `force` undoes them all. Returns
    /// the mounts left.
    pub fn unmount_working(&self, key: &str, force: bool) -> Result<u32> {
        let c = self.working_container(key)?;
        Ok(self.store.unmount_container(&c.id, force)?)
    }

    /// Remove working container `key` and its layer, mounted or not.
    pub fn remove_working(&self, key: &str) -> Result<()> {
        let c = self.working_container(key)?;
        match self.store.remove_container(&c.id, true) {
            Ok(()) | Err(berth_storage::Error::ContainerNotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
