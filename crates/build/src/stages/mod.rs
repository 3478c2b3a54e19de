//! Running a Containerfile: its stages, their build args, the build
//! context, the layer cache, and the executor that turns each instruction
//! into working container operations.

pub mod args;
mod cache;
pub mod context;
mod error;
mod executor;
mod options;
pub mod plan;
mod step_config;
mod step_layer;

pub use args::{ArgScope, Platform};
pub use error::{BuildError, StepError};
pub use executor::build;
pub use options::BuildOptions;
pub use plan::{Plan, PlanError, PlanErrorKind, Stage, StageBase};
