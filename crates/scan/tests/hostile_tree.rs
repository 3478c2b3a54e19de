//! A hostile tree: symlinks aimed at the host or in loops, rpm databases
//! in forms the scanner cannot read. The scan reads only inside the tree,
//! names what it could not read, and reports the rest.

use berth_scan::scan_tree;
use std::os::unix::fs::symlink;
use std::path::Path;

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn mkdir(root: &Path, path: &str) {
    std::fs::create_dir_all(root.join(path.trim_start_matches('/'))).unwrap();
}

const HOST_STATUS: &str = "Package: host-secret\nStatus: install ok installed\nVersion: 6.6.6\n";

#[test]
fn links_to_host_files_resolve_inside_the_tree() {
    let host = tempfile::tempdir().unwrap();
    write(host.path(), "/status", HOST_STATUS);
    write(host.path(), "/os-release", "ID=host-os\n");
    write(host.path(), "/installed", "P:host-apk\nV:1\n");
    let d = tempfile::tempdir().unwrap();
    mkdir(d.path(), "/var/lib/dpkg");
    mkdir(d.path(), "/etc");
    mkdir(d.path(), "/lib/apk/db");
    // Absolute: resolves to the tree's own (missing) path.
    symlink(
        host.path().join("status"),
        d.path().join("var/lib/dpkg/status"),
    )
    .unwrap();
    // `..` chains stop at the tree's root.
    let up = format!(
        "../../../../../../../..{}",
        host.path().join("os-release").display()
    );
    symlink(&up, d.path().join("etc/os-release")).unwrap();
    let up = format!(
        "../../../../../../../..{}",
        host.path().join("installed").display()
    );
    symlink(&up, d.path().join("lib/apk/db/installed")).unwrap();
    // A directory link aimed at the host: the walk does not follow it.
    symlink(host.path(), d.path().join("hostdir")).unwrap();
    let scan = scan_tree(d.path()).unwrap();
    let inv = &scan.inventory;
    assert!(inv.packages.is_empty(), "{:#?}", inv.packages);
    assert!(inv.os.is_none(), "{:?}", inv.os);
    // The host files are there: the links would have reached them.
    assert!(std::fs::read_to_string(host.path().join("status"))
        .unwrap()
        .contains("host-secret"));

    // The same links pointing inside the tree are followed there.
    write(
        d.path(),
        &host.path().join("status").display().to_string(),
        HOST_STATUS,
    );
    let inv = scan_tree(d.path()).unwrap().inventory;
    assert_eq!(inv.packages.len(), 1);
    assert_eq!(inv.packages[0].name, "host-secret");
}

#[test]
fn symlink_loops_are_named_and_the_scan_goes_on() {
    let d = tempfile::tempdir().unwrap();
    mkdir(d.path(), "/var/lib/dpkg");
    mkdir(d.path(), "/etc");
    symlink("/var/lib/dpkg/status", d.path().join("var/lib/dpkg/status")).unwrap();
    symlink("b", d.path().join("etc/a")).unwrap();
    symlink("a", d.path().join("etc/b")).unwrap();
    symlink("a", d.path().join("etc/os-release")).unwrap();
    // A directory loop: the walk must end.
    mkdir(d.path(), "/loop/x");
    symlink("..", d.path().join("loop/x/up")).unwrap();
    symlink("/loop", d.path().join("loop/x/root")).unwrap();
    write(
        d.path(),
        "/lib/apk/db/installed",
        "P:still-read\nV:1.0-r0\n",
    );
    let inv = scan_tree(d.path()).unwrap().inventory;
    assert_eq!(inv.packages.len(), 1);
    assert_eq!(inv.packages[0].name, "still-read");
    let paths: Vec<&str> = inv.warnings.iter().map(|w| w.path.as_str()).collect();
    assert!(
        paths.contains(&"/var/lib/dpkg/status"),
        "{:#?}",
        inv.warnings
    );
    assert!(paths.contains(&"/etc/os-release"), "{:#?}", inv.warnings);
    let w = inv
        .warnings
        .iter()
        .find(|w| w.path == "/etc/os-release")
        .unwrap();
    assert!(w.message.contains("symbolic links"), "{}", w.message);
}

#[test]
fn rpm_databases_in_unknown_forms_are_named() {
    for (file, form) in [
        ("Packages", "BerkeleyDB"),
        ("Packages.db", "ndb"),
        ("rpmdb.sqlite", "not a database"),
    ] {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), &format!("/var/lib/rpm/{file}"), "this is no database of any kind, just text long enough to look like a header of something.........");
        write(
            d.path(),
            "/lib/apk/db/installed",
            "P:still-read\nV:1.0-r0\n",
        );
        let inv = scan_tree(d.path()).unwrap().inventory;
        assert_eq!(inv.packages.len(), 1, "{file}");
        assert_eq!(inv.warnings.len(), 1, "{file}: {:#?}", inv.warnings);
        let w = &inv.warnings[0];
        assert_eq!(w.path, format!("/var/lib/rpm/{file}"));
        assert!(
            w.message.contains("unsupported rpm db format"),
            "{}",
            w.message
        );
        assert!(w.message.contains(form), "{}", w.message);
    }
}

#[test]
fn fifos_and_devices_are_not_opened() {
    let d = tempfile::tempdir().unwrap();
    mkdir(d.path(), "/var/lib/dpkg");
    nix::unistd::mkfifo(
        &d.path().join("var/lib/dpkg/status"),
        nix::sys::stat::Mode::from_bits_truncate(0o755),
    )
    .unwrap();
    // An executable fifo: the walk must not block on it.
    nix::unistd::mkfifo(
        &d.path().join("trap"),
        nix::sys::stat::Mode::from_bits_truncate(0o755),
    )
    .unwrap();
    let inv = scan_tree(d.path()).unwrap().inventory;
    assert!(inv.packages.is_empty());
    let w = &inv.warnings[0];
    assert_eq!(w.path, "/var/lib/dpkg/status");
    assert!(w.message.contains("not a regular file"), "{}", w.message);
}

#[test]
fn the_walk_visits_the_tree_once_and_never_follows_links() {
    let host = tempfile::tempdir().unwrap();
    for i in 0..5 {
        write(host.path(), &format!("/f{i}"), "host");
    }
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "/usr/bin/tool", "\x7fELF not really");
    write(d.path(), "/etc/conf", "x");
    symlink(host.path(), d.path().join("usr/hostdir")).unwrap();
    symlink("/", d.path().join("etc/rootlink")).unwrap();
    symlink("../..", d.path().join("usr/bin/up")).unwrap();
    let fd = nix::fcntl::open(
        d.path(),
        nix::fcntl::OFlag::O_RDONLY | nix::fcntl::OFlag::O_DIRECTORY,
        nix::sys::stat::Mode::empty(),
    )
    .unwrap();
    // SAFETY: open returned a new descriptor that we now own.
    let fd = unsafe { <std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    // An executable that starts like an ELF binary is read (and mapped,
    // for a frozen tree) without a fault.
    std::fs::set_permissions(
        d.path().join("usr/bin/tool"),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    for frozen in [false, true] {
        let opts = berth_scan::walk::WalkOptions { frozen };
        let walked = berth_scan::walk::walk(&fd, opts);
        assert_eq!(walked.files, 2);
        // The fake binary is reported as unreadable ELF; nothing about the
        // links: they were never followed.
        assert_eq!(walked.warnings.len(), 1, "{:#?}", walked.warnings);
        assert_eq!(walked.warnings[0].path, "/usr/bin/tool");
        assert!(walked.warnings[0].message.contains("ELF"));
    }
}
