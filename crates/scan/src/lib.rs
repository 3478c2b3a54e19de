//! berth-scan: what is inside an image, read from its mounted tree without
//! executing anything in it.
//!
//! The inventory readers fill an [`Inventory`]; the SBOM writers, the OSV
//! matcher and the package diff only read one.

pub mod lang;
pub mod model;
pub mod osv;
pub mod sbom;
pub mod versions;

pub use model::{Ecosystem, ImageInfo, Inventory, LayerInfo, OsRelease, Package, ScanWarning};
