//! berth's OCI runtime library.
#![deny(missing_docs)]

pub mod cgroups;
