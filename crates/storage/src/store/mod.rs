//! The store: layers, images and containers under one root directory,
//! shared by any number of processes.
//!
//! Layout of the root:
//! - `driver`: the driver the store was created with;
//! - `layers.lock`, `images.lock`, `containers.lock`: see [`crate::lock`];
//! - `layers/<id>.json`, `images/<id>/{image.json,manifest,config}`,
//!   `containers/<id>.json`: the records;
//! - `staging/<tmp>` + `staging/<tmp>.lock`: layers being prepared, each
//!   locked by its live writer;
//! - `mounts/<layer>/{lock,count,root}`: mount counts and mount points;
//! - `leases/<tmp>`: layers a live process is about to reference;
//! - `writers/<pid>-<tmp>`: a marker per live Store that changes the
//!   store; a marker nobody holds means a repair is due (see `writers.rs`);
//! - `trash/`: removed layers and images, deleted after the locks are
//!   released;
//! - `overlay/` or `vfs/`: the driver's layer contents.

mod apply_many;
mod container_rename;
mod container_upper;
mod containers;
mod images;
mod layer_changes;
mod layer_holds;
mod layer_tar;
mod layer_usage;
mod layers;
mod lease;
mod mounts;
mod repair;
mod writers;

pub use containers::NewContainer;
pub use images::{NameRemoval, NewImage};
pub use layer_changes::{tree_changes, PathChange};
pub use layer_usage::DiskUsage;
pub use layers::ApplyOptions;
pub use lease::Lease;

use crate::driver::{self, Driver, DriverKind};
use crate::error::{Error, IoContext, Result};
use crate::lock::{FileLock, LockMode, StoreLocks};
use std::fs;
use std::path::{Path, PathBuf};

/// Where the store is and how it behaves.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// The root directory; created if missing.
    pub root: PathBuf,
    /// The driver to use; `None` picks overlay where a test mount works and
    /// vfs elsewhere. A store keeps the driver it was created with.
    pub driver: Option<DriverKind>,
    /// Flush a new layer's files to disk (`syncfs`) before recording it, so
    /// a power loss cannot leave a recorded layer with missing data. A
    /// killed process needs no flush: the page cache survives it.
    pub sync_layers: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            root: PathBuf::from("/var/lib/berth/storage"),
            driver: None,
            sync_layers: true,
        }
    }
}

impl StoreOptions {
    /// Options for a store at `root` with the other settings at their defaults.
    pub fn at(root: impl Into<PathBuf>) -> StoreOptions {
        StoreOptions {
            root: root.into(),
            ..StoreOptions::default()
        }
    }
}

/// An open store. Cheap to open; every method takes the file locks it needs,
/// so any number of processes (and threads) can use the same root at once.
///
/// # Layer lifecycle
///
/// Modelled on containerd's snapshotter; every layer, image or container,
/// goes through the same states:
///
/// 1. **prepare**: an active layer is made in `staging/` on top of a
///    committed parent, invisible to everyone else, locked by its writer.
///    [`Store::apply_layer`] unpacks a tar stream into it;
///    [`Store::create_container`] leaves it empty for the container.
/// 2. **commit**: once complete and its digests checked, the staging
///    directory is renamed to the layer id, then the record is written: the
///    record is what makes the layer visible. Image layers never change
///    after this.
/// 3. **view / mount**: [`Store::mount_image`] mounts a committed chain
///    read-only (containerd's view), [`Store::mount_container`] a container
///    layer read-write over its parents. Mounts are counted across
///    processes; the last unmount really unmounts.
/// 4. **remove**: [`Store::remove_image`], [`Store::remove_container`],
///    [`Store::remove_layer`] refuse what is in use; the record goes first,
///    then the content (through `trash/`), so a crash leaves at most an
///    orphan directory that the next [`Store::open`] deletes.
///
/// [`Store::layer_tar`] reads an image layer back as the very tar it was
/// applied from; [`Store::diff`] writes any committed layer's changes as a
/// new OCI layer tar.
#[derive(Debug)]
pub struct Store {
    root: PathBuf,
    driver: Box<dyn Driver>,
    locks: StoreLocks,
    sync_layers: bool,
    /// Set before this Store's first change: see [`writers`].
    writer: std::sync::Mutex<Option<writers::WriterMark>>,
}

impl Store {
    /// Open (creating if needed) the store at `opts.root`. When a process
    /// died while it could have been writing, first repair what it left
    /// behind: staging directories, layer contents without a record,
    /// half-deleted images. A store nobody died in opens without a scan.
    pub fn open(opts: StoreOptions) -> Result<Store> {
        let root = opts.root;
        for dir in [
            "layers",
            "images",
            "containers",
            "staging",
            "mounts",
            "leases",
            "trash",
        ] {
            fs::create_dir_all(root.join(dir)).ctx("create", root.join(dir))?;
        }
        let locks = StoreLocks::new(&root);
        let kind = {
            let _guard = FileLock::acquire(&locks.layers, LockMode::Exclusive)?;
            choose_driver(&root, opts.driver)?
        };
        let store = Store {
            driver: driver::open(kind, &root)?,
            root,
            locks,
            sync_layers: opts.sync_layers,
            writer: std::sync::Mutex::new(None),
        };
        store.repair_if_a_writer_died()?;
        store.empty_trash();
        Ok(store)
    }

    /// The store's root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The driver in use.
    pub fn driver_kind(&self) -> DriverKind {
        self.driver.kind()
    }

    fn lock(&self, path: &Path, mode: LockMode) -> Result<FileLock> {
        if mode == LockMode::Exclusive {
            self.mark_writer()?;
        }
        FileLock::acquire(path, mode)
    }

    fn layer_record(&self, id: &str) -> PathBuf {
        self.root.join("layers").join(format!("{id}.json"))
    }

    fn image_dir(&self, id: &str) -> PathBuf {
        self.root.join("images").join(id)
    }

    fn container_record(&self, id: &str) -> PathBuf {
        self.root.join("containers").join(format!("{id}.json"))
    }

    fn mount_dir(&self, layer: &str) -> PathBuf {
        self.root.join("mounts").join(layer)
    }
}

fn choose_driver(root: &Path, requested: Option<DriverKind>) -> Result<DriverKind> {
    let record = root.join("driver");
    let existing = match fs::read_to_string(&record) {
        Ok(s) => Some(s.trim().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).ctx("read", &record),
    };
    if let Some(existing) = existing {
        let kind = match existing.as_str() {
            "overlay" => DriverKind::Overlay,
            "vfs" => DriverKind::Vfs,
            _ => {
                return Err(Error::DriverUnavailable {
                    driver: "unknown",
                    reason: format!("{} names driver {existing:?}", record.display()),
                })
            }
        };
        return match requested {
            Some(r) if r != kind => Err(Error::DriverMismatch {
                root: root.to_path_buf(),
                existing,
                requested: r.name(),
            }),
            _ => Ok(kind),
        };
    }
    let kind = match requested {
        Some(DriverKind::Overlay) => {
            driver::overlay_works(root).map_err(|reason| Error::DriverUnavailable {
                driver: "overlay",
                reason,
            })?;
            DriverKind::Overlay
        }
        Some(DriverKind::Vfs) => DriverKind::Vfs,
        None => match driver::overlay_works(root) {
            Ok(()) => DriverKind::Overlay,
            Err(reason) => {
                tracing::info!(%reason, "overlay does not work here; using vfs");
                DriverKind::Vfs
            }
        },
    };
    crate::fsutil::write_atomic(&record, kind.name().as_bytes())?;
    Ok(kind)
}
