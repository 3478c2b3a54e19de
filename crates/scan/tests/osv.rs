//! OSV matching over a small database of real-format advisories
//! (tests/data/osv) and an inventory built by hand.

use std::path::Path;

use berth_scan::osv::{cvss3_base_score, fail_on, Database, Severity};
use berth_scan::{Ecosystem, Inventory, OsRelease, Package};

fn db() -> Database {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/osv");
    Database::load(&dir).expect("database directory loads")
}

fn pkg(eco: Ecosystem, name: &str, version: &str, location: &str) -> Package {
    Package {
        name: name.to_string(),
        version: version.to_string(),
        ecosystem: eco,
        arch: None,
        source: None,
        source_version: None,
        licenses: vec![],
        files: vec![],
        location: location.to_string(),
        layer: None,
    }
}

fn debian(version_id: &str) -> Option<OsRelease> {
    Some(OsRelease {
        id: "debian".to_string(),
        version_id: Some(version_id.to_string()),
        version_codename: None,
        pretty_name: None,
    })
}

fn inventory() -> Inventory {
    let mut libc6 = pkg(
        Ecosystem::Debian,
        "libc6",
        "2.36-9+deb12u1",
        "/var/lib/dpkg/status",
    );
    libc6.source = Some("glibc".to_string());
    let mut libc_bin = pkg(
        Ecosystem::Debian,
        "libc-bin",
        "2.36-9+deb12u3",
        "/var/lib/dpkg/status",
    );
    libc_bin.source = Some("glibc".to_string());
    // A binNMU: the binary version differs from the source version the advisory names.
    let mut busybox = pkg(
        Ecosystem::Debian,
        "busybox",
        "1:1.35.0-4+b3",
        "/var/lib/dpkg/status",
    );
    busybox.source = Some("busybox".to_string());
    busybox.source_version = Some("1:1.35.0-4".to_string());
    Inventory {
        image: None,
        os: debian("12"),
        packages: vec![
            libc6,
            libc_bin,
            busybox,
            pkg(
                Ecosystem::Npm,
                "lodash",
                "4.17.20",
                "/app/node_modules/lodash/package.json",
            ),
            pkg(
                Ecosystem::Npm,
                "lodash",
                "4.17.21",
                "/srv/node_modules/lodash/package.json",
            ),
            pkg(
                Ecosystem::PyPI,
                "Requests",
                "2.28.1",
                "/usr/lib/python3/dist-packages/requests-2.28.1.dist-info/METADATA",
            ),
            pkg(Ecosystem::Go, "stdlib", "1.21.5", "/usr/bin/app"),
            pkg(Ecosystem::Go, "golang.org/x/net", "v0.23.0", "/usr/bin/app"),
            pkg(Ecosystem::CratesIo, "tokio", "1.12.0", "/usr/bin/rustapp"),
            pkg(Ecosystem::CratesIo, "tokio", "1.8.4", "/usr/bin/older"),
            pkg(
                Ecosystem::Debian,
                "gcc-10",
                "10.2.1-6",
                "/var/lib/dpkg/status",
            ),
        ],
        warnings: vec![],
    }
}

#[test]
fn malformed_records_are_named_and_the_rest_load() {
    let db = db();
    let mut bad: Vec<String> = db
        .errors()
        .iter()
        .map(|e| e.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    bad.sort();
    assert_eq!(bad, ["truncated.json", "two-kinds-in-one-event.json"]);
    let two_kinds = db
        .errors()
        .iter()
        .find(|e| e.path.ends_with("two-kinds-in-one-event.json"))
        .unwrap();
    assert!(
        two_kinds.message.contains("exactly one of"),
        "{}",
        two_kinds.message
    );
    let truncated = db
        .errors()
        .iter()
        .find(|e| e.path.ends_with("truncated.json"))
        .unwrap();
    assert!(
        truncated.to_string().contains("truncated.json: line"),
        "{truncated}"
    );
    // 10 good records, of which one is withdrawn and not kept.
    assert_eq!(db.len(), 9);
}

#[test]
fn matches_each_ecosystem_with_its_own_ordering() {
    let findings = db().matches(&inventory());
    let got: Vec<(&str, &str, &str, Option<&str>, Severity)> = findings
        .iter()
        .map(|f| {
            (
                f.id.as_str(),
                f.package.as_str(),
                f.installed.as_str(),
                f.fixed.as_deref(),
                f.severity,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            // Most severe first, then by id.
            (
                "DEBIAN-CVE-2022-48174",
                "busybox",
                "1:1.35.0-4",
                None,
                Severity::Critical
            ),
            (
                "GHSA-35jh-r3h4-6jhm",
                "lodash",
                "4.17.20",
                Some("4.17.21"),
                Severity::High
            ),
            (
                "GHSA-j8r2-6x86-q33q",
                "Requests",
                "2.28.1",
                Some("2.31.0"),
                Severity::Medium
            ),
            (
                "DSA-5514-1",
                "libc6",
                "2.36-9+deb12u1",
                Some("2.36-9+deb12u3"),
                Severity::Unknown
            ),
            (
                "GO-2024-2687",
                "stdlib",
                "1.21.5",
                Some("1.21.9"),
                Severity::Unknown
            ),
            (
                "RUSTSEC-2021-0124",
                "tokio",
                "1.12.0",
                Some("1.13.1"),
                Severity::Unknown
            ),
        ]
    );
    let lodash = &findings[1];
    assert_eq!(lodash.aliases, ["CVE-2021-23337"]);
    assert_eq!(lodash.location, "/app/node_modules/lodash/package.json");
    assert_eq!(lodash.ecosystem, Ecosystem::Npm);
}

#[test]
fn release_and_ecosystem_must_agree() {
    // The same packages on Debian 13: busybox is fixed there (1:1.37.0-1 >
    // 1:1.35.0-4 is still affected), glibc's DSA is for 12 only.
    let mut inv = inventory();
    inv.os = debian("13");
    let ids: Vec<String> = db()
        .matches(&inv)
        .into_iter()
        .filter(|f| f.ecosystem == Ecosystem::Debian)
        .map(|f| format!("{} {:?}", f.id, f.fixed))
        .collect();
    assert_eq!(ids, ["DEBIAN-CVE-2022-48174 Some(\"1:1.37.0-1\")"]);

    // Alpine's advisory for busybox does not match a Debian busybox.
    let alpine = Inventory {
        os: Some(OsRelease {
            id: "alpine".into(),
            version_id: Some("3.18.4".into()),
            version_codename: None,
            pretty_name: None,
        }),
        packages: vec![
            pkg(
                Ecosystem::Alpine,
                "busybox",
                "1.36.1-r0",
                "/lib/apk/db/installed",
            ),
            pkg(
                Ecosystem::Alpine,
                "busybox-binsh",
                "1.36.1-r2",
                "/lib/apk/db/installed",
            ),
        ],
        ..Default::default()
    };
    let found: Vec<(String, String)> = db()
        .matches(&alpine)
        .into_iter()
        .map(|f| (f.id, f.installed))
        .collect();
    assert_eq!(
        found,
        [("ALPINE-CVE-2022-48174".to_string(), "1.36.1-r0".to_string())]
    );
}

#[test]
fn no_os_release_matches_no_distribution_advisory() {
    let mut inv = inventory();
    inv.os = None;
    assert!(db()
        .matches(&inv)
        .iter()
        .all(|f| f.ecosystem != Ecosystem::Debian));
}

#[test]
fn fail_on_compares_against_the_worst_finding() {
    let findings = db().matches(&inventory());
    assert!(fail_on(&findings, Severity::Critical));
    let no_busybox: Vec<_> = findings
        .iter()
        .filter(|f| f.package != "busybox")
        .cloned()
        .collect();
    assert!(!fail_on(&no_busybox, Severity::Critical));
    assert!(fail_on(&no_busybox, Severity::High));
    assert!(!fail_on(&[], Severity::Low));
    assert!(Severity::High.fails(&findings) && !Severity::Critical.fails(&no_busybox));
    assert_eq!("moderate".parse::<Severity>().unwrap(), Severity::Medium);
    assert_eq!("CRITICAL".parse::<Severity>().unwrap(), Severity::Critical);
    let err = "severe".parse::<Severity>().unwrap_err();
    assert!(err.to_string().contains("\"severe\""), "{err}");
}

#[test]
fn cvss_v3_base_scores() {
    // Scores as NVD publishes them for these vectors.
    for (vector, score) in [
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
        ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),
        ("CVSS:3.1/AV:N/AC:H/PR:N/UI:R/S:C/C:H/I:N/A:N", 6.1),
        ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
        ("CVSS:3.1/AV:L/AC:H/PR:H/UI:R/S:U/C:L/I:N/A:N", 1.8),
        ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
    ] {
        assert_eq!(cvss3_base_score(vector), Some(score), "{vector}");
    }
    assert_eq!(cvss3_base_score("CVSS:2.0/AV:N"), None);
    assert_eq!(
        cvss3_base_score("CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        None
    );
}

#[test]
fn an_unreadable_directory_is_an_error() {
    let err = Database::load(Path::new("/nonexistent/osv-db")).unwrap_err();
    assert!(err.to_string().contains("/nonexistent/osv-db"), "{err}");
}
