//! Layers: applying a tar stream to a new layer, looking layers up,
//! removing and collecting them, and diffing them back to a tar stream.

use super::lease::Lease;
use super::Store;
use crate::apply::{apply_stream, finish_deferred, Deferred, StreamSummary};
use crate::diff::{write_tar, DiffSummary};
use crate::digest::Digest;
use crate::error::{Error, IoContext, Result};
use crate::fsutil::{list_dir, random_hex, read_json, remove_tree, sync_dir, write_json};
use crate::lock::{FileLock, LockMode};
use crate::records::{is_hex_id, Layer, LayerKind};
use std::collections::HashSet;
use std::io::{Read, Write};
use std::path::PathBuf;

/// What the caller knows about a layer blob before applying it.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// The digest of the blob as read (compressed), e.g. from the manifest.
    /// Checked before the layer is committed.
    pub compressed_digest: Option<Digest>,
    /// The digest of the uncompressed tar (the config's diff id). Checked
    /// before commit; when a layer with this diff on the same parent already
    /// exists, it is returned without reading the stream at all.
    pub diff_digest: Option<Digest>,
}

/// A layer applied in staging, not yet committed.
pub(super) struct Staged {
    staging: Staging,
    content: PathBuf,
    summary: StreamSummary,
    deferred: Vec<Deferred>,
}

impl Staged {
    /// The staging directory (the driver's layer directory).
    pub(super) fn dir(&self) -> &std::path::Path {
        &self.staging.dir
    }
}

/// A staging directory owned by this process, locked so that a concurrent
/// open's repair leaves it alone, and removed if not committed.
pub(super) struct Staging {
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: FileLock,
    committed: bool,
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = remove_tree(&self.dir);
        }
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

impl Store {
    fn staging(&self) -> Result<Staging> {
        self.mark_writer()?;
        let name = random_hex(16);
        let base = self.root.join("staging");
        let lock_path = base.join(format!("{name}.lock"));
        let lock = FileLock::acquire(&lock_path, LockMode::Exclusive)?;
        Ok(Staging {
            dir: base.join(name),
            lock_path,
            _lock: lock,
            committed: false,
        })
    }

    /// Read a layer record; `LayerNotFound` when missing.
    pub(crate) fn read_layer(&self, id: &str) -> Result<Layer> {
        if !is_hex_id(id) {
            return Err(Error::LayerNotFound(id.to_string()));
        }
        read_json(&self.layer_record(id))?.ok_or_else(|| Error::LayerNotFound(id.to_string()))
    }

    pub(crate) fn all_layers(&self) -> Result<Vec<Layer>> {
        let mut out = Vec::new();
        for name in list_dir(&self.root.join("layers"))? {
            let Some(id) = name.strip_suffix(".json") else {
                continue;
            };
            if !is_hex_id(id) {
                continue;
            }
            if let Some(layer) = read_json::<Layer>(&self.layer_record(id))? {
                out.push(layer);
            }
        }
        Ok(out)
    }

    /// The layer `id`.
    pub fn layer(&self, id: &str) -> Result<Layer> {
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        self.read_layer(id)
    }

    /// Every layer.
    pub fn layers(&self) -> Result<Vec<Layer>> {
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        self.all_layers()
    }

    /// The image layer with diff `diff` on `parent`, if stored.
    pub fn find_layer(&self, parent: Option<&str>, diff: &Digest) -> Result<Option<Layer>> {
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        let id = chain_id(parent, diff)?;
        match self.read_layer(&id) {
            Ok(l) => Ok(Some(l)),
            Err(Error::LayerNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Apply the layer blob `input` (plain, gzip or zstd tar, detected by
    /// magic) as a new layer on `parent`, in one pass that also computes its
    /// digests. The layer becomes visible only once complete and matching
    /// `opts`; on any error nothing is left behind. A layer with the same
    /// diff on the same parent is shared, not stored twice.
    ///
    /// `lease` keeps the new layer (and `parent`) from being collected by
    /// another process until the image referencing it is created. To apply
    /// all layers of an image, [`Store::apply_layers`] is faster.
    pub fn apply_layer<R: Read + Send>(
        &self,
        lease: &Lease,
        parent: Option<&str>,
        input: R,
        opts: &ApplyOptions,
    ) -> Result<Layer> {
        if let Some(existing) = self.hold_parent_or_existing(lease, parent, opts)? {
            return Ok(existing);
        }
        let lowers = self.driver.lowers(parent)?;
        let mut staged = self.stage(parent, Some(&lowers), input, opts)?;
        self.commit_staged(&mut staged, parent, lease)
    }

    /// Check `parent` exists and lease it; return the layer `opts` describe
    /// if it is already stored.
    pub(super) fn hold_parent_or_existing(
        &self,
        lease: &Lease,
        parent: Option<&str>,
        opts: &ApplyOptions,
    ) -> Result<Option<Layer>> {
        let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
        if let Some(p) = parent {
            self.read_layer(p)?;
            lease.hold(p)?;
        }
        if let Some(diff) = &opts.diff_digest {
            let id = chain_id(parent, diff)?;
            if let Ok(existing) = self.read_layer(&id) {
                lease.hold(&id)?;
                return Ok(Some(existing));
            }
        }
        Ok(None)
    }

    /// Prepare a staging layer on `parent` and apply `input` into it,
    /// checking the digests `opts` names. `lowers` None: the parent is not
    /// committed yet (parallel apply); hard links into it are deferred.
    pub(super) fn stage<R: Read + Send>(
        &self,
        parent: Option<&str>,
        lowers: Option<&[PathBuf]>,
        input: R,
        opts: &ApplyOptions,
    ) -> Result<Staged> {
        let staging = self.staging()?;
        let content = self.driver.prepare(&staging.dir, parent)?;
        let (summary, deferred) = apply_stream(
            input,
            &content,
            self.driver.whiteout_style(),
            lowers,
            &staging.dir.join(crate::tar_split::FILE),
        )?;
        if let Some(want) = &opts.compressed_digest {
            if *want != summary.compressed_digest {
                return Err(Error::DigestMismatch {
                    what: "compressed",
                    expected: want.to_string(),
                    actual: summary.compressed_digest.to_string(),
                });
            }
        }
        if let Some(want) = &opts.diff_digest {
            if *want != summary.diff_digest {
                return Err(Error::DigestMismatch {
                    what: "uncompressed",
                    expected: want.to_string(),
                    actual: summary.diff_digest.to_string(),
                });
            }
        }
        Ok(Staged {
            staging,
            content,
            summary,
            deferred,
        })
    }

    /// Commit a staged image layer on `parent` (which must be committed).
    pub(super) fn commit_staged(
        &self,
        staged: &mut Staged,
        parent: Option<&str>,
        lease: &Lease,
    ) -> Result<Layer> {
        if !staged.deferred.is_empty() {
            let lowers = self.driver.lowers(parent)?;
            finish_deferred(&staged.content, &lowers, &staged.deferred)?;
        }
        if self.sync_layers {
            let fd = crate::fsat::open_dir(&staged.content).ctx("open", &staged.content)?;
            rustix::fs::syncfs(&fd).ctx("sync filesystem of", &staged.content)?;
        }
        let summary = &staged.summary;
        let compressed = summary.compression != crate::apply::Compression::None;
        let layer = Layer {
            id: chain_id(parent, &summary.diff_digest)?,
            parent: parent.map(str::to_string),
            kind: LayerKind::Image,
            diff_digest: Some(summary.diff_digest.clone()),
            compressed_digest: compressed.then(|| summary.compressed_digest.clone()),
            compressed_size: compressed.then_some(summary.compressed_size),
            size: summary.size,
            created: crate::fsutil::now_secs(),
        };
        self.commit_layer(&mut staged.staging, layer, Some(lease))
    }

    /// Make the staged layer `layer.id` visible: rename its content into
    /// place, then write its record. A concurrent writer may have committed
    /// the same layer first; then that one is returned and ours discarded.
    fn commit_layer(
        &self,
        staging: &mut Staging,
        layer: Layer,
        lease: Option<&Lease>,
    ) -> Result<Layer> {
        let _l = self.lock(&self.locks.layers, LockMode::Exclusive)?;
        if let Some(p) = &layer.parent {
            if self.read_layer(p).is_err() {
                return Err(Error::ParentGone(p.clone()));
            }
        }
        if let Ok(existing) = self.read_layer(&layer.id) {
            if let Some(lease) = lease {
                lease.hold(&existing.id)?;
            }
            return Ok(existing);
        }
        self.driver.commit(&staging.dir, &layer.id)?;
        staging.committed = true;
        write_json(&self.layer_record(&layer.id), &layer)?;
        if let Some(lease) = lease {
            lease.hold(&layer.id)?;
        }
        Ok(layer)
    }

    /// Prepare and commit an empty read-write layer `id` on `parent` (a
    /// container's layer). The caller holds the containers lock.
    pub(crate) fn create_rw_layer(&self, id: &str, parent: Option<&str>) -> Result<Layer> {
        let mut staging = self.staging()?;
        {
            let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
            if let Some(p) = parent {
                self.read_layer(p)?;
            }
            self.driver.prepare(&staging.dir, parent)?;
        }
        let layer = Layer {
            id: id.to_string(),
            parent: parent.map(str::to_string),
            kind: LayerKind::Container,
            diff_digest: None,
            compressed_digest: None,
            compressed_size: None,
            size: 0,
            created: crate::fsutil::now_secs(),
        };
        self.commit_layer(&mut staging, layer, None)
    }

    /// Who uses layer `id`: child layers, images, containers, mounts,
    /// leases. Call with the images and layers locks held.
    pub(crate) fn layer_users(
        &self,
        id: &str,
        layers: &[Layer],
        leased: &HashSet<String>,
    ) -> Result<Vec<String>> {
        let mut users: Vec<String> = layers
            .iter()
            .filter(|l| l.parent.as_deref() == Some(id))
            .map(|l| format!("layer {}", l.id))
            .collect();
        for image in self.all_images()? {
            if image.top_layer.as_deref() == Some(id) {
                users.push(format!("image {}", image.id));
            }
        }
        let mounts = self.mount_count(id)?;
        if mounts > 0 {
            users.push(format!("{mounts} mount(s)"));
        }
        if leased.contains(id) {
            users.push("a process applying an image".into());
        }
        Ok(users)
    }

    /// Delete layer `id` whose users were checked: the record first, so a
    /// crash leaves only an orphan directory that the next open removes.
    pub(crate) fn delete_layer(&self, id: &str) -> Result<()> {
        let record = self.layer_record(id);
        match std::fs::remove_file(&record) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(e).ctx("remove", &record)
            }
            _ => {}
        }
        sync_dir(&self.root.join("layers"))?;
        self.unmount_all(id)?;
        remove_tree(&self.mount_dir(id))?;
        self.driver.detach(id, &self.trash_path(id))
    }

    /// A fresh path in `trash/` for something named `what`.
    pub(crate) fn trash_path(&self, what: &str) -> PathBuf {
        self.root
            .join("trash")
            .join(format!("{what}-{}", random_hex(6)))
    }

    /// Delete what removals moved to `trash/`. Runs without store locks, so
    /// deleting a big layer does not keep other processes waiting; several
    /// processes may empty the trash at once. A failure only leaves garbage
    /// for the next try, so it is logged, not returned.
    pub(crate) fn empty_trash(&self) {
        let trash = self.root.join("trash");
        let Ok(dir) = crate::fsat::open_dir(&trash) else {
            return;
        };
        let Ok(names) = crate::fsat::read_names(std::os::fd::AsFd::as_fd(&dir)) else {
            return;
        };
        for name in names {
            if let Err(e) = crate::fsat::remove_at(std::os::fd::AsFd::as_fd(&dir), &name) {
                tracing::warn!(path = %trash.join(name.to_string_lossy().as_ref()).display(), error = %e, "cannot empty trash");
            }
        }
    }

    /// Remove layer `id`. Refused with [`Error::InUse`] when another layer,
    /// an image, a mount or a lease uses it; `force` unmounts it first (but
    /// never breaks a chain of layers or an image).
    pub fn remove_layer(&self, id: &str, force: bool) -> Result<()> {
        let result = self.remove_layer_locked(id, force);
        self.empty_trash();
        result
    }

    fn remove_layer_locked(&self, id: &str, force: bool) -> Result<()> {
        let _c = self.lock(&self.locks.containers, LockMode::Shared)?;
        let _i = self.lock(&self.locks.images, LockMode::Shared)?;
        let _l = self.lock(&self.locks.layers, LockMode::Exclusive)?;
        self.read_layer(id)?;
        let layers = self.all_layers()?;
        let leased = self.leased_layers()?;
        let mut users = self.layer_users(id, &layers, &leased)?;
        for c in self.all_containers()? {
            if c.layer == id {
                users.push(format!("container {}", c.name));
            }
        }
        if force {
            users.retain(|u| !u.ends_with("mount(s)"));
        }
        if !users.is_empty() {
            return Err(Error::InUse {
                what: format!("layer {id}"),
                users,
            });
        }
        self.delete_layer(id)
    }

    /// Remove image layers that nothing uses (left by an image delete that
    /// was killed, or by applies whose image was never created). Returns the
    /// removed ids.
    pub fn gc(&self) -> Result<Vec<String>> {
        let result = self.gc_locked();
        self.empty_trash();
        result
    }

    fn gc_locked(&self) -> Result<Vec<String>> {
        let _c = self.lock(&self.locks.containers, LockMode::Shared)?;
        let _i = self.lock(&self.locks.images, LockMode::Shared)?;
        let _l = self.lock(&self.locks.layers, LockMode::Exclusive)?;
        let mut removed = Vec::new();
        loop {
            let layers = self.all_layers()?;
            let leased = self.leased_layers()?;
            let mut progress = false;
            for l in layers.iter().filter(|l| l.kind == LayerKind::Image) {
                if self.layer_users(&l.id, &layers, &leased)?.is_empty() {
                    self.delete_layer(&l.id)?;
                    removed.push(l.id.clone());
                    progress = true;
                }
            }
            if !progress {
                return Ok(removed);
            }
        }
    }

    /// Write the changes of layer `id` against its parent as an OCI layer
    /// tar to `out` (whiteouts as `.wh.` entries, stable order and headers:
    /// the same change gives the same digest). For a container, pass its
    /// layer id, preferably while it does not run.
    pub fn diff<W: Write>(&self, id: &str, out: W) -> Result<DiffSummary> {
        let layer = {
            let _l = self.lock(&self.locks.layers, LockMode::Shared)?;
            self.read_layer(id)?
        };
        let (root, changes) = self.driver.changes(id, layer.parent.as_deref())?;
        write_tar(&root, &changes, out)
    }
}

/// The id of the layer with diff `diff` on `parent`: the OCI chain id.
pub(super) fn chain_id(parent: Option<&str>, diff: &Digest) -> Result<String> {
    let parent = match parent {
        Some(p) => Some(
            format!("sha256:{p}")
                .parse::<Digest>()
                .map_err(|_| Error::LayerNotFound(p.to_string()))?,
        ),
        None => None,
    };
    Ok(diff.chain(parent.as_ref()).hex().to_string())
}
