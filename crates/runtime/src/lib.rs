//! berth's OCI runtime: turns an OCI bundle into a running, isolated
//! process, with runc's lifecycle (`create`, `start`, `state`, `kill`,
//! `delete`). The `berth-runtime` binary is a thin command line over it.
#![deny(missing_docs)]

pub mod cgroups;
pub mod checkpoint;
pub mod console;
pub mod container;
pub mod error;
pub mod hooks;
pub mod loopback;
pub mod namespaces;
pub mod process;
pub mod rootfs;
pub mod seccomp;
pub mod spec;
pub mod state;
pub mod sync;
pub mod time;
pub mod warning;

pub use error::{Error, Result};

/// An error and its causes on one line, `a: b: c`, as engines log it.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        // thiserror messages often embed their source already.
        if !text.ends_with(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}
