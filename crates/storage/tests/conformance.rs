//! One conformance suite run against every driver (overlay, vfs): each
//! check is a function over a store, instantiated per driver below.

mod common;

use berth_storage::{ApplyOptions, Digest, DriverKind, Error, NewContainer};
use common::*;
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};

/// Files, directories, symlinks, hard links, devices, fifos, owners, modes,
/// mtimes and xattrs all come through, seen in a read-only image mount.
fn all_entry_types(s: &TestStore) {
    let tar = TarBuilder::new()
        .dir("./", 0o755)
        .dir("etc", 0o755)
        .file_with("etc/passwd", b"root:x:0:0\n", 0o644, 0, 0)
        .xattrs(&[
            (
                "security.capability",
                &[
                    1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                ],
            ),
            ("user.note", b"hi"),
        ])
        .file_with("etc/owned", b"mine", 0o640, 1234, 5678)
        .file_with("bin/ping", b"#!ping", 0o4755, 0, 0)
        .symlink("bin/sh", "/bin/busybox")
        .hardlink("bin/passwd-link", "etc/passwd")
        .device("dev/null", tar::EntryType::Char, 1, 3)
        .device("dev/loop0", tar::EntryType::Block, 7, 0)
        .device("run/fifo", tar::EntryType::Fifo, 0, 0)
        .dir("tmp", 0o1777)
        .build();
    let img = image(s, "all:types", std::slice::from_ref(&tar));
    let layer = s.layer(img.top_layer.as_deref().unwrap()).unwrap();
    assert_eq!(layer.diff_digest, Some(Digest::of(&tar)));
    let root = s.mount_image("all:types").unwrap();
    let m = |p: &str| fs::symlink_metadata(root.join(p)).unwrap();
    assert_eq!(fs::read(root.join("etc/passwd")).unwrap(), b"root:x:0:0\n");
    assert_eq!(
        (
            m("etc/owned").uid(),
            m("etc/owned").gid(),
            m("etc/owned").mode() & 0o7777
        ),
        (1234, 5678, 0o640)
    );
    assert_eq!(m("etc/owned").mtime(), 1_600_000_000);
    let cap = xattr(&root.join("etc/owned"), "security.capability");
    assert_eq!(cap.len(), 20, "security.capability kept");
    assert_eq!(xattr(&root.join("etc/owned"), "user.note"), b"hi");
    assert_eq!(m("bin/ping").mode() & 0o7777, 0o4755);
    assert_eq!(
        fs::read_link(root.join("bin/sh")).unwrap().to_str(),
        Some("/bin/busybox")
    );
    assert_eq!(m("bin/passwd-link").ino(), m("etc/passwd").ino());
    assert!(m("dev/null").file_type().is_char_device());
    assert_eq!(m("dev/null").rdev(), rustix::fs::makedev(1, 3));
    assert!(m("dev/loop0").file_type().is_block_device());
    assert!(m("run/fifo").file_type().is_fifo());
    assert_eq!(m("tmp").mode() & 0o7777, 0o1777);
    assert_eq!(
        m("etc").mtime(),
        1_600_000_000,
        "directory mtime set after its entries"
    );
    // Read-only mount.
    assert!(fs::write(root.join("etc/new"), b"x").is_err());
    assert_eq!(s.unmount_image("all:types", false).unwrap(), 0);
}

fn xattr(path: &std::path::Path, name: &str) -> Vec<u8> {
    let mut buf = vec![0u8; 256];
    let n = rustix::fs::lgetxattr(path, name, &mut buf[..]).unwrap();
    buf.truncate(n);
    buf
}

/// PAX global headers (as `git archive` writes) are archive metadata, not
/// files, and create nothing.
fn pax_global_header_creates_nothing(s: &TestStore) {
    let mut b = tar::Builder::new(Vec::new());
    let rec = b"52 comment=0123456789abcdef0123456789abcdef01234567\n";
    let mut h = header(tar::EntryType::XGlobalHeader, 0o644);
    h.set_size(rec.len() as u64);
    b.append_data(&mut h, "PaxHeaders.0/global", &rec[..])
        .unwrap();
    b.append_data(
        &mut header(tar::EntryType::Regular, 0o644),
        "f",
        std::io::empty(),
    )
    .unwrap();
    let tar = b.into_inner().unwrap();
    image(s, "pax", &[tar]);
    let root = s.mount_image("pax").unwrap();
    let names: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec!["f"]);
    s.unmount_image("pax", false).unwrap();
}

/// Whiteouts and opaque directories hide what lower layers hold, and only
/// that: entries the same layer adds stay.
fn whiteouts_and_opaque(s: &TestStore) {
    let base = TarBuilder::new()
        .file("a/keep", b"1")
        .file("a/gone", b"2")
        .file("b/old1", b"3")
        .file("b/sub/old2", b"4")
        .file("c", b"5")
        .build();
    let top = TarBuilder::new()
        .whiteout("a/.wh.gone")
        .dir("b", 0o755)
        .whiteout("b/.wh..wh..opq")
        .file("b/new", b"6")
        .whiteout(".wh.c")
        .file("d", b"7")
        .build();
    image(s, "wh", &[base, top]);
    let root = s.mount_image("wh").unwrap();
    let tree = describe_tree(&root);
    let names: Vec<&str> = tree.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(names, vec!["a", "a/keep", "b", "b/new", "d"], "{tree:#?}");
    s.unmount_image("wh", false).unwrap();
}

/// A hard link to a file of a lower layer gets that file's content.
fn hardlink_to_lower_layer(s: &TestStore) {
    let base = TarBuilder::new()
        .file_with("bin/tool", b"tool", 0o755, 0, 0)
        .build();
    let top = TarBuilder::new().hardlink("bin/alias", "bin/tool").build();
    image(s, "hl", &[base, top]);
    let root = s.mount_image("hl").unwrap();
    assert_eq!(fs::read(root.join("bin/alias")).unwrap(), b"tool");
    assert_eq!(
        fs::metadata(root.join("bin/alias")).unwrap().mode() & 0o777,
        0o755
    );
    s.unmount_image("hl", false).unwrap();
}

/// The same diff on the same parent is one layer; gzip, zstd and plain
/// streams of the same tar give the same diff digest and layer.
fn layers_shared_and_compressions(s: &TestStore) {
    let tar = TarBuilder::new().file("f", b"shared").build();
    let plain = apply(s, None, &tar).unwrap();
    let gz = apply(s, None, &gzip(&tar)).unwrap();
    let zs = apply(s, None, &zstd(&tar)).unwrap();
    assert_eq!(plain.id, gz.id);
    assert_eq!(gz.id, zs.id);
    assert_eq!(plain.diff_digest, Some(Digest::of(&tar)));
    assert_eq!(s.layers().unwrap().len(), 1);
    // With a known diff digest an existing layer is found without reading.
    let lease = s.lease().unwrap();
    let opts = ApplyOptions {
        diff_digest: Some(Digest::of(&tar)),
        ..Default::default()
    };
    let again = s
        .apply_layer(&lease, None, &b"not even a tar"[..], &opts)
        .unwrap();
    assert_eq!(again.id, plain.id);
    // Compressed digest and size recorded for a fresh compressed layer.
    let tar2 = TarBuilder::new().file("g", b"other").build();
    let blob = gzip(&tar2);
    let opts = ApplyOptions {
        compressed_digest: Some(Digest::of(&blob)),
        diff_digest: Some(Digest::of(&tar2)),
    };
    let l = s.apply_layer(&lease, None, &blob[..], &opts).unwrap();
    assert_eq!(l.compressed_digest, Some(Digest::of(&blob)));
    assert_eq!(l.compressed_size, Some(blob.len() as u64));
    assert_eq!(l.size, tar2.len() as u64);
}

/// A wrong digest is an error and leaves no layer behind.
fn digest_mismatch_creates_nothing(s: &TestStore) {
    let tar = TarBuilder::new().file("f", b"x").build();
    let lease = s.lease().unwrap();
    let opts = ApplyOptions {
        compressed_digest: Some(Digest::of(b"something else")),
        ..Default::default()
    };
    let err = s
        .apply_layer(&lease, None, &gzip(&tar)[..], &opts)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::DigestMismatch {
                what: "compressed",
                ..
            }
        ),
        "{err}"
    );
    let opts = ApplyOptions {
        diff_digest: Some(Digest::of(b"something else")),
        ..Default::default()
    };
    let err = s.apply_layer(&lease, None, &tar[..], &opts).unwrap_err();
    assert!(
        matches!(
            err,
            Error::DigestMismatch {
                what: "uncompressed",
                ..
            }
        ),
        "{err}"
    );
    assert!(s.layers().unwrap().is_empty());
    assert_store_clean(s);
}

/// No staging leftovers and no driver content without a record.
pub fn assert_store_clean(s: &TestStore) {
    let root = s.root();
    let staging: Vec<_> = fs::read_dir(root.join("staging")).unwrap().collect();
    assert!(staging.is_empty(), "staging not empty: {staging:?}");
    let trash: Vec<_> = fs::read_dir(root.join("trash")).unwrap().collect();
    assert!(trash.is_empty(), "trash not emptied: {trash:?}");
    let ids: Vec<String> = s.layers().unwrap().into_iter().map(|l| l.id).collect();
    let driver_dir = root.join(s.driver_kind().name());
    for e in fs::read_dir(driver_dir).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        if name == "l" || name == "empty" {
            continue;
        }
        assert!(ids.contains(&name), "driver content {name} has no record");
    }
}

/// A container mounted read-write: host tools write there, the diff holds
/// exactly those changes in OCI form, is deterministic, and applying it on
/// the image gives the container's view.
fn container_diff_roundtrip(s: &TestStore) {
    let base = TarBuilder::new()
        .dir("etc", 0o755)
        .file("etc/keep", b"k")
        .file("etc/remove-me", b"r")
        .file("etc/change", b"old")
        .file("var/lib/x/y", b"y")
        .build();
    let img = image(s, "ctr-base", &[base]);
    let c = s
        .create_container(NewContainer {
            name: Some("web".into()),
            image: "ctr-base".into(),
            ..Default::default()
        })
        .unwrap();
    let root = s.mount_container("web").unwrap();
    fs::remove_file(root.join("etc/remove-me")).unwrap();
    fs::write(root.join("etc/change"), b"new").unwrap();
    fs::write(root.join("etc/added"), b"a").unwrap();
    fs::remove_dir_all(root.join("var/lib/x")).unwrap();
    let mut a = Vec::new();
    let d1 = s.diff(&c.layer, &mut a).unwrap();
    let mut b = Vec::new();
    let d2 = s.container_diff("web", &mut b).unwrap();
    assert_eq!(d1, d2, "same change, same digest");
    assert_eq!(d1.digest, Digest::of(&a));
    let mut names = Vec::new();
    let mut ar = tar::Archive::new(&a[..]);
    for e in ar.entries().unwrap() {
        names.push(e.unwrap().path().unwrap().display().to_string());
    }
    for want in [
        "etc/added",
        "etc/change",
        "etc/.wh.remove-me",
        "var/lib/.wh.x",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.contains("keep")), "{names:?}");
    let view = describe_tree(&root);
    s.unmount_container("web", false).unwrap();
    // Commit: the diff applied on the image's top layer gives the same tree.
    let lease = s.lease().unwrap();
    let committed = s
        .apply_layer(
            &lease,
            img.top_layer.as_deref(),
            &a[..],
            &Default::default(),
        )
        .unwrap();
    s.create_image(berth_storage::NewImage {
        top_layer: Some(committed.id),
        names: vec!["committed".into()],
        manifest: b"{}".to_vec(),
        config: b"{\"committed\":1}".to_vec(),
    })
    .unwrap();
    let croot = s.mount_image("committed").unwrap();
    assert_eq!(describe_tree(&croot), view);
    s.unmount_image("committed", false).unwrap();
}

/// Mounts are counted; the last unmount really unmounts; removing what is
/// mounted or used is refused and removes nothing; force does it.
fn mount_counts_and_in_use(s: &TestStore) {
    let tar = TarBuilder::new().file("f", b"x").build();
    let img = image(s, "counted", &[tar]);
    let p1 = s.mount_image("counted").unwrap();
    let p2 = s.mount_image("counted").unwrap();
    assert_eq!(p1, p2);
    assert_eq!(s.image_mounts("counted").unwrap(), 2);
    let err = s.remove_image("counted", false).unwrap_err();
    assert!(err.to_string().contains("in use by 2 mount(s)"), "{err}");
    assert_eq!(s.unmount_image("counted", false).unwrap(), 1);
    assert!(
        p1.join("f").exists(),
        "still mounted after one of two unmounts"
    );
    assert_eq!(s.unmount_image("counted", false).unwrap(), 0);
    assert!(!p1.join("f").exists(), "last unmount unmounts");

    s.create_container(NewContainer {
        name: Some("user".into()),
        image: img.id.clone(),
        ..Default::default()
    })
    .unwrap();
    let err = s.remove_image("counted", false).unwrap_err();
    assert!(matches!(err, Error::InUse { .. }), "{err}");
    assert!(err.to_string().contains("container user"), "{err}");
    let top = img.top_layer.clone().unwrap();
    let err = s.remove_layer(&top, false).unwrap_err();
    assert!(matches!(err, Error::InUse { .. }), "{err}");
    assert_eq!(s.images().unwrap().len(), 1, "nothing removed");
    s.mount_container("user").unwrap();
    let err = s.remove_container("user", false).unwrap_err();
    assert!(
        err.to_string()
            .contains("container user is in use by 1 mount(s)"),
        "{err}"
    );
    let removed = s.remove_image("counted", true).unwrap();
    assert_eq!(removed, vec![top]);
    assert!(s.containers().unwrap().is_empty());
    assert!(s.layers().unwrap().is_empty());
    assert!(s.images().unwrap().is_empty());
    assert_store_clean(s);
}

/// Images keep manifest and config verbatim, names move between images,
/// removal collects only unshared layers.
fn images_and_shared_layers(s: &TestStore) {
    let base = TarBuilder::new().file("base", b"b").build();
    let one = TarBuilder::new().file("one", b"1").build();
    let two = TarBuilder::new().file("two", b"2").build();
    let a = image(s, "a", &[base.clone(), one]);
    let b = image(s, "b", &[base, two]);
    assert_eq!(s.layers().unwrap().len(), 3, "base layer shared");
    assert_eq!(s.image_manifest("a").unwrap(), b"{\"manifest\":\"a\"}");
    assert_eq!(
        s.image_config(&a.id).unwrap(),
        b"{\"config\":\"a\",\"n\":2}"
    );
    assert_eq!(format!("{}", a.config_digest), format!("sha256:{}", a.id));
    s.add_image_name("b", "a").unwrap();
    assert_eq!(s.image("a").unwrap().id, b.id, "name moved");
    let removed = s.remove_image(&a.id, false).unwrap();
    assert_eq!(removed.len(), 1, "only the unshared layer goes");
    assert_eq!(s.layers().unwrap().len(), 2);
    assert!(matches!(s.image(&a.id), Err(Error::ImageNotFound(_))));
}

/// `rmi NAME` of an image with several names takes only that name; the
/// last name removes the image, refused while it is mounted or used unless
/// forced; untag keeps a nameless image.
fn remove_image_name_untags_until_last(s: &TestStore) {
    use berth_storage::NameRemoval;
    let tar = TarBuilder::new().file("f", b"x").build();
    let img = image(s, "r/one:1", &[tar]);
    s.add_image_name("r/one:1", "r/two:2").unwrap();
    s.add_image_name("r/one:1", "r/three:3").unwrap();
    s.mount_image("r/one:1").unwrap();
    // Mounted, yet a name that is not the last one goes.
    match s.remove_image_name("r/two:2", false).unwrap() {
        NameRemoval::Untagged(i) => assert_eq!(i.names, ["r/one:1", "r/three:3"]),
        other => panic!("expected untag, got {other:?}"),
    }
    assert!(matches!(s.image("r/two:2"), Err(Error::ImageNotFound(_))));
    assert_eq!(s.image("r/one:1").unwrap().names, ["r/one:1", "r/three:3"]);
    let err = s.remove_image_name("r/two:2", false).unwrap_err();
    assert!(matches!(err, Error::ImageNotFound(_)), "{err}");
    // The id is not a name.
    let err = s.remove_image_name(&img.id, false).unwrap_err();
    assert!(matches!(err, Error::ImageNotFound(_)), "{err}");
    // untag takes a name even from a mounted image.
    let after = s.untag_image("r/three:3").unwrap();
    assert_eq!(after.names, ["r/one:1"]);
    // The last name: refused while mounted, nothing changes.
    let err = s.remove_image_name("r/one:1", false).unwrap_err();
    assert!(matches!(err, Error::InUse { .. }), "{err}");
    assert!(err.to_string().contains("mount(s)"), "{err}");
    assert_eq!(s.image(&img.id).unwrap().names, ["r/one:1"]);
    s.unmount_image("r/one:1", false).unwrap();
    match s.remove_image_name("r/one:1", false).unwrap() {
        NameRemoval::Removed { image, layers } => {
            assert_eq!(image.id, img.id);
            assert_eq!(layers, vec![img.top_layer.clone().unwrap()]);
        }
        other => panic!("expected removal, got {other:?}"),
    }
    assert!(s.images().unwrap().is_empty());
    assert!(s.layers().unwrap().is_empty());
    // A container keeps the last name from removing its image, unless forced.
    let tar = TarBuilder::new().file("g", b"y").build();
    let img = image(s, "r/used:1", &[tar]);
    s.create_container(NewContainer {
        name: Some("holder".into()),
        image: img.id.clone(),
        ..Default::default()
    })
    .unwrap();
    let err = s.remove_image_name("r/used:1", false).unwrap_err();
    assert!(err.to_string().contains("container holder"), "{err}");
    assert_eq!(s.images().unwrap().len(), 1);
    assert!(matches!(
        s.remove_image_name("r/used:1", true).unwrap(),
        NameRemoval::Removed { .. }
    ));
    assert!(s.containers().unwrap().is_empty());
    assert!(s.images().unwrap().is_empty());
    // An untagged image stays, reachable by id.
    let tar = TarBuilder::new().file("h", b"z").build();
    let img = image(s, "r/lone:1", &[tar]);
    assert!(s.untag_image("r/lone:1").unwrap().names.is_empty());
    assert!(s.image(&img.id).unwrap().names.is_empty());
    s.remove_image(&img.id, false).unwrap();
    assert_store_clean(s);
}

/// Reopening keeps everything complete.
fn reopen_keeps_store(s: &TestStore) {
    let tar = TarBuilder::new().file("f", b"x").build();
    image(s, "keep", &[tar]);
    let again = s.reopen();
    assert_eq!(again.images().unwrap().len(), 1);
    assert_eq!(again.layers().unwrap().len(), 1);
    let root = again.mount_image("keep").unwrap();
    assert_eq!(fs::read(root.join("f")).unwrap(), b"x");
    again.unmount_image("keep", false).unwrap();
}

/// An image of 130 layers mounts (overlay's option string would overflow
/// one page without short link names or `lowerdir+`).
fn many_layers_mount(s: &TestStore) {
    let layers: Vec<Vec<u8>> = (0..130)
        .map(|i| {
            TarBuilder::new()
                .file(&format!("f{i:03}"), format!("{i}").as_bytes())
                .build()
        })
        .collect();
    image(s, "tall", &layers);
    let root = s.mount_image("tall").unwrap();
    assert_eq!(fs::read_dir(&root).unwrap().count(), 130);
    assert_eq!(fs::read(root.join("f129")).unwrap(), b"129");
    s.unmount_image("tall", false).unwrap();
}

/// Applying an image's layers together (in parallel on overlay) gives the
/// same layers and the same tree as one by one, hard links to lower layers
/// and whiteouts included; stored layers are not read again.
fn apply_layers_together(s: &TestStore) {
    let layers = vec![
        TarBuilder::new()
            .file("bin/tool", b"tool")
            .file("etc/conf", b"c")
            .build(),
        TarBuilder::new()
            .hardlink("bin/alias", "bin/tool")
            .whiteout("etc/.wh.conf")
            .build(),
        TarBuilder::new().file("bin/third", b"3").build(),
    ];
    let opts = |t: &Vec<u8>| berth_storage::ApplyOptions {
        compressed_digest: None,
        diff_digest: Some(Digest::of(t)),
    };
    let lease = s.lease().unwrap();
    let blobs: Vec<(&[u8], _)> = layers.iter().map(|t| (&t[..], opts(t))).collect();
    let together = s.apply_layers(&lease, None, blobs).unwrap();
    assert_eq!(together.len(), 3);
    let one_by_one = image(s, "seq", &layers);
    assert_eq!(
        together[2].id,
        one_by_one.top_layer.clone().unwrap(),
        "same chain ids"
    );
    assert_eq!(s.layers().unwrap().len(), 3);
    let root = s.mount_image("seq").unwrap();
    assert_eq!(fs::read(root.join("bin/alias")).unwrap(), b"tool");
    assert!(!root.join("etc/conf").exists());
    s.unmount_image("seq", false).unwrap();
    // Stored layers are found by digest; their blobs are never read.
    let blobs: Vec<(&[u8], _)> = layers.iter().map(|t| (&b"garbage"[..], opts(t))).collect();
    let again = s.apply_layers(&lease, None, blobs).unwrap();
    assert_eq!(again, together);
}

/// A bad layer among several: an error, the layers below it stay, nothing
/// of it or above it is visible or left in staging.
fn apply_layers_failure(s: &TestStore) {
    let good = TarBuilder::new().file("a", b"1").build();
    let bad = TarBuilder::new().file("b", b"2").build();
    let above = TarBuilder::new().file("c", b"3").build();
    let lease = s.lease().unwrap();
    let wrong = berth_storage::ApplyOptions {
        compressed_digest: None,
        diff_digest: Some(Digest::of(b"not it")),
    };
    let blobs: Vec<(&[u8], _)> = vec![
        (&good[..], Default::default()),
        (&bad[..], wrong),
        (&above[..], Default::default()),
    ];
    let err = s.apply_layers(&lease, None, blobs).unwrap_err();
    assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
    let layers = s.layers().unwrap();
    assert!(layers.len() <= 1, "{layers:?}");
    assert_store_clean(s);
}

/// Parent directories an archive does not list keep the owner and mode the
/// layers below give them (a `tmp/x` entry must not make `/tmp` 0755), one
/// layer at a time and with the layers applied together.
fn unlisted_parents_keep_lower_metadata(s: &TestStore) {
    let mut h = header(tar::EntryType::Directory, 0o700);
    h.set_uid(42);
    let base = {
        let mut b = tar::Builder::new(Vec::new());
        b.append_data(
            &mut header(tar::EntryType::Directory, 0o1777),
            "tmp/",
            std::io::empty(),
        )
        .unwrap();
        b.append_data(&mut h, "opt/", std::io::empty()).unwrap();
        b.into_inner().unwrap()
    };
    let top = TarBuilder::new()
        .file("tmp/x", b"x")
        .file("opt/sub/y", b"y")
        .build();
    // Together first (on overlay: in parallel, the parents fixed up at
    // commit), so the image below mounts the layers made that way.
    let lease = s.lease().unwrap();
    let blobs = vec![
        (&base[..], Default::default()),
        (&top[..], Default::default()),
    ];
    let together = s.apply_layers(&lease, None, blobs).unwrap();
    let one_by_one = image(s, "one-by-one", &[base.clone(), top.clone()]);
    assert_eq!(
        Some(together[1].id.clone()),
        one_by_one.top_layer,
        "same layers"
    );
    let root = s.mount_image("one-by-one").unwrap();
    let m = |p: &str| fs::metadata(root.join(p)).unwrap();
    assert_eq!(m("tmp").mode() & 0o7777, 0o1777);
    assert_eq!((m("opt").mode() & 0o7777, m("opt").uid()), (0o700, 42));
    assert_eq!(
        m("opt/sub").mode() & 0o7777,
        0o755,
        "new directories are 0755"
    );
    s.unmount_image("one-by-one", false).unwrap();
}

macro_rules! conformance {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;
            fn run(check: fn(&TestStore)) {
                if let Some(s) = store($kind) {
                    check(&s);
                }
            }
            #[test]
            fn all_entry_types() {
                run(super::all_entry_types)
            }
            #[test]
            fn whiteouts_and_opaque() {
                run(super::whiteouts_and_opaque)
            }
            #[test]
            fn hardlink_to_lower_layer() {
                run(super::hardlink_to_lower_layer)
            }
            #[test]
            fn layers_shared_and_compressions() {
                run(super::layers_shared_and_compressions)
            }
            #[test]
            fn digest_mismatch_creates_nothing() {
                run(super::digest_mismatch_creates_nothing)
            }
            #[test]
            fn container_diff_roundtrip() {
                run(super::container_diff_roundtrip)
            }
            #[test]
            fn mount_counts_and_in_use() {
                run(super::mount_counts_and_in_use)
            }
            #[test]
            fn images_and_shared_layers() {
                run(super::images_and_shared_layers)
            }
            #[test]
            fn many_layers_mount() {
                run(super::many_layers_mount)
            }
            #[test]
            fn apply_layers_together() {
                run(super::apply_layers_together)
            }
            #[test]
            fn apply_layers_failure() {
                run(super::apply_layers_failure)
            }
            #[test]
            fn unlisted_parents_keep_lower_metadata() {
                run(super::unlisted_parents_keep_lower_metadata)
            }
            #[test]
            fn pax_global_header_creates_nothing() {
                run(super::pax_global_header_creates_nothing)
            }
            #[test]
            fn remove_image_name_untags_until_last() {
                run(super::remove_image_name_untags_until_last)
            }
            #[test]
            fn reopen_keeps_store() {
                run(super::reopen_keeps_store)
            }
        }
    };
}

conformance!(overlay, DriverKind::Overlay);
conformance!(vfs, DriverKind::Vfs);

/// The same change made in a container on overlay and on vfs gives the
/// same diff, byte for byte: the OCI form does not depend on the driver.
#[test]
fn same_change_same_diff_on_both_drivers() {
    let (Some(ov), Some(vfs)) = (store(DriverKind::Overlay), store(DriverKind::Vfs)) else {
        return;
    };
    let base = TarBuilder::new()
        .dir("etc", 0o755)
        .file("etc/keep", b"k")
        .file("etc/change", b"old")
        .file("etc/remove-me", b"r")
        .dir("var", 0o755)
        .dir("var/lib", 0o755)
        .file("var/lib/x/y", b"y")
        .build();
    let mut digests = Vec::new();
    for s in [&ov, &vfs] {
        image(s, "base", std::slice::from_ref(&base));
        s.create_container(NewContainer {
            name: Some("c".into()),
            image: "base".into(),
            ..Default::default()
        })
        .unwrap();
        let root = s.mount_container("c").unwrap();
        fs::write(root.join("etc/change"), b"new").unwrap();
        fs::write(root.join("etc/added"), b"a").unwrap();
        fs::remove_file(root.join("etc/remove-me")).unwrap();
        fs::remove_dir_all(root.join("var/lib/x")).unwrap();
        let t = rustix::fs::Timestamps {
            last_access: rustix::fs::Timespec {
                tv_sec: 1_700_000_000,
                tv_nsec: 0,
            },
            last_modification: rustix::fs::Timespec {
                tv_sec: 1_700_000_000,
                tv_nsec: 0,
            },
        };
        for p in ["etc/change", "etc/added", "etc", "var/lib", "var"] {
            rustix::fs::utimensat(
                rustix::fs::CWD,
                root.join(p),
                &t,
                rustix::fs::AtFlags::empty(),
            )
            .unwrap();
        }
        let mut tar = Vec::new();
        let d = s.container_diff("c", &mut tar).unwrap();
        s.unmount_container("c", false).unwrap();
        digests.push((d.digest, tar));
    }
    let list = |t: &[u8]| -> Vec<String> {
        tar::Archive::new(t)
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect()
    };
    assert_eq!(list(&digests[0].1), list(&digests[1].1), "same entries");
    assert_eq!(digests[0].0, digests[1].0, "same digest");
}
