//! Containers: a name, an image and a read-write layer on top of it.

use super::Store;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{list_dir, random_hex, read_json, sync_dir, write_json};
use crate::lock::LockMode;
use crate::records::{is_hex_id, Container};

/// What [`Store::create_container`] needs.
#[derive(Debug, Clone, Default)]
pub struct NewContainer {
    /// The id (64 hex digits); random when None.
    pub id: Option<String>,
    /// The unique name; the first 12 digits of the id when None.
    pub name: Option<String>,
    /// The image (id, prefix or name) to start from; empty starts from an
    /// empty root (buildah's `scratch`), and the record's image is empty.
    pub image: String,
    /// Whatever the engine wants kept with the container.
    pub metadata: serde_json::Value,
}

impl Store {
    pub(crate) fn all_containers(&self) -> Result<Vec<Container>> {
        let mut out = Vec::new();
        for name in list_dir(&self.root.join("containers"))? {
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if !is_hex_id(id) {
                continue;
            }
            if let Some(c) = read_json::<Container>(&self.container_record(id))? {
                out.push(c);
            }
        }
        Ok(out)
    }

    pub(crate) fn find_container(&self, key: &str) -> Result<Container> {
        if is_hex_id(key) {
            if let Some(c) = read_json::<Container>(&self.container_record(key))? {
                return Ok(c);
            }
        }
        let all = self.all_containers()?;
        if let Some(c) = all.iter().find(|c| c.name == key) {
            return Ok(c.clone());
        }
        let mut matching = all
            .iter()
            .filter(|c| key.len() >= 3 && c.id.starts_with(key));
        match (matching.next(), matching.next()) {
            (Some(one), None) => Ok(one.clone()),
            _ => Err(Error::ContainerNotFound(key.to_string())),
        }
    }

    /// The container with this id, id prefix or name.
    pub fn container(&self, key: &str) -> Result<Container> {
        let _c = self.lock(&self.locks.containers, LockMode::Shared)?;
        self.find_container(key)
    }

    /// Every container.
    pub fn containers(&self) -> Result<Vec<Container>> {
        let _c = self.lock(&self.locks.containers, LockMode::Shared)?;
        self.all_containers()
    }

    /// Create a container from an image: a new empty read-write layer on the
    /// image's top layer, and the record.
    pub fn create_container(&self, new: NewContainer) -> Result<Container> {
        let id = match new.id {
            Some(id) if is_hex_id(&id) => id,
            Some(id) => {
                return Err(Error::InvalidName {
                    what: "container id",
                    value: id,
                    reason: "must be 64 lowercase hex digits",
                })
            }
            None => random_hex(32),
        };
        let name = new.name.unwrap_or_else(|| id[..12].to_string());
        if name.is_empty() || name.len() > 253 || name.contains(['/', '\n', '\0']) {
            return Err(Error::InvalidName {
                what: "container name",
                value: name,
                reason: "must be 1-253 bytes without '/' or newlines",
            });
        }
        let _c = self.lock(&self.locks.containers, LockMode::Exclusive)?;
        let _i = self.lock(&self.locks.images, LockMode::Shared)?;
        let (image_id, top) = if new.image.is_empty() {
            (String::new(), None)
        } else {
            let image = self.find_image(&new.image)?;
            (image.id, image.top_layer)
        };
        for c in self.all_containers()? {
            if c.name == name {
                return Err(Error::NameInUse { name, by: c.id });
            }
            if c.id == id {
                return Err(Error::Exists {
                    what: "container",
                    id,
                });
            }
        }
        let layer = self.create_rw_layer(&id, top.as_deref())?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        let container = Container {
            id: id.clone(),
            name,
            image: image_id,
            layer: layer.id,
            metadata: new.metadata,
            created: now.as_secs(),
            created_nanos: now.subsec_nanos(),
        };
        write_json(&self.container_record(&id), &container)?;
        Ok(container)
    }

    /// Replace the metadata an engine keeps with container `key`.
    pub fn set_container_metadata(
        &self,
        key: &str,
        metadata: serde_json::Value,
    ) -> Result<Container> {
        let _c = self.lock(&self.locks.containers, LockMode::Exclusive)?;
        let mut c = self.find_container(key)?;
        c.metadata = metadata;
        write_json(&self.container_record(&c.id), &c)?;
        Ok(c)
    }

    /// Write what container `key` changed (its read-write layer against the
    /// image) as an OCI layer tar to `out`; see [`Store::diff`].
    pub fn container_diff<W: std::io::Write>(
        &self,
        key: &str,
        out: W,
    ) -> Result<crate::DiffSummary> {
        let layer = self.container(key)?.layer;
        self.diff(&layer, out)
    }

    /// Delete container `c` and its layer (unmounting it). Containers and
    /// layers locks held exclusively.
    pub(crate) fn delete_container(&self, c: &Container) -> Result<()> {
        let record = self.container_record(&c.id);
        match std::fs::remove_file(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).ctx("remove", &record)
            }
            _ => {}
        }
        sync_dir(&self.root.join("containers"))?;
        self.delete_layer(&c.layer)
    }

    /// Remove container `key` and its read-write layer. Refused with
    /// [`Error::InUse`] while mounted, unless `force`, which unmounts.
    pub fn remove_container(&self, key: &str, force: bool) -> Result<()> {
        let result = self.remove_container_locked(key, force);
        self.empty_trash();
        result
    }

    fn remove_container_locked(&self, key: &str, force: bool) -> Result<()> {
        let _c = self.lock(&self.locks.containers, LockMode::Exclusive)?;
        let _l = self.lock(&self.locks.layers, LockMode::Exclusive)?;
        let c = self.find_container(key)?;
        // Forced, the count is not read: a corrupt one must not keep the
        // container (delete unmounts whatever is there).
        let mounts = if force {
            0
        } else {
            self.mount_count(&c.layer)?
        };
        if mounts > 0 {
            return Err(Error::InUse {
                what: format!("container {}", c.name),
                users: vec![format!("{mounts} mount(s)")],
            });
        }
        self.delete_container(&c)
    }
}
