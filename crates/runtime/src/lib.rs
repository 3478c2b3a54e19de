//! berth's OCI runtime library.
#![deny(missing_docs)]
