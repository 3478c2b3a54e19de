//! The parser's error: every one names the file and the line it came from.

use std::path::PathBuf;

/// A Containerfile that cannot be read as one.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {kind}", file.display())]
pub struct ParseError {
    /// The Containerfile, as the user named it.
    pub file: PathBuf,
    /// The 1-based line where the faulty instruction starts.
    pub line: usize,
    /// What is wrong there.
    pub kind: ParseErrorKind,
}

/// What is wrong with a Containerfile line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseErrorKind {
    /// The first word is no Containerfile instruction.
    #[error("unknown instruction: {0}")]
    UnknownInstruction(String),
    /// A parser directive given twice, or with a value it cannot have.
    #[error("invalid parser directive {name}={value}: {reason}")]
    Directive {
        /// `escape`, `syntax`, ...
        name: String,
        /// The value given.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// A `<<WORD` whose terminator line never came.
    #[error("unterminated heredoc <<{0}")]
    UnterminatedHeredoc(String),
    /// A flag the instruction does not take.
    #[error("{instruction} does not take the flag --{flag}")]
    UnknownFlag {
        /// The instruction.
        instruction: &'static str,
        /// The flag, without dashes.
        flag: String,
    },
    /// A flag given without the value it needs, or twice.
    #[error("{instruction}: bad flag --{flag}: {reason}")]
    BadFlag {
        /// The instruction.
        instruction: &'static str,
        /// The flag, without dashes.
        flag: String,
        /// Why it is refused.
        reason: String,
    },
    /// The arguments don't fit the instruction.
    #[error("{instruction}: {reason}")]
    BadArguments {
        /// The instruction.
        instruction: &'static str,
        /// What is wrong with them.
        reason: String,
    },
    /// A quote opened and never closed.
    #[error("unterminated {0} quote")]
    UnterminatedQuote(&'static str),
}

impl ParseErrorKind {
    pub(crate) fn args(instruction: &'static str, reason: impl Into<String>) -> Self {
        ParseErrorKind::BadArguments {
            instruction,
            reason: reason.into(),
        }
    }
}
