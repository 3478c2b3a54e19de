//! Images: records with their manifest and config blobs kept verbatim.

use super::Store;
use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{
    list_dir, random_hex, read_json, remove_tree, sync_dir, write_atomic, write_json,
};
use crate::lock::LockMode;
use crate::records::{is_hex_id, Image};
use std::fs;

/// What [`Store::remove_image_name`] did.
#[derive(Debug, Clone)]
pub enum NameRemoval {
    /// The image had other names; only this one was taken away. The image
    /// as it is now.
    Untagged(Image),
    /// That was the image's last name: the image was removed, with the
    /// layers only it used (their ids).
    Removed {
        /// The image removed.
        image: Image,
        /// The layers removed with it.
        layers: Vec<String>,
    },
}

/// What [`Store::create_image`] needs.
#[derive(Debug, Clone)]
pub struct NewImage {
    /// The top layer (applied through the same store), None for no layers.
    pub top_layer: Option<String>,
    /// Names to point at the image; each is taken from any other image.
    pub names: Vec<String>,
    /// The manifest exactly as pulled, so a push sends the same digest.
    pub manifest: Vec<u8>,
    /// The config exactly as pulled; its digest is the image id.
    pub config: Vec<u8>,
}

fn check_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > 4096 || name.contains(['\n', '\0']) {
        return Err(Error::InvalidName {
            what: "image name",
            value: name.to_string(),
            reason: "must be non-empty, one line, at most 4096 bytes",
        });
    }
    Ok(())
}

impl Store {
    pub(crate) fn all_images(&self) -> Result<Vec<Image>> {
        let mut out = Vec::new();
        for id in list_dir(&self.root.join("images"))? {
            if !is_hex_id(&id) {
                continue;
            }
            if let Some(image) = read_json::<Image>(&self.image_dir(&id).join("image.json"))? {
                out.push(image);
            }
        }
        Ok(out)
    }

    /// Find an image by id, unique id prefix, digest or name. Call with the
    /// images lock held.
    pub(crate) fn find_image(&self, key: &str) -> Result<Image> {
        let id = key.strip_prefix("sha256:").unwrap_or(key);
        if is_hex_id(id) {
            if let Some(image) = read_json::<Image>(&self.image_dir(id).join("image.json"))? {
                return Ok(image);
            }
        }
        let images = self.all_images()?;
        if let Some(image) = images.iter().find(|i| i.names.iter().any(|n| n == key)) {
            return Ok(image.clone());
        }
        if id.len() >= 3 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
            let mut matching = images.iter().filter(|i| i.id.starts_with(id));
            if let (Some(one), None) = (matching.next(), matching.next()) {
                return Ok(one.clone());
            }
        }
        Err(Error::ImageNotFound(key.to_string()))
    }

    /// The image with this id, id prefix, digest or name.
    pub fn image(&self, key: &str) -> Result<Image> {
        let _i = self.lock(&self.locks.images, LockMode::Shared)?;
        self.find_image(key)
    }

    /// Every image.
    pub fn images(&self) -> Result<Vec<Image>> {
        let _i = self.lock(&self.locks.images, LockMode::Shared)?;
        self.all_images()
    }

    /// The manifest blob of image `key`, byte for byte as given.
    pub fn image_manifest(&self, key: &str) -> Result<Vec<u8>> {
        let _i = self.lock(&self.locks.images, LockMode::Shared)?;
        let image = self.find_image(key)?;
        let path = self.image_dir(&image.id).join("manifest");
        fs::read(&path).ctx("read", path)
    }

    /// The config blob of image `key`, byte for byte as given.
    pub fn image_config(&self, key: &str) -> Result<Vec<u8>> {
        let _i = self.lock(&self.locks.images, LockMode::Shared)?;
        let image = self.find_image(key)?;
        let path = self.image_dir(&image.id).join("config");
        fs::read(&path).ctx("read", path)
    }

    /// Record an image whose layers are in the store. Its id is the digest
    /// of `config`. Creating an image that exists only adds the names. The
    /// record, manifest and config appear together or not at all.
    pub fn create_image(&self, new: NewImage) -> Result<Image> {
        for n in &new.names {
            check_name(n)?;
        }
        let config_digest = Digest::of(&new.config);
        let id = config_digest.hex().to_string();
        let _i = self.lock(&self.locks.images, LockMode::Exclusive)?;
        {
            let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
            if let Some(top) = &new.top_layer {
                self.read_layer(top)?;
            }
        }
        self.take_names(&id, &new.names)?;
        let dir = self.image_dir(&id);
        if let Some(mut image) = read_json::<Image>(&dir.join("image.json"))? {
            for n in new.names {
                if !image.names.contains(&n) {
                    image.names.push(n);
                }
            }
            write_json(&dir.join("image.json"), &image)?;
            return Ok(image);
        }
        let image = Image {
            id: id.clone(),
            names: new.names,
            top_layer: new.top_layer,
            manifest_digest: Digest::of(&new.manifest),
            config_digest,
            created: crate::fsutil::now_secs(),
        };
        let images = self.root.join("images");
        let tmp = images.join(format!(".tmp-{}", random_hex(8)));
        let result = (|| {
            fs::create_dir(&tmp).ctx("create", &tmp)?;
            write_atomic(&tmp.join("manifest"), &new.manifest)?;
            write_atomic(&tmp.join("config"), &new.config)?;
            write_json(&tmp.join("image.json"), &image)?;
            fs::rename(&tmp, &dir).ctx("commit image", &dir)?;
            sync_dir(&images)
        })();
        if result.is_err() {
            let _ = remove_tree(&tmp);
        }
        result.map(|()| image)
    }

    /// Remove `names` from every image but `id`. Images lock held.
    fn take_names(&self, id: &str, names: &[String]) -> Result<()> {
        if names.is_empty() {
            return Ok(());
        }
        for mut other in self.all_images()? {
            if other.id == id {
                continue;
            }
            let before = other.names.len();
            other.names.retain(|n| !names.contains(n));
            if other.names.len() != before {
                write_json(&self.image_dir(&other.id).join("image.json"), &other)?;
            }
        }
        Ok(())
    }

    /// Point `name` at image `key` (taking it from any other image).
    pub fn add_image_name(&self, key: &str, name: &str) -> Result<Image> {
        check_name(name)?;
        let _i = self.lock(&self.locks.images, LockMode::Exclusive)?;
        let mut image = self.find_image(key)?;
        self.take_names(&image.id, &[name.to_string()])?;
        if !image.names.iter().any(|n| n == name) {
            image.names.push(name.to_string());
            write_json(&self.image_dir(&image.id).join("image.json"), &image)?;
        }
        Ok(image)
    }

    /// Remove image `key` and the layers only it used. Refused with
    /// [`Error::InUse`] while containers use it or it is mounted; with
    /// `force` those containers are removed and the mounts undone. Returns
    /// the ids of the layers removed.
    pub fn remove_image(&self, key: &str, force: bool) -> Result<Vec<String>> {
        let result = self.remove_image_locked(key, force);
        self.empty_trash();
        result
    }

    /// Take `name` away from the image that has it, podman's `untag`: the
    /// image stays, even when that was its last name. Returns the image as
    /// it is now.
    pub fn untag_image(&self, name: &str) -> Result<Image> {
        let _i = self.lock(&self.locks.images, LockMode::Exclusive)?;
        let mut image = self.image_named(name)?;
        image.names.retain(|n| n != name);
        write_json(&self.image_dir(&image.id).join("image.json"), &image)?;
        Ok(image)
    }

    /// `rmi NAME`: while the image that has `name` has other names, only
    /// this name is taken away ([`NameRemoval::Untagged`]); its last name
    /// removes the image as [`Store::remove_image`] does (refused with
    /// [`Error::InUse`] while containers or mounts use it, unless `force`).
    /// Decided and done under the locks in one go, so two processes
    /// removing the two names of an image leave no image behind and never
    /// remove it under a name that is still wanted.
    pub fn remove_image_name(&self, name: &str, force: bool) -> Result<NameRemoval> {
        let result = (|| {
            let cmode = if force {
                LockMode::Exclusive
            } else {
                LockMode::Shared
            };
            let _c = self.lock(&self.locks.containers, cmode)?;
            let _i = self.lock(&self.locks.images, LockMode::Exclusive)?;
            let mut image = self.image_named(name)?;
            if image.names.len() > 1 {
                image.names.retain(|n| n != name);
                write_json(&self.image_dir(&image.id).join("image.json"), &image)?;
                return Ok(NameRemoval::Untagged(image));
            }
            let _l = self.lock(&self.locks.layers, LockMode::Exclusive)?;
            let layers = self.delete_image(&image, force)?;
            Ok(NameRemoval::Removed { image, layers })
        })();
        self.empty_trash();
        result
    }

    /// The image that has exactly `name`. Images lock held.
    fn image_named(&self, name: &str) -> Result<Image> {
        self.all_images()?
            .into_iter()
            .find(|i| i.names.iter().any(|n| n == name))
            .ok_or_else(|| Error::ImageNotFound(name.to_string()))
    }

    fn remove_image_locked(&self, key: &str, force: bool) -> Result<Vec<String>> {
        let cmode = if force {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        };
        let _c = self.lock(&self.locks.containers, cmode)?;
        let _i = self.lock(&self.locks.images, LockMode::Exclusive)?;
        let _l = self.lock(&self.locks.layers, LockMode::Exclusive)?;
        let image = self.find_image(key)?;
        self.delete_image(&image, force)
    }

    /// Remove `image` and the layers only it used; every lock held (the
    /// containers lock exclusively with `force`).
    fn delete_image(&self, image: &Image, force: bool) -> Result<Vec<String>> {
        let containers: Vec<_> = self
            .all_containers()?
            .into_iter()
            .filter(|c| c.image == image.id)
            .collect();
        let mounts = match &image.top_layer {
            Some(top) if !force => self.mount_count(top)?,
            _ => 0,
        };
        if !force && (!containers.is_empty() || mounts > 0) {
            let mut users: Vec<String> = containers
                .iter()
                .map(|c| format!("container {}", c.name))
                .collect();
            if mounts > 0 {
                users.push(format!("{mounts} mount(s)"));
            }
            return Err(Error::InUse {
                what: format!("image {}", image.id),
                users,
            });
        }
        for c in &containers {
            self.delete_container(c)?;
        }
        // The rename is the moment the image stops existing; what is in the
        // trash is deleted after the locks are released, or by the next
        // open if this process dies first.
        let images = self.root.join("images");
        let doomed = self.trash_path(&format!("image-{}", image.id));
        fs::rename(self.image_dir(&image.id), &doomed).ctx("remove image", &doomed)?;
        sync_dir(&images)?;
        // Collect the layers nothing else uses, top down.
        let mut removed = Vec::new();
        let mut next = image.top_layer.clone();
        while let Some(id) = next {
            let layers = self.all_layers()?;
            let leased = self.leased_layers()?;
            let Some(layer) = layers.iter().find(|l| l.id == id) else {
                break;
            };
            let mut users = self.layer_users(&id, &layers, &leased)?;
            if force {
                users.retain(|u| !u.ends_with("mount(s)"));
            }
            if !users.is_empty() {
                break;
            }
            next = layer.parent.clone();
            self.delete_layer(&id)?;
            removed.push(id);
        }
        Ok(removed)
    }
}
