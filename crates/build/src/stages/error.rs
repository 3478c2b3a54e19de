//! A build's error: which Containerfile line, and what went wrong there.

use std::path::PathBuf;

use super::context::ContextError;
use super::plan::PlanError;
use crate::containerfile::substitute::SubstituteError;
use crate::containerfile::ReadError;

/// A build that failed. Nothing it made is left but cache images of the
/// steps that succeeded.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Containerfile cannot be read or parsed.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Its stages do not fit together.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// An instruction failed.
    #[error("{}:{line}: {step}: {kind}", file.display())]
    Step {
        /// The Containerfile.
        file: PathBuf,
        /// The instruction's line.
        line: usize,
        /// The instruction as written.
        step: String,
        /// What failed (boxed: a working container error is large).
        kind: Box<StepError>,
    },
    /// The build context cannot be opened.
    #[error("build context: {0}")]
    Context(#[source] ContextError),
    /// Tagging the result failed.
    #[error("tagging the image as {name}: {source}")]
    Tag {
        /// The name.
        name: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An option of the build is not usable.
    #[error("{0}")]
    Option(String),
}

/// What went wrong in one instruction.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    /// A variable could not be expanded.
    #[error(transparent)]
    Substitute(#[from] SubstituteError),
    /// A COPY/ADD source is not usable.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The working container operation failed (a RUN's exit code is here).
    #[error(transparent)]
    Working(#[from] crate::Error),
    /// `RUN --mount=type=secret` of a secret not given with `--secret`.
    #[error("secret {0:?} is required but was not given (--secret id={0},src=PATH)")]
    MissingSecret(String),
    /// Something the instruction asks for that berth does not do.
    #[error("{0}")]
    Unsupported(String),
    /// A value that does not fit (a chmod that is not octal, ...).
    #[error("{0}")]
    Invalid(String),
    /// Host file work for the step (heredoc files, filtered copies).
    #[error("{op}: {source}")]
    Io {
        /// What was done.
        op: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}
