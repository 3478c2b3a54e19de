//! berth-scan: what is inside an image, read from its mounted tree without
//! executing anything in it.
//!
//! The inventory readers fill an [`Inventory`]; the SBOM writers, the OSV
//! matcher and the package diff only read one.

mod apk;
mod control;
pub mod dpkg;
mod error;
mod file_bytes;
mod found;
pub mod image_info;
mod inventory;
pub mod lang;
pub mod model;
pub mod os_release;
pub mod osv;
pub mod package_diff;
mod rpm_header;
pub mod rpmdb;
pub mod sbom;
mod tree;
pub mod versions;
pub mod walk;

pub use error::Error;
pub use inventory::{scan, scan_tree, scan_tree_with, TreeScan};
pub use model::{Ecosystem, ImageInfo, Inventory, LayerInfo, OsRelease, Package, ScanWarning};
