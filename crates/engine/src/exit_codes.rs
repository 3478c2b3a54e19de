//! Exit codes of containers removed as they exited (`--rm`), kept for a
//! while in `<runroot>/exits/ID` so that a `wait` that began before the
//! removal still learns the code, as podman keeps them in its database.
//! Run state on /run: a reboot forgets them, as it should.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How long a removed container's exit code is kept (podman: 5 minutes).
const KEEP: Duration = Duration::from_secs(5 * 60);

pub(crate) struct ExitCodes {
    dir: PathBuf,
}

impl ExitCodes {
    pub(crate) fn new(runroot: &Path) -> ExitCodes {
        ExitCodes {
            dir: runroot.join("exits"),
        }
    }

    /// Keep `code` for `id`, and forget codes older than [`KEEP`]. Best
    /// effort: a waiter that misses it says the code is unknown.
    pub(crate) fn keep(&self, id: &str, code: i32) {
        let _ = std::fs::create_dir_all(&self.dir);
        let _ = berth_storage::write_atomic_nosync(&self.dir.join(id), code.to_string().as_bytes());
        self.prune();
    }

    /// The code kept for `id`, if any.
    pub(crate) fn get(&self, id: &str) -> Option<i32> {
        std::fs::read_to_string(self.dir.join(id))
            .ok()?
            .trim()
            .parse()
            .ok()
    }

    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        for e in entries.flatten() {
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| now.duration_since(t).unwrap_or_default() > KEEP);
            if old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_codes_read_back_and_garbage_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let codes = ExitCodes::new(dir.path());
        assert_eq!(codes.get("a"), None);
        codes.keep("a", 3);
        codes.keep("b", -9);
        assert_eq!((codes.get("a"), codes.get("b")), (Some(3), Some(-9)));
        std::fs::write(dir.path().join("exits/c"), "x").unwrap();
        assert_eq!(codes.get("c"), None);
    }
}
