//! An image layer reads back as the very tar it was applied from (its
//! tar-split record plus its files), on every driver: tars written by GNU
//! tar (PAX and GNU headers, long names, hard links, record padding after
//! the end), by the tar crate, compressed or not, applied one by one or
//! together. Where a stream cannot be rebuilt there is no record, and a
//! file changed under a layer fails the read instead of giving other bytes.

mod common;

use berth_storage::{DriverKind, Error, NewContainer};
use common::*;
use std::io::Read;
use std::process::Command;

/// A tree with what tar headers are made of: a name over 100 bytes, a
/// hard link, a symlink, an empty file, odd modes, times and owners.
fn gnu_tar(format: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let long = "a-directory-with-a-name-that-is-long/".repeat(3);
    std::fs::create_dir_all(d.join(&long)).unwrap();
    std::fs::write(d.join(&long).join("and-a-long-file-name.txt"), b"deep").unwrap();
    std::fs::create_dir_all(d.join("etc")).unwrap();
    std::fs::write(d.join("etc/data"), vec![7u8; 70_000]).unwrap();
    std::fs::hard_link(d.join("etc/data"), d.join("etc/data-link")).unwrap();
    std::os::unix::fs::symlink("data", d.join("etc/sym")).unwrap();
    std::fs::write(d.join("etc/empty"), b"").unwrap();
    std::fs::write(d.join("etc/owned"), b"x").unwrap();
    std::os::unix::fs::chown(d.join("etc/owned"), Some(1234), Some(5678)).unwrap();
    let out = Command::new("tar")
        .arg(format!("--format={format}"))
        .arg("-C")
        .arg(d)
        .args(["-cf", "-", "."])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn read_back(s: &TestStore, layer: &str) -> Vec<u8> {
    let mut tar = s
        .layer_tar(layer)
        .unwrap()
        .unwrap_or_else(|| panic!("layer {layer} has no tar-split record"));
    let mut out = Vec::new();
    tar.read_to_end(&mut out).unwrap();
    out
}

fn original_tars_come_back(s: &TestStore) {
    let posix = gnu_tar("posix");
    let gnu = gnu_tar("gnu");
    // The tar crate's own: PAX xattrs, devices, a fifo.
    let crate_tar = TarBuilder::new()
        .dir("./", 0o755)
        .file_with("etc/passwd", b"root:x:0:0\n", 0o644, 0, 0)
        .xattrs(&[("user.note", b"hi")])
        .file_with("etc/owned", b"mine", 0o640, 1234, 5678)
        .device("dev/null", tar::EntryType::Char, 1, 3)
        .device("run/fifo", tar::EntryType::Fifo, 0, 0)
        .build();
    // GNU tar pads its output to 10 KiB records: bytes after the end of
    // the archive are part of the diff id too.
    assert!(posix.len().is_multiple_of(10240));
    for (name, tar, blob) in [
        ("posix", &posix, gzip(&posix)),
        ("gnu", &gnu, zstd(&gnu)),
        ("crate", &crate_tar, crate_tar.clone()),
    ] {
        let layer = apply(s, None, &blob).unwrap();
        assert_eq!(read_back(s, &layer.id), *tar, "{name} tar, byte for byte");
    }
    // An upper layer with whiteouts of lower files and a file replacing one.
    let base = apply(s, None, &posix).unwrap();
    let upper = TarBuilder::new()
        .whiteout("etc/.wh.data")
        .file("etc/sym", b"now a file")
        .build();
    let top = apply(s, Some(&base.id), &upper).unwrap();
    assert_eq!(read_back(s, &top.id), upper);
    // Applied together (in parallel on overlay).
    let fresh = store(s.driver_kind()).unwrap();
    let lease = fresh.lease().unwrap();
    let gnu_gz = gzip(&gnu);
    let blobs = vec![
        (&gnu_gz[..], Default::default()),
        (&upper[..], Default::default()),
    ];
    let layers = fresh.apply_layers(&lease, None, blobs).unwrap();
    assert_eq!(read_back(&fresh, &layers[0].id), gnu);
    assert_eq!(read_back(&fresh, &layers[1].id), upper);
}

fn overwriting_streams_have_no_record(s: &TestStore) {
    let twice = TarBuilder::new()
        .file("etc/f", b"first")
        .file("etc/f", b"second")
        .build();
    let l = apply(s, None, &twice).unwrap();
    assert!(s.layer_tar(&l.id).unwrap().is_none(), "same path twice");
    let dir_replaced = TarBuilder::new()
        .file("a/b", b"content")
        .symlink("a", "/elsewhere")
        .build();
    let l = apply(s, None, &dir_replaced).unwrap();
    assert!(s.layer_tar(&l.id).unwrap().is_none(), "parent replaced");
    // A container's layer has none either.
    let tar = TarBuilder::new().file("x", b"x").build();
    image(s, "img", std::slice::from_ref(&tar));
    let c = s
        .create_container(NewContainer {
            name: Some("c".into()),
            image: "img".into(),
            ..Default::default()
        })
        .unwrap();
    assert!(s.layer_tar(&c.layer).unwrap().is_none());
}

fn changed_file_fails_the_read(s: &TestStore) {
    let tar = TarBuilder::new()
        .file("etc/a", b"aaaa")
        .file("etc/b", b"bbbb")
        .build();
    let l = apply(s, None, &tar).unwrap();
    let content = match s.driver_kind() {
        DriverKind::Overlay => s.root().join("overlay").join(&l.id).join("diff"),
        DriverKind::Vfs => s.root().join("vfs").join(&l.id).join("root"),
    };
    // Same size, other bytes: only the digest at the end can tell.
    std::fs::write(content.join("etc/b"), b"BBBB").unwrap();
    let mut out = Vec::new();
    let err = s
        .layer_tar(&l.id)
        .unwrap()
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<Error>());
    assert!(
        matches!(inner, Some(Error::TarSplit { layer, .. }) if *layer == l.id),
        "{err}"
    );
    // A file gone: named.
    std::fs::remove_file(content.join("etc/a")).unwrap();
    let err = s
        .layer_tar(&l.id)
        .unwrap()
        .unwrap()
        .read_to_end(&mut out)
        .unwrap_err();
    assert!(err.to_string().contains("etc/a"), "{err}");
}

macro_rules! per_driver {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;
            fn run(check: fn(&TestStore)) {
                if let Some(s) = store($kind) {
                    check(&s);
                }
            }
            #[test]
            fn original_tars_come_back() {
                run(super::original_tars_come_back)
            }
            #[test]
            fn overwriting_streams_have_no_record() {
                run(super::overwriting_streams_have_no_record)
            }
            #[test]
            fn changed_file_fails_the_read() {
                run(super::changed_file_fails_the_read)
            }
        }
    };
}

per_driver!(overlay, DriverKind::Overlay);
per_driver!(vfs, DriverKind::Vfs);
