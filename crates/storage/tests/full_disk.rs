//! A failing write (a tiny tmpfs filling up) is an error and leaves no
//! half-visible layer; the store stays usable.

mod common;

use berth_storage::{DriverKind, Error, Store, StoreOptions};
use common::*;
use rustix::mount::{mount, unmount, MountFlags, UnmountFlags};
use std::fs;

struct Tmpfs(std::path::PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        unmount_under(&self.0.join("store/mounts"));
        let _ = unmount(&self.0, UnmountFlags::DETACH);
    }
}

#[test]
fn full_disk_fails_cleanly() {
    if !is_root() && skip("needs root to mount a tmpfs") {
        return;
    }
    for kind in [DriverKind::Overlay, DriverKind::Vfs] {
        let dir = tempfile::tempdir().unwrap();
        let fs_root = dir.path().join("tiny");
        fs::create_dir(&fs_root).unwrap();
        mount("tmpfs", &fs_root, "tmpfs", MountFlags::empty(), c"size=2m").unwrap();
        let _guard = Tmpfs(fs_root.clone());
        let store = match Store::open(StoreOptions {
            root: fs_root.join("store"),
            driver: Some(kind),
            sync_layers: true,
        }) {
            Ok(s) => s,
            Err(Error::DriverUnavailable { reason, .. }) => {
                skip(&format!("{} unavailable on tmpfs: {reason}", kind.name()));
                continue;
            }
            Err(e) => panic!("{e}"),
        };
        let big = TarBuilder::new()
            .file("small", b"fits")
            .file("big", &vec![0x5a; 4 << 20])
            .build();
        let err = apply(&store, None, &big).unwrap_err();
        assert!(
            err.to_string().contains("No space left on device"),
            "{}: {err}",
            kind.name()
        );
        assert!(
            matches!(err, Error::Entry { ref entry, .. } if entry == "big"),
            "{err}"
        );
        assert!(store.layers().unwrap().is_empty(), "no layer visible");
        assert!(fs::read_dir(fs_root.join("store/staging"))
            .unwrap()
            .next()
            .is_none());
        // Space is back and the store works.
        let small = TarBuilder::new().file("ok", b"fine").build();
        let layer = apply(&store, None, &small).unwrap();
        assert_eq!(store.layers().unwrap(), vec![layer]);
    }
}
