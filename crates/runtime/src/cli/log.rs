//! Error and debug lines, as text or as runc's JSON lines
//! (`{"level":"error","msg":"…","time":"…"}`), which engines parse from
//! the `--log` file when a command fails.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// `--log-format`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// `time level msg` lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where and how to log.
#[derive(Clone)]
pub struct Logger {
    file: Option<PathBuf>,
    format: Format,
    debug: bool,
}

impl Logger {
    /// Log to `file` (if any) in `format`; with `debug`, debug lines too.
    pub fn new(file: Option<&Path>, format: Format, debug: bool) -> Self {
        Logger {
            file: file.map(Path::to_path_buf),
            format,
            debug,
        }
    }

    /// Report a failed command: in the log file when there is one (as
    /// crun does: the engine that asked for it reads it, and reports the
    /// error itself, so it reaches the user once), else on stderr.
    pub fn error(&self, err: &anyhow::Error) {
        let msg = chain(err);
        if self.file.is_some() {
            self.to_file("error", &msg);
        } else {
            eprintln!("berth-runtime: {msg}");
        }
    }

    /// A debug line (`--debug`): in the log file when there is one, else
    /// on stderr.
    pub fn debug(&self, msg: &str) {
        if !self.debug {
            return;
        }
        if self.file.is_some() {
            self.to_file("debug", msg);
        } else {
            eprintln!("berth-runtime: debug: {msg}");
        }
    }

    /// Report a warning (a failure the operation goes on after): one line
    /// on stderr, and one in the log file, as runc logs them.
    pub fn warn(&self, msg: &str) {
        eprintln!("berth-runtime: warning: {msg}");
        self.to_file("warning", msg);
    }

    fn to_file(&self, level: &str, msg: &str) {
        let Some(path) = &self.file else { return };
        let time = berth_runtime::time::now_rfc3339();
        let line = match self.format {
            Format::Json => {
                serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
            }
            Format::Text => format!("time=\"{time}\" level={level} msg={msg:?}"),
        };
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// Where the library's warnings go for the rest of this run.
static WARNINGS: OnceLock<Logger> = OnceLock::new();

/// Route the library's warnings (failing poststart/poststop hooks) and,
/// with `--debug`, its debug lines through a copy of `logger`.
pub fn install_warning_sink(logger: &Logger) {
    if WARNINGS.set(logger.clone()).is_ok() {
        berth_runtime::warning::set_sink(|msg| {
            if let Some(l) = WARNINGS.get() {
                l.warn(msg);
            }
        });
        if logger.debug {
            berth_runtime::warning::set_debug_sink(|msg| {
                if let Some(l) = WARNINGS.get() {
                    l.debug(msg);
                }
            });
        }
    }
}

fn chain(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in err.chain() {
        let text = cause.to_string();
        if parts.last().is_some_and(|p| p.ends_with(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}
