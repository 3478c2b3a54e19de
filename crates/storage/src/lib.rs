//! Layered copy-on-write storage for OCI images and containers, shared by
//! many processes at once with no daemon: every process opens the same
//! [`Store`] root, and file locks on disk keep them consistent.
//!
//! The store keeps [layers](Layer) (applied from tar streams in one pass,
//! shared by chain id), [images](Image) (manifest and config kept byte for
//! byte) and [containers](Container) (a read-write layer on an image). Two
//! drivers hold layer contents: overlay (the kernel's overlayfs) and vfs
//! (full copies), see [`DriverKind`]; their lifecycle is documented on the
//! crate's driver module and follows containerd's snapshotter.
//!
//! Pulling an image:
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use berth_storage::{ApplyOptions, NewImage, Store, StoreOptions};
//! let store = Store::open(StoreOptions::at("/var/lib/berth/storage"))?;
//! let lease = store.lease()?;
//! let mut parent = None;
//! for blob in [std::fs::File::open("layer.tar.gz")?] {
//!     let layer = store.apply_layer(&lease, parent.as_deref(), blob, &ApplyOptions::default())?;
//!     parent = Some(layer.id);
//! }
//! store.create_image(NewImage {
//!     top_layer: parent,
//!     names: vec!["example.com/app:latest".into()],
//!     manifest: b"{}".to_vec(),
//!     config: b"{}".to_vec(),
//! })?;
//! let rootfs = store.mount_image("example.com/app:latest")?;
//! # let _ = rootfs;
//! store.unmount_image("example.com/app:latest", false)?;
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod apply;
mod diff;
mod digest;
mod driver;
mod error;
mod fsat;
mod fsutil;
mod lock;
mod overlay_xattrs;
mod records;
mod store;
mod tar_split;
mod tree_tar;

pub use apply::Compression;
pub use diff::DiffSummary;
pub use digest::Digest;
pub use driver::DriverKind;
pub use error::{Error, Result};
/// Atomic metadata writes and random ids, for the engine's own records.
pub use fsutil::{random_hex, write_atomic, write_atomic_nosync};
pub use records::{Container, Image, Layer, LayerKind};
pub use store::{
    tree_changes, ApplyOptions, DiskUsage, Lease, NameRemoval, NewContainer, NewImage, PathChange,
    Store, StoreOptions,
};
pub use tar_split::LayerTar;
pub use tree_tar::{tar_tree, untar_into};
