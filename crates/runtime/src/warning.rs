//! Warnings and debug lines. Warnings: failures the runtime spec says must not stop an operation
//! (a failing `poststart` or `poststop` hook "MUST log a warning, but the
//! remaining hooks and lifecycle continue as if the hook had succeeded").
//!
//! The library cannot know where the binary logs, so the binary installs a
//! sink once at start-up (runc's `--log` file and stderr); without one a
//! warning goes to stderr. A plain `fn` pointer set once: nothing per
//! container lives here.

use std::sync::OnceLock;

static SINK: OnceLock<fn(&str)> = OnceLock::new();

/// Send every later warning to `sink` instead of stderr. Only the first
/// call takes effect.
pub fn set_sink(sink: fn(&str)) {
    let _ = SINK.set(sink);
}

/// Log `message` as a warning and go on.
pub fn warn(message: &str) {
    tracing::warn!("{message}");
    match SINK.get() {
        Some(sink) => sink(message),
        None => eprintln!("berth-runtime: warning: {message}"),
    }
}

static DEBUG_SINK: OnceLock<fn(&str)> = OnceLock::new();

/// Send debug lines to `sink` (the binary does it for `--debug`); without
/// one they are dropped. Only the first call takes effect.
pub fn set_debug_sink(sink: fn(&str)) {
    let _ = DEBUG_SINK.set(sink);
}

/// Log `message` at debug level, if anyone listens (`--debug`).
pub fn debug(message: impl FnOnce() -> String) {
    if let Some(sink) = DEBUG_SINK.get() {
        sink(&message());
    }
}
