//! Error and debug lines, as text or as runc's JSON lines
//! (`{"level":"error","msg":"…","time":"…"}`), which engines parse from
//! the `--log` file when a command fails.

use std::io::Write;
use std::path::{Path, PathBuf};

/// `--log-format`.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    /// `time level msg` lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Where and how to log.
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
        let Some(path) = &self.file else { return };
        let time = berth_runtime::time::now_rfc3339();
        let line = match self.format {
            Format::Json => {
                serde_json::json!({"level": "error", "msg": msg, "time": time}).to_string()
            }
            Format::Text => format!("time=\"{time}\" level=error msg={msg:?}"),
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
