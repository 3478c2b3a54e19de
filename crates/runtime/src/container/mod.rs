//! Container operations, one file per part of the lifecycle.

mod attach;
pub mod create;
pub mod exec;
mod init;
pub mod lifecycle;
pub mod manage;
pub mod notify_relay;
pub mod run;

pub use create::{create, CreateOptions, Launch};
pub use lifecycle::{delete, kill, start, state, StateReport};
pub use run::run;
