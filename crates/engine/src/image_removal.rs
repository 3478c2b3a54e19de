//! `rmi`: an image's last name or its id removes it, and with `force` the
//! containers made from it go first, through the engine (stopped, taken off
//! the network, unmounted), as podman does. Removing them in storage alone
//! would leave their processes, monitors and network behind.

use crate::engine::Engine;
use crate::error::{Error, Result};
use berth_storage::NameRemoval;

/// What [`Engine::remove_image`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRemoval {
    /// The image has other names: only this one went.
    Untagged(String),
    /// The image went, with the containers made from it (`force`).
    Deleted {
        /// The image's id.
        id: String,
        /// The ids of the containers removed first.
        containers: Vec<String>,
    },
}

/// Containers made between our removal of the users and the image's: a
/// few rounds catch them; the last round is storage's own `force`.
const ROUNDS: usize = 3;

impl Engine {
    /// Remove the image `key` names (or take that name from it, while it
    /// has others). Without `force` an image in use is an error naming its
    /// containers; with it those containers are removed first.
    pub fn remove_image(&self, key: &str, force: bool) -> Result<ImageRemoval> {
        let (image, name) = berth_image::find_image_name(&self.ctx, &self.store, key)?;
        if let Some(name) = name.as_deref().filter(|_| image.names.len() > 1) {
            return Ok(match self.store.remove_image_name(name, false)? {
                NameRemoval::Untagged(_) => ImageRemoval::Untagged(key.to_string()),
                NameRemoval::Removed { image, .. } => ImageRemoval::Deleted {
                    id: image.id,
                    containers: Vec::new(),
                },
            });
        }
        let mut removed = Vec::new();
        for round in 1..=ROUNDS {
            if force {
                for c in self.store.containers()? {
                    if c.image == image.id {
                        match self.remove(&c.id, true) {
                            Ok(()) | Err(Error::NotFound(_)) => removed.push(c.id),
                            Err(e) => return Err(e),
                        }
                    }
                }
            }
            let last = force && round == ROUNDS;
            match self.store.remove_image(&image.id, last) {
                Ok(_) => {
                    return Ok(ImageRemoval::Deleted {
                        id: image.id,
                        containers: removed,
                    })
                }
                Err(berth_storage::Error::InUse { .. }) if force && !last => {}
                Err(e) => return Err(e.into()),
            }
        }
        unreachable!("the last round forces the removal")
    }
}
