//! Hostile layer streams: each is refused with an error naming the entry,
//! creates no layer, and writes nothing outside the store. Every case runs
//! against both drivers.

mod common;

use berth_storage::{DriverKind, Error};
use common::*;
use std::fs;

/// `build` gets the path of a directory outside the store (with one file,
/// `victim`) and returns the archive and the entry that must be refused.
fn refused(build: impl Fn(&str) -> (Vec<u8>, String)) {
    for kind in [DriverKind::Overlay, DriverKind::Vfs] {
        let Some(s) = store(kind) else { continue };
        let outside = s.dir.path().join("outside");
        fs::create_dir_all(&outside).unwrap();
        fs::write(outside.join("victim"), b"original").unwrap();
        let (tar, entry) = build(outside.to_str().unwrap());
        let err = apply(&s, None, &tar).unwrap_err();
        match &err {
            Error::HostileEntry { entry: e, .. } => assert_eq!(*e, entry, "{err}"),
            other => panic!(
                "{}: expected a refusal of {entry:?}, got {other}",
                kind.name()
            ),
        }
        assert!(err.to_string().contains(&entry), "{err}");
        assert!(s.layers().unwrap().is_empty(), "no layer created");
        assert!(
            fs::read_dir(s.root().join("staging"))
                .unwrap()
                .next()
                .is_none(),
            "staging cleaned"
        );
        let names: Vec<_> = fs::read_dir(&outside)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["victim"], "nothing written outside");
        assert_eq!(fs::read(outside.join("victim")).unwrap(), b"original");
    }
}

fn relative_to_store(out: &str) -> String {
    // store root is <tmp>/store, layer content is deeper still: enough `..`
    // to reach <tmp>/outside from anywhere inside.
    format!("{}{}", "../".repeat(12), out.trim_start_matches('/'))
}

#[test]
fn absolute_path_is_refused() {
    refused(|out| {
        let path = format!("{out}/victim");
        let tar = TarBuilder::new()
            .raw(path.as_bytes(), tar::EntryType::Regular, None, b"evil")
            .build();
        (tar, path)
    });
}

#[test]
fn dotdot_escape_is_refused() {
    refused(|out| {
        let path = format!("a/{}/victim", relative_to_store(out));
        let tar = TarBuilder::new()
            .file("a/ok", b"fine")
            .raw(path.as_bytes(), tar::EntryType::Regular, None, b"evil")
            .build();
        (tar, path)
    });
}

#[test]
fn write_through_absolute_symlink_is_refused() {
    refused(|out| {
        let tar = TarBuilder::new()
            .symlink("escape", out)
            .file("escape/victim", b"evil")
            .build();
        (tar, "escape/victim".into())
    });
}

#[test]
fn write_through_relative_symlink_is_refused() {
    refused(|out| {
        let tar = TarBuilder::new()
            .dir("d", 0o755)
            .symlink("d/up", &relative_to_store(out))
            .file("d/up/victim", b"evil")
            .build();
        (tar, "d/up/victim".into())
    });
}

#[test]
fn parent_dir_replaced_by_symlink_then_written_through_is_refused() {
    refused(|out| {
        let tar = TarBuilder::new()
            .dir("etc", 0o755)
            .file("etc/harmless", b"x")
            .symlink("etc", out)
            .file("etc/victim", b"evil")
            .build();
        (tar, "etc/victim".into())
    });
}

#[test]
fn hard_link_to_absolute_path_is_refused() {
    refused(|out| {
        let target = format!("{out}/victim");
        let tar = TarBuilder::new()
            .raw(b"link", tar::EntryType::Link, Some(target.as_bytes()), b"")
            .build();
        (tar, "link".into())
    });
}

#[test]
fn hard_link_escaping_with_dotdot_is_refused() {
    refused(|out| {
        let target = relative_to_store(&format!("{out}/victim"));
        let tar = TarBuilder::new()
            .raw(b"link", tar::EntryType::Link, Some(target.as_bytes()), b"")
            .build();
        (tar, "link".into())
    });
}

#[test]
fn hard_link_through_symlinked_dir_is_refused() {
    refused(|out| {
        let tar = TarBuilder::new()
            .symlink("outdir", out)
            .raw(b"link", tar::EntryType::Link, Some(b"outdir/victim"), b"")
            .build();
        (tar, "link".into())
    });
}

#[test]
fn forged_overlay_xattr_is_refused() {
    refused(|_| {
        let tar = TarBuilder::new()
            .xattrs(&[("trusted.overlay.redirect", b"/somewhere/else")])
            .dir("redirected", 0o755)
            .build();
        (tar, "redirected".into())
    });
}

#[test]
fn whiteout_of_dotdot_is_refused() {
    refused(|_| {
        let tar = TarBuilder::new()
            .dir("a", 0o755)
            .raw(b"a/.wh...", tar::EntryType::Regular, None, b"")
            .build();
        (tar, "a/.wh...".into())
    });
}

#[test]
fn replacing_the_root_with_a_file_is_refused() {
    refused(|_| {
        let tar = TarBuilder::new()
            .raw(b"./", tar::EntryType::Symlink, Some(b"/"), b"")
            .build();
        (tar, "./".into())
    });
}

/// Not hostile, just broken: garbage and truncated streams are errors and
/// leave nothing behind.
#[test]
fn corrupt_streams_leave_nothing() {
    let Some(s) = store(DriverKind::Vfs) else {
        return;
    };
    let tar = TarBuilder::new().file("f", &[7u8; 100_000]).build();
    let gz = gzip(&tar);
    for bad in [
        &gz[..gz.len() / 2],
        &b"\x1f\x8bnot gzip at all"[..],
        &zstd(&tar)[..20],
    ] {
        let err = apply(&s, None, bad).unwrap_err();
        assert!(matches!(err, Error::Stream { .. }), "{err}");
    }
    assert!(s.layers().unwrap().is_empty());
    assert!(fs::read_dir(s.root().join("staging"))
        .unwrap()
        .next()
        .is_none());
}
