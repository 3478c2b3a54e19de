//! Pulling into storage, the data path that matters most: layers are
//! fetched in parallel, and each blob streams once from the source through
//! its digest check and decompression into a new storage layer — no
//! temporary copy on disk. Storage applies a layer only on top of its
//! committed parent, so applies run in order while later layers download
//! into bounded in-memory queues (their TCP connections stall when a queue
//! is full). A layer becomes visible only when both digests matched; the
//! image record is written last, so a failure or a kill leaves no image
//! and no half layer.

use crate::error::{Error, Result};
use crate::manifest::Descriptor;
use crate::progress::{Counting, Progress};
use crate::transport::{ResolvedImage, Source};
use berth_storage::{ApplyOptions, Image, NewImage, Store};
use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::{Condvar, Mutex};

/// How many layers download at once.
pub const PARALLEL_LAYERS: usize = 6;
const CHUNK: usize = 1 << 20;
/// Chunks buffered per layer ahead of its apply.
const QUEUE_CHUNKS: usize = 16;

type Chunk = io::Result<Vec<u8>>;

/// Reads the chunks a download thread sends.
struct ChannelReader {
    rx: Receiver<Chunk>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for ChannelReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.buf.len() {
            match self.rx.recv() {
                Ok(Ok(chunk)) => {
                    self.buf = chunk;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(0),
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Lets download `i` start only while `i < applied + PARALLEL_LAYERS`, so
/// the layer being applied always has its download running.
struct Window {
    state: Mutex<(usize, bool)>,
    cv: Condvar,
}

impl Window {
    fn wait_turn(&self, i: usize) -> bool {
        let mut s = crate::registry::lock(&self.state);
        while !s.1 && i >= s.0 + PARALLEL_LAYERS {
            s = self.cv.wait(s).unwrap_or_else(|p| p.into_inner());
        }
        !s.1
    }
    fn advance(&self, applied: usize) {
        crate::registry::lock(&self.state).0 = applied;
        self.cv.notify_all();
    }
    fn cancel(&self) {
        crate::registry::lock(&self.state).1 = true;
        self.cv.notify_all();
    }
}

fn download(
    source: &dyn Source,
    desc: &Descriptor,
    progress: &dyn Progress,
    tx: SyncSender<Chunk>,
) {
    progress.start(desc);
    let mut reader = match source.blob(desc) {
        Ok(r) => Counting {
            inner: r,
            desc,
            progress,
        },
        Err(e) => {
            let _ = tx.send(Err(crate::registry::BlobErrorWrap::io(e)));
            return;
        }
    };
    loop {
        let mut chunk = vec![0u8; CHUNK];
        let mut filled = 0;
        while filled < CHUNK {
            match reader.read(&mut chunk[filled..]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    return;
                }
            }
        }
        if filled == 0 {
            progress.finish(desc, false);
            return;
        }
        chunk.truncate(filled);
        if tx.send(Ok(chunk)).is_err() {
            return; // the apply side gave up
        }
    }
}

/// Store the image `image` read from `source` under `names`.
pub fn into_storage(
    source: &dyn Source,
    image: &ResolvedImage,
    store: &Store,
    names: Vec<String>,
    progress: &dyn Progress,
) -> Result<Image> {
    let what = source.describe();
    let diff_ids = image.diff_ids(&what)?;
    let layers = &image.manifest.layers;
    if diff_ids.len() != layers.len() {
        return Err(Error::Malformed {
            image: what,
            what: "config",
            reason: format!("{} diff ids for {} layers", diff_ids.len(), layers.len()),
        });
    }
    for l in layers {
        if crate::manifest::layer_compression(&l.media_type).is_none() {
            return Err(Error::UnsupportedMediaType {
                image: what.clone(),
                media_type: l.media_type.clone(),
            });
        }
    }
    // The status lines of containers/image's copy, which podman users read.
    progress.message("Getting image source signatures");
    let lease = store.lease()?;
    // Layers already stored (same diff on the same parent) are skipped.
    let mut parent: Option<String> = None;
    let mut have = 0;
    for (desc, diff) in layers.iter().zip(&diff_ids) {
        match store.find_layer(parent.as_deref(), diff)? {
            Some(l) => {
                parent = Some(l.id);
                progress.finish(desc, true);
                have += 1;
            }
            None => break,
        }
    }
    let todo = &layers[have..];
    let window = Window {
        state: Mutex::new((0, false)),
        cv: Condvar::new(),
    };
    let result: Result<Option<String>> = std::thread::scope(|scope| {
        let mut receivers = Vec::new();
        for (i, desc) in todo.iter().enumerate() {
            let (tx, rx) = sync_channel::<Chunk>(QUEUE_CHUNKS);
            receivers.push(rx);
            let window = &window;
            scope.spawn(move || {
                if window.wait_turn(i) {
                    download(source, desc, progress, tx);
                }
            });
        }
        let mut parent = parent.clone();
        let mut outcome = Ok(());
        for (i, rx) in receivers.into_iter().enumerate() {
            let desc = &todo[i];
            let reader = ChannelReader {
                rx,
                buf: Vec::new(),
                pos: 0,
            };
            let opts = ApplyOptions {
                compressed_digest: Some(desc.digest.clone()),
                diff_digest: Some(diff_ids[have + i].clone()),
            };
            match store.apply_layer(&lease, parent.as_deref(), reader, &opts) {
                Ok(layer) => {
                    parent = Some(layer.id);
                    window.advance(i + 1);
                }
                Err(e) => {
                    outcome = Err(layer_error(e, desc));
                    window.cancel();
                    break;
                }
            }
        }
        outcome.map(|()| parent)
    });
    let top = result?;
    progress.message(&format!("Copying config {}", image.manifest.config.digest));
    progress.message("Writing manifest to image destination");
    let created = store.create_image(NewImage {
        top_layer: top,
        names,
        manifest: image.manifest_bytes.clone(),
        config: image.config.clone(),
    })?;
    progress.message("Storing signatures");
    drop(lease);
    Ok(created)
}

/// Name the blob; surface the source's own error when the stream failed.
fn layer_error(e: berth_storage::Error, desc: &Descriptor) -> Error {
    if let berth_storage::Error::Stream { source, .. } = e {
        return crate::registry::blob_error(source, &desc.digest);
    }
    Error::Layer {
        digest: desc.digest.to_string(),
        source: e,
    }
}
