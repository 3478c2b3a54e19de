//! The Containerfile (Dockerfile) parser, following the Dockerfile
//! reference and BuildKit's reading of it: parser directives, comments,
//! line continuations with the escape character, heredocs, exec and shell
//! forms, flags, and (in [`substitute`]) variable expansion. Context
//! exclusion files are read by [`ignore`].
//!
//! Parsing checks everything that can be checked without running the
//! build; arguments where Docker expands variables stay raw, for the
//! executor to expand with the ARG and ENV values in scope.

mod duration;
mod error;
mod flags;
mod heredoc;
pub mod ignore;
mod instruction;
mod lines;
mod parse;
mod run_mount;
pub mod substitute;
mod words;

use std::path::{Path, PathBuf};

pub use error::{ParseError, ParseErrorKind};
pub use instruction::{CommandForm, CopyArgs, Healthcheck, Heredoc, Instruction};
pub use lines::Directives;
pub use run_mount::{cache_id_of, CacheSharing, MountType, RunMount};

/// A parsed Containerfile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    /// The file, as the user named it (for error messages).
    pub path: PathBuf,
    /// The parser directives at its top.
    pub directives: Directives,
    /// Its instructions in order.
    pub steps: Vec<Step>,
}

/// One instruction and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// 1-based line where the instruction starts.
    pub line: usize,
    /// The instruction's text with continuations joined (podman prints it
    /// in `STEP n/m: ...`).
    pub text: String,
    /// The instruction.
    pub instruction: Instruction,
}

impl Containerfile {
    /// Reads and parses the file at `path`.
    pub fn read(path: &Path) -> Result<Containerfile, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|source| ReadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Containerfile::parse(path, &text)?)
    }

    /// Parses `text`; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Containerfile, ParseError> {
        let err = |line: usize, kind: ParseErrorKind| ParseError {
            file: path.to_path_buf(),
            line,
            kind,
        };
        let (mut reader, directives) = lines::LineReader::new(text).map_err(|(l, k)| err(l, k))?;
        let escape = directives.escape;
        let mut steps = Vec::new();
        while let Some(logical) = reader.next_logical() {
            let (keyword, rest) = parse::split_keyword(&logical.text);
            let instruction = parse::instruction(keyword, rest, escape, Some(&mut reader))
                .map_err(|k| err(logical.line, k))?;
            steps.push(Step {
                line: logical.line,
                text: logical.text.trim().to_string(),
                instruction,
            });
        }
        Ok(Containerfile {
            path: path.to_path_buf(),
            directives,
            steps,
        })
    }

    /// Parses one ONBUILD trigger taken from a base image's config.
    pub fn parse_trigger(text: &str, escape: char) -> Result<Instruction, ParseErrorKind> {
        let (keyword, rest) = parse::split_keyword(text);
        match keyword.to_ascii_uppercase().as_str() {
            "ONBUILD" | "FROM" | "MAINTAINER" => Err(ParseErrorKind::args(
                "ONBUILD",
                format!("ONBUILD {keyword} is not allowed"),
            )),
            _ => parse::instruction(keyword, rest, escape, None),
        }
    }
}

/// A Containerfile that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file cannot be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The file is no valid Containerfile.
    #[error(transparent)]
    Parse(#[from] ParseError),
}
