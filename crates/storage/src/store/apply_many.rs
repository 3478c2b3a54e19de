//! Applying all layers of an image at once. On overlay a layer's directory
//! does not depend on its parent's content, so the layers are decompressed
//! and unpacked in parallel, each into its own staging directory, and then
//! committed in order as soon as the one below is: with two cores, layer
//! N+1 decompresses while layer N is still being written.

use super::layers::{chain_id, Staged};
use super::lease::Lease;
use super::{ApplyOptions, Store};
use crate::error::Result;
use crate::records::Layer;
use std::collections::HashMap;
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex};

/// How many layers are unpacked at once; each also has its own
/// decompression thread.
const PARALLEL_LAYERS: usize = 2;

impl Store {
    /// Apply the layer blobs of one image, bottom first, each on top of the
    /// one before and the first on `parent`. Same guarantees as
    /// [`Store::apply_layer`] for each layer (digests checked before commit,
    /// nothing half applied left visible, layers shared by chain id); a
    /// layer already stored is not read at all when its diff digest is
    /// given. On overlay the layers are unpacked in parallel. On error, the
    /// layers committed before the failing one stay (under `lease`).
    pub fn apply_layers<R: Read + Send>(
        &self,
        lease: &Lease,
        parent: Option<&str>,
        blobs: Vec<(R, ApplyOptions)>,
    ) -> Result<Vec<Layer>> {
        if !self.driver.layers_independent() || blobs.len() < 2 {
            let mut out: Vec<Layer> = Vec::new();
            for (blob, opts) in blobs {
                let below = out
                    .last()
                    .map(|l| l.id.clone())
                    .or(parent.map(str::to_string));
                out.push(self.apply_layer(lease, below.as_deref(), blob, &opts)?);
            }
            return Ok(out);
        }
        // Layers whose chain id is known (all diff digests below given) and
        // already stored are skipped without reading their blob.
        if parent.is_some() {
            self.hold_parent_or_existing(lease, parent, &ApplyOptions::default())?;
        }
        let mut existing: Vec<Option<Layer>> = Vec::new();
        let mut below = parent.map(str::to_string);
        for (_, opts) in &blobs {
            let found = match (&below, existing.last(), &opts.diff_digest) {
                // Only while every layer below is stored is the chain known.
                (_, Some(None), _) | (_, _, None) => None,
                (b, _, Some(diff)) => {
                    let id = chain_id(b.as_deref(), diff)?;
                    let found = self.find_and_hold(lease, &id)?;
                    below = Some(id);
                    found
                }
            };
            existing.push(found);
        }
        let n = blobs.len();
        let skip: Vec<bool> = existing.iter().map(Option::is_some).collect();
        let work: Vec<Mutex<Option<(R, ApplyOptions)>>> =
            blobs.into_iter().map(|b| Mutex::new(Some(b))).collect();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let (tx, rx) = mpsc::channel::<(usize, Result<Staged>)>();
        std::thread::scope(|s| {
            for _ in 0..PARALLEL_LAYERS.min(n) {
                let tx = tx.clone();
                let (work, next, failed, skip) = (&work, &next, &failed, &skip);
                s.spawn(move || loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= n || failed.load(Ordering::SeqCst) {
                        break;
                    }
                    if skip[i] {
                        continue;
                    }
                    let taken = work[i].lock().unwrap_or_else(|p| p.into_inner()).take();
                    let Some((blob, opts)) = taken else { continue };
                    let staged = self.stage(None, None, blob, &opts);
                    if staged.is_err() {
                        failed.store(true, Ordering::SeqCst);
                    }
                    if tx.send((i, staged)).is_err() {
                        break;
                    }
                });
            }
            drop(tx);
            self.commit_in_order(lease, parent, existing, rx, &failed)
        })
    }

    fn find_and_hold(&self, lease: &Lease, id: &str) -> Result<Option<Layer>> {
        let _l = self.lock(&self.locks.layers, crate::lock::LockMode::Shared)?;
        match self.read_layer(id) {
            Ok(layer) => {
                lease.hold(id)?;
                Ok(Some(layer))
            }
            Err(crate::Error::LayerNotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Commit staged layers in index order as they arrive.
    fn commit_in_order(
        &self,
        lease: &Lease,
        parent: Option<&str>,
        mut existing: Vec<Option<Layer>>,
        rx: mpsc::Receiver<(usize, Result<Staged>)>,
        failed: &AtomicBool,
    ) -> Result<Vec<Layer>> {
        let n = existing.len();
        let mut out: Vec<Layer> = Vec::with_capacity(n);
        let mut ready: HashMap<usize, Result<Staged>> = HashMap::new();
        let result = (|| {
            while out.len() < n {
                let i = out.len();
                if let Some(layer) = existing[i].take() {
                    out.push(layer);
                    continue;
                }
                let staged = match ready.remove(&i) {
                    Some(s) => s,
                    None => match rx.recv() {
                        Ok((j, s)) => {
                            ready.insert(j, s);
                            continue;
                        }
                        // All workers stopped: after a failure of a layer
                        // above this one, which is then the error to report.
                        Err(_) => {
                            let mut failed: Vec<_> =
                                ready.drain().filter(|(_, r)| r.is_err()).collect();
                            failed.sort_by_key(|(j, _)| *j);
                            return match failed.into_iter().next() {
                                Some((_, r)) => r.map(|_| ()),
                                None => Err(crate::Error::Stream {
                                    entry: None,
                                    source: std::io::Error::other("layer workers stopped early"),
                                }),
                            };
                        }
                    },
                };
                let mut staged = staged?;
                let below = out
                    .last()
                    .map(|l| l.id.clone())
                    .or(parent.map(str::to_string));
                self.driver.set_parent(staged.dir(), below.as_deref())?;
                out.push(self.commit_staged(&mut staged, below.as_deref(), lease)?);
            }
            Ok(())
        })();
        if result.is_err() {
            failed.store(true, Ordering::SeqCst);
        }
        result.map(|()| out)
    }
}
