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
}

impl Logger {
    /// Log to `file` (if any) in `format`; `debug` is accepted for runc
    /// compatibility and turns on `RUST_LOG`-free debug output in a later
    /// version.
    pub fn new(file: Option<&Path>, format: Format, _debug: bool) -> Self {
        Logger {
            file: file.map(Path::to_path_buf),
            format,
        }
    }

    /// Report a failed command: one line on stderr, and one in the log file.
    pub fn error(&self, err: &anyhow::Error) {
        let msg = chain(err);
        eprintln!("berth-runtime: {msg}");
        self.to_file("error", &msg);
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

/// Route the library's warnings (failing poststart/poststop hooks) through
/// a copy of `logger`.
pub fn install_warning_sink(logger: &Logger) {
    if WARNINGS.set(logger.clone()).is_ok() {
        berth_runtime::warning::set_sink(|msg| {
            if let Some(l) = WARNINGS.get() {
                l.warn(msg);
            }
        });
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
