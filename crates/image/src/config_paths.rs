//! Where the configuration files of berth and of the containers ecosystem
//! live. Every system-wide path goes through [`system`], so one variable,
//! `$BERTH_CONFIG_ROOT`, moves all of them (`/etc/berth`, `/etc/containers`,
//! `/usr/share/containers`) under another directory: tests and chroots use
//! it so they never read the machine's own files. Per-user paths follow
//! `$HOME` and `$XDG_CONFIG_HOME` as the containers tools do.

use crate::error::{IoContext, Result};
use std::path::{Path, PathBuf};

/// The variable that relocates every system-wide configuration path.
pub const CONFIG_ROOT_VAR: &str = "BERTH_CONFIG_ROOT";

/// A non-empty environment variable as a path.
pub fn env_path(var: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// A system-wide path (`/etc/containers/policy.json`), under
/// `$BERTH_CONFIG_ROOT` when that is set.
pub fn system(path: &str) -> PathBuf {
    match env_path(CONFIG_ROOT_VAR) {
        Some(root) => root.join(path.trim_start_matches('/')),
        None => PathBuf::from(path),
    }
}

/// `$HOME/.config/<rel>`: where containers/image looks for the user's
/// registries.conf and policy.json (it ignores `$XDG_CONFIG_HOME` for them).
pub fn home_config(rel: &str) -> Option<PathBuf> {
    env_path("HOME").map(|h| h.join(".config").join(rel))
}

/// `$XDG_CONFIG_HOME/<rel>`, else `$HOME/.config/<rel>`: where the
/// containers tools look for the user's auth.json and containers.conf.
pub fn xdg_config(rel: &str) -> Option<PathBuf> {
    match env_path("XDG_CONFIG_HOME") {
        Some(x) => Some(x.join(rel)),
        None => home_config(rel),
    }
}

/// The regular `*.conf` files of a drop-in directory, sorted by name; none
/// when the directory does not exist.
pub fn drop_ins(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).ctx("read directory", dir),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.ctx("read directory", dir)?;
        let path = entry.path();
        // Follow symlinks (a drop-in is often a link into a package's
        // files); a dangling one is skipped like a missing file.
        if path.extension().is_some_and(|e| e == "conf") && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Read `path`; `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>> {
    match std::fs::read_to_string(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).ctx("read", path),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_ins_are_sorted_conf_files() {
        let d = tempfile::tempdir().unwrap();
        for f in ["b.conf", "a.conf", "c.txt"] {
            std::fs::write(d.path().join(f), "").unwrap();
        }
        std::fs::create_dir(d.path().join("dir.conf")).unwrap();
        let got: Vec<_> = drop_ins(d.path())
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(got, ["a.conf", "b.conf"]);
        assert!(drop_ins(&d.path().join("missing")).unwrap().is_empty());
    }
}
