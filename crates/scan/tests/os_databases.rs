//! apk's `installed`, distroless's `status.d`, a corrupt dpkg `status`
//! and os-release, each planted in a tree built by hand.

use berth_scan::{scan_tree, Ecosystem, Package};
use std::path::Path;

fn write(root: &Path, path: &str, text: &str) {
    let p = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn find<'a>(pkgs: &'a [Package], name: &str) -> &'a Package {
    pkgs.iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("{name} missing: {pkgs:#?}"))
}

const APK: &str = "C:Q1abc=
P:musl
V:1.2.4-r2
A:x86_64
o:musl
L:MIT
F:lib
R:ld-musl-x86_64.so.1
R:libc.musl-x86_64.so.1

C:Q1def=
P:busybox
V:1.36.1-r5
A:x86_64
o:busybox
L:GPL-2.0-only
F:bin
R:busybox
F:etc
R:securetty
";

#[test]
fn alpine_packages_from_apk_installed() {
    let d = tempfile::tempdir().unwrap();
    write(d.path(), "/lib/apk/db/installed", APK);
    write(
        d.path(),
        "/etc/os-release",
        "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.1\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
    );
    let inv = scan_tree(d.path()).unwrap().inventory;
    assert!(inv.warnings.is_empty(), "{:#?}", inv.warnings);
    assert_eq!(inv.packages.len(), 2);
    let bb = find(&inv.packages, "busybox");
    assert_eq!(bb.ecosystem, Ecosystem::Alpine);
    assert_eq!(bb.version, "1.36.1-r5");
    assert_eq!(bb.arch.as_deref(), Some("x86_64"));
    assert_eq!(bb.source.as_deref(), Some("busybox"));
    assert_eq!(bb.licenses, ["GPL-2.0-only"]);
    assert_eq!(bb.files, ["/bin/busybox", "/etc/securetty"]);
    assert_eq!(bb.location, "/lib/apk/db/installed");
    let os = inv.os.unwrap();
    assert_eq!(
        (os.id.as_str(), os.version_id.as_deref()),
        ("alpine", Some("3.19.1"))
    );
    assert_eq!(os.pretty_name.as_deref(), Some("Alpine Linux v3.19"));
}

#[test]
fn distroless_status_d_with_md5sums() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "/var/lib/dpkg/status.d/base-files",
        "Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
    );
    write(
        d.path(),
        "/var/lib/dpkg/status.d/base-files.md5sums",
        "0123456789abcdef0123456789abcdef  etc/debian_version\nfedcba9876543210fedcba9876543210  usr/lib/os-release\n",
    );
    write(
        d.path(),
        "/var/lib/dpkg/status.d/libssl3",
        "Package: libssl3\nSource: openssl (3.0.11-1~deb12u2)\nVersion: 3.0.11-1~deb12u2\nArchitecture: amd64\n",
    );
    // os-release from /usr/lib when /etc has none.
    write(
        d.path(),
        "/usr/lib/os-release",
        "ID=debian\nVERSION_ID=\"12\"\n",
    );
    let inv = scan_tree(d.path()).unwrap().inventory;
    assert!(inv.warnings.is_empty(), "{:#?}", inv.warnings);
    assert_eq!(inv.packages.len(), 2);
    let base = find(&inv.packages, "base-files");
    assert_eq!(base.files, ["/etc/debian_version", "/usr/lib/os-release"]);
    assert_eq!(base.location, "/var/lib/dpkg/status.d/base-files");
    let ssl = find(&inv.packages, "libssl3");
    assert_eq!(ssl.source.as_deref(), Some("openssl"));
    assert_eq!(ssl.source_version.as_deref(), Some("3.0.11-1~deb12u2"));
    assert_eq!(inv.os.unwrap().version_id.as_deref(), Some("12"));
}

#[test]
fn corrupt_dpkg_status_names_file_and_line_and_reads_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let status =
        "Package: good-one\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n\
Package: broken\nStatus: install ok installed\nthis line is garbage\nVersion: 2.0\n\n\
Package: no-version\nStatus: install ok installed\n\n\
Package: purged\nStatus: purge ok not-installed\n\n\
Package: good-two\nStatus: install ok installed\nVersion: 3.0\nArchitecture: all\n";
    write(d.path(), "/var/lib/dpkg/status", status);
    write(
        d.path(),
        "/var/lib/dpkg/info/good-one.list",
        "/.\n/usr\n/usr/bin/good\n",
    );
    let inv = scan_tree(d.path()).unwrap().inventory;
    let names: Vec<&str> = inv.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["good-one", "good-two"]);
    assert_eq!(
        find(&inv.packages, "good-one").files,
        ["/usr", "/usr/bin/good"]
    );
    assert_eq!(inv.warnings.len(), 2, "{:#?}", inv.warnings);
    let w = &inv.warnings[0];
    assert_eq!((w.path.as_str(), w.line), ("/var/lib/dpkg/status", Some(8)));
    assert!(w.message.contains("this line is garbage"), "{}", w.message);
    let w = &inv.warnings[1];
    assert_eq!(
        (w.path.as_str(), w.line),
        ("/var/lib/dpkg/status", Some(11))
    );
    assert!(w.message.contains("Version"), "{}", w.message);
}

#[test]
fn bad_apk_lines_are_named_and_skipped() {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "/lib/apk/db/installed",
        "P:ok\nV:1\nnot a record line\n\nP:noversion\n",
    );
    let inv = scan_tree(d.path()).unwrap().inventory;
    assert_eq!(inv.packages.len(), 1);
    let lines: Vec<Option<usize>> = inv.warnings.iter().map(|w| w.line).collect();
    assert_eq!(lines, [Some(3), Some(5)], "{:#?}", inv.warnings);
}
