//! Running a Containerfile: its stages, their build args, the build
//! context, and the executor that turns each instruction into working
//! container operations.

pub mod args;
pub mod context;
pub mod plan;

pub use args::{ArgScope, Platform};
pub use plan::{Plan, PlanError, PlanErrorKind, Stage, StageBase};
