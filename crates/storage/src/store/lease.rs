//! Leases: protection for layers a process has applied or found but not
//! yet referenced from an image (containerd's leases). Without one, another
//! process deleting an image could collect a shared layer between "layer
//! found" and "image created".
//!
//! A lease is a file in `leases/` listing layer ids, held under an
//! exclusive `flock` by its process for as long as the [`Lease`] lives. The
//! collector skips layers named by a lease whose lock it cannot take, and
//! deletes lease files whose lock it can (their process died).

use super::Store;
use crate::error::{IoContext, Result};
use crate::fsutil::{list_dir, random_hex};
use rustix::fs::{flock, FlockOperation};
use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Seek, Write};
use std::path::PathBuf;
use std::sync::Mutex;

/// Layers held for the life of this value; see the module documentation.
#[derive(Debug)]
pub struct Lease {
    path: PathBuf,
    state: Mutex<(File, Vec<String>)>,
}

impl Lease {
    /// Add `id`; called by the store while it holds the layers lock, so the
    /// collector never reads a half-written file.
    pub(crate) fn hold(&self, id: &str) -> Result<()> {
        let mut guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let (file, ids) = &mut *guard;
        if ids.iter().any(|i| i == id) {
            return Ok(());
        }
        ids.push(id.to_string());
        let data = ids.join("\n");
        file.set_len(0).ctx("truncate", &self.path)?;
        file.rewind().ctx("seek", &self.path)?;
        file.write_all(data.as_bytes()).ctx("write", &self.path)
    }

    /// The layer ids held.
    pub fn layers(&self) -> Vec<String> {
        let guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
        guard.1.clone()
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

impl Store {
    /// Take a lease: layers applied or found through it are not collected by
    /// other processes until it is dropped. Create the image, then drop it.
    pub fn lease(&self) -> Result<Lease> {
        // Lock the file before it has its real name: a collector that found
        // it unlocked would take its owner for dead and delete it.
        let dir = self.root.join("leases");
        let name = random_hex(16);
        let new = dir.join(format!(".new-{name}"));
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&new)
            .ctx("create lease", &new)?;
        let published = flock(&file, FlockOperation::LockExclusive)
            .ctx("lock", &new)
            .and_then(|()| fs::rename(&new, &path).ctx("publish lease", &path));
        if let Err(e) = published {
            let _ = fs::remove_file(&new);
            return Err(e);
        }
        Ok(Lease {
            path,
            state: Mutex::new((file, Vec::new())),
        })
    }

    /// Layers held by live leases; deletes the files of dead ones. Call with
    /// the layers lock held exclusively.
    pub(crate) fn leased_layers(&self) -> Result<HashSet<String>> {
        let dir = self.root.join("leases");
        let mut held = HashSet::new();
        for name in list_dir(&dir)? {
            if name.starts_with('.') {
                // Not yet published (or its owner died in that instant).
                continue;
            }
            let path = dir.join(&name);
            let file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e).ctx("open lease", &path),
            };
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => {
                    // Its owner is gone.
                    let _ = fs::remove_file(&path);
                }
                Err(rustix::io::Errno::WOULDBLOCK) => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    held.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
                }
                Err(e) => return Err(e).ctx("lock lease", &path),
            }
        }
        Ok(held)
    }
}
