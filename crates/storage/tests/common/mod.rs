//! Helpers shared by the storage integration tests: stores in temp dirs
//! that clean up their mounts, tar builders, skip rules.
#![allow(dead_code)]

use berth_storage::{DriverKind, Layer, Lease, Store, StoreOptions};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Whether a test that needs root or a kernel feature must run (CI) or may
/// skip with a printed reason.
pub fn skip(reason: &str) -> bool {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("required under CI=true: {reason}");
    }
    eprintln!("skipping: {reason}");
    true
}

pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// A store in a temp dir; unmounts whatever it mounted when dropped.
pub struct TestStore {
    pub store: Store,
    pub dir: tempfile::TempDir,
}

impl TestStore {
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    pub fn reopen(&self) -> Store {
        Store::open(StoreOptions {
            root: self.root(),
            driver: Some(self.store.driver_kind()),
            sync_layers: false,
        })
        .unwrap()
    }
}

impl std::ops::Deref for TestStore {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.store
    }
}

impl Drop for TestStore {
    fn drop(&mut self) {
        unmount_under(&self.dir.path().join("store/mounts"));
    }
}

pub fn unmount_under(mounts: &Path) {
    if let Ok(rd) = fs::read_dir(mounts) {
        for e in rd.flatten() {
            let target = e.path().join("root");
            for _ in 0..4 {
                if rustix::mount::unmount(&target, rustix::mount::UnmountFlags::DETACH).is_err() {
                    break;
                }
            }
        }
    }
}

/// Open a store with `driver` in a fresh temp dir, or None (after printing
/// why) when this machine cannot run it.
pub fn store(driver: DriverKind) -> Option<TestStore> {
    if !is_root() && skip("needs root for chown, devices and mounts") {
        return None;
    }
    let dir = tempfile::Builder::new()
        .prefix("berth-storage-test")
        .tempdir_in("/var/tmp")
        .unwrap();
    let opts = StoreOptions {
        root: dir.path().join("store"),
        driver: Some(driver),
        sync_layers: false,
    };
    match Store::open(opts) {
        Ok(store) => Some(TestStore { store, dir }),
        Err(berth_storage::Error::DriverUnavailable { reason, .. }) => {
            skip(&format!("{} driver unavailable: {reason}", driver.name()));
            None
        }
        Err(e) => panic!("open store: {e}"),
    }
}

/// Build tar archives entry by entry.
pub struct TarBuilder {
    b: tar::Builder<Vec<u8>>,
}

pub fn header(kind: tar::EntryType, mode: u32) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_600_000_000);
    h.set_size(0);
    h
}

impl Default for TarBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl TarBuilder {
    pub fn new() -> Self {
        TarBuilder {
            b: tar::Builder::new(Vec::new()),
        }
    }
    pub fn dir(mut self, path: &str, mode: u32) -> Self {
        let mut h = header(tar::EntryType::Directory, mode);
        self.b.append_data(&mut h, path, std::io::empty()).unwrap();
        self
    }
    pub fn file(self, path: &str, data: &[u8]) -> Self {
        self.file_with(path, data, 0o644, 0, 0)
    }
    pub fn file_with(mut self, path: &str, data: &[u8], mode: u32, uid: u64, gid: u64) -> Self {
        let mut h = header(tar::EntryType::Regular, mode);
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_size(data.len() as u64);
        self.b.append_data(&mut h, path, data).unwrap();
        self
    }
    /// A raw entry whose path is written into the header as is, bypassing
    /// the tar crate's own checks (to build hostile archives).
    pub fn raw(
        mut self,
        path: &[u8],
        kind: tar::EntryType,
        link: Option<&[u8]>,
        data: &[u8],
    ) -> Self {
        let mut h = header(kind, 0o644);
        h.set_size(data.len() as u64);
        {
            let gnu = h.as_gnu_mut().unwrap();
            gnu.name[..path.len()].copy_from_slice(path);
            if let Some(l) = link {
                gnu.linkname[..l.len()].copy_from_slice(l);
            }
        }
        h.set_cksum();
        self.b.append(&h, data).unwrap();
        self
    }
    pub fn symlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(tar::EntryType::Symlink, 0o777);
        self.b.append_link(&mut h, path, target).unwrap();
        self
    }
    pub fn hardlink(mut self, path: &str, target: &str) -> Self {
        let mut h = header(tar::EntryType::Link, 0o644);
        self.b.append_link(&mut h, path, target).unwrap();
        self
    }
    pub fn device(mut self, path: &str, kind: tar::EntryType, major: u32, minor: u32) -> Self {
        let mut h = header(kind, 0o620);
        h.set_device_major(major).unwrap();
        h.set_device_minor(minor).unwrap();
        self.b.append_data(&mut h, path, std::io::empty()).unwrap();
        self
    }
    pub fn xattrs(mut self, xattrs: &[(&str, &[u8])]) -> Self {
        let records: Vec<(String, &[u8])> = xattrs
            .iter()
            .map(|(k, v)| (format!("SCHILY.xattr.{k}"), *v))
            .collect();
        self.b
            .append_pax_extensions(records.iter().map(|(k, v)| (k.as_str(), *v)))
            .unwrap();
        self
    }
    pub fn whiteout(self, path: &str) -> Self {
        self.file(path, b"")
    }
    pub fn build(self) -> Vec<u8> {
        self.b.into_inner().unwrap()
    }
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// Apply `tar` on `parent` with a fresh lease.
pub fn apply(store: &Store, parent: Option<&str>, tar: &[u8]) -> berth_storage::Result<Layer> {
    let lease = store.lease()?;
    store.apply_layer(&lease, parent, tar, &Default::default())
}

/// Apply each tar on the previous and record an image named `name`.
pub fn image(store: &Store, name: &str, layers: &[Vec<u8>]) -> berth_storage::Image {
    let lease: Lease = store.lease().unwrap();
    let mut parent: Option<String> = None;
    for tar in layers {
        let l = store
            .apply_layer(&lease, parent.as_deref(), &tar[..], &Default::default())
            .unwrap();
        parent = Some(l.id);
    }
    store
        .create_image(berth_storage::NewImage {
            top_layer: parent,
            names: vec![name.to_string()],
            manifest: format!("{{\"manifest\":\"{name}\"}}").into_bytes(),
            config: format!("{{\"config\":\"{name}\",\"n\":{}}}", layers.len()).into_bytes(),
        })
        .unwrap()
}

/// Every path under `root` (relative, sorted) with a short description of
/// its type, mode, owner and content: two equal trees give equal lists.
pub fn describe_tree(root: &Path) -> Vec<String> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let mut names: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for p in names {
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            let kind = if m.is_dir() {
                "dir".to_string()
            } else if m.file_type().is_symlink() {
                format!("link->{}", fs::read_link(&p).unwrap().display())
            } else if m.is_file() {
                format!("file:{}", String::from_utf8_lossy(&fs::read(&p).unwrap()))
            } else {
                format!("special:{:o}:{}", m.mode() & 0o170000, m.rdev())
            };
            out.push(format!(
                "{rel} {kind} {:o} {}:{}",
                m.mode() & 0o7777,
                m.uid(),
                m.gid()
            ));
            if m.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    walk(root, root, &mut out);
    out
}
