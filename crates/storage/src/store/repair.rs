//! Repair on open: whatever a killed process left half done is finished or
//! undone, with every store lock held so no live writer is in the middle of
//! a change. Only incomplete things are removed; a complete layer, image or
//! container is never lost.

use super::Store;
use crate::error::Result;
use crate::fsutil::{list_dir, remove_tree};
use crate::lock::{FileLock, LockMode};
use crate::records::{is_hex_id, LayerKind};
use std::collections::HashSet;

impl Store {
    pub(super) fn repair(&self) -> Result<()> {
        let _c = self.lock(&self.locks.containers, LockMode::Exclusive)?;
        let _i = self.lock(&self.locks.images, LockMode::Exclusive)?;
        let _l = self.lock(&self.locks.layers, LockMode::Exclusive)?;
        self.repair_staging()?;
        for dir in ["layers", "containers", "images"] {
            let d = self.root.join(dir);
            for name in list_dir(&d)? {
                // Temporary files of atomic writes, images being created or
                // deleted by a process that died.
                if name.starts_with(".tmp-") || name.starts_with(".del-") {
                    tracing::info!(path = %d.join(&name).display(), "removing leftover of a killed process");
                    remove_tree(&d.join(&name))?;
                }
            }
        }
        // Layers whose parent is gone (a removal killed half way down a
        // chain would do it if the order were wrong; this keeps the store
        // consistent even then), and container layers without a container.
        let containers: HashSet<String> = self
            .all_containers()?
            .into_iter()
            .map(|c| c.layer)
            .collect();
        loop {
            let layers = self.all_layers()?;
            let ids: HashSet<&str> = layers.iter().map(|l| l.id.as_str()).collect();
            let broken: Vec<String> = layers
                .iter()
                .filter(|l| {
                    l.parent.as_deref().is_some_and(|p| !ids.contains(p))
                        || (l.kind == LayerKind::Container && !containers.contains(&l.id))
                })
                .map(|l| l.id.clone())
                .collect();
            if broken.is_empty() {
                break;
            }
            for id in broken {
                tracing::warn!(layer = %id, "removing layer left incomplete by a killed process");
                self.delete_layer(&id)?;
            }
        }
        let recorded: HashSet<String> = self.all_layers()?.into_iter().map(|l| l.id).collect();
        for id in self.driver.list()? {
            if !recorded.contains(&id) {
                tracing::info!(layer = %id, "removing layer content without a record");
                self.driver.remove(&id)?;
            }
        }
        if self.driver.kind() == crate::driver::DriverKind::Overlay {
            crate::driver::overlay_prune_links(&self.root)?;
        }
        for id in list_dir(&self.root.join("mounts"))? {
            if !is_hex_id(&id) || !recorded.contains(&id) {
                self.unmount_all(&id)?;
                remove_tree(&self.mount_dir(&id))?;
            }
        }
        // Drops the files of dead leases.
        self.leased_layers()?;
        Ok(())
    }

    /// Remove staging directories whose writer died: its lock is free.
    fn repair_staging(&self) -> Result<()> {
        let staging = self.root.join("staging");
        let names = list_dir(&staging)?;
        for name in &names {
            if let Some(base) = name.strip_suffix(".lock") {
                let lock_path = staging.join(name);
                if let Some(_dead) = FileLock::try_exclusive(&lock_path)? {
                    tracing::info!(staging = %base, "removing layer a killed process was applying");
                    remove_tree(&staging.join(base))?;
                    remove_tree(&lock_path)?;
                }
            } else if !staging.join(format!("{name}.lock")).exists() {
                // The lock file is made before the directory and removed
                // after it is gone, so a directory without one is a
                // leftover. (Checked by name, not from the listing: a
                // listing may show the new directory but miss its lock.)
                remove_tree(&staging.join(name))?;
            }
        }
        Ok(())
    }
}
