//! Building images without a daemon: the Containerfile parser and the
//! builder's primitives over the engine.
#![deny(missing_docs)]

pub mod containerfile;
pub mod stages;
