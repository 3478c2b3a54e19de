//! Building images without a daemon: buildah's primitives as berth's
//! `build` crate. A [`working`] container is a read-write layer over an
//! image (or over nothing, `scratch`) with the image config being built;
//! commands run in it through the engine, files are copied into it
//! resolved inside its root, and it is committed through the engine's
//! commit path to a new image. The Containerfile builder runs on these.
#![deny(missing_docs)]

pub mod containerfile;
mod error;
pub mod stages;
pub mod working;

pub use error::{Error, Result};
pub use working::{
    Builder, CommitOptions, CopyOptions, FromOptions, Healthcheck, RunMount, RunOptions,
    WorkingConfig, WorkingContainer,
};
