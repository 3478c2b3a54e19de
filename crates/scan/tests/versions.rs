//! Version orderings: Debian's checked against `dpkg --compare-versions`
//! on this machine, the others against tables of their package managers'
//! documented behaviour.

use std::cmp::Ordering::{self, Equal, Greater, Less};
use std::process::Command;

use berth_scan::versions::compare;
use berth_scan::Ecosystem;

/// Pairs where a naive comparison goes wrong: epochs, tildes, revisions,
/// letters against symbols, leading zeros, missing parts.
const DEBIAN_PAIRS: &[(&str, &str)] = &[
    ("1.0", "1.0"),
    ("1.0", "1.0-0"),
    ("1.0~rc1", "1.0"),
    ("1.0~~", "1.0~"),
    ("1.0~~a", "1.0~~"),
    ("1.0~", "1.0"),
    ("1.0", "1.0+b1"),
    ("1.0-1", "1.0-1~bpo12+1"),
    ("1:1.0", "2.0"),
    ("0:1.0", "1.0"),
    ("2:0.1", "10:0.0"),
    ("1.0-1", "1.0-1.1"),
    ("1.0a", "1.0+"),
    ("1.0.", "1.0a"),
    ("1.01", "1.1"),
    ("1.001", "1.1"),
    ("1.2.3", "1.2.10"),
    ("1.10", "1.9"),
    ("2.36-9+deb12u3", "2.36-9+deb12u1"),
    ("2.36-9+deb12u10", "2.36-9+deb12u9"),
    ("1:1.35.0-4+b3", "1:1.35.0-4"),
    ("1.0-1ubuntu1", "1.0-1"),
    ("1.0+dfsg-1", "1.0-1"),
    ("1.0+dfsg1-1", "1.0+dfsg-1"),
    ("7.88.1-10+deb12u5", "7.88.1-10+deb12u12"),
    ("1.0-a", "1.0-A"),
    ("1.0-2-3", "1.0-2"),
    ("3.0.11-1~deb12u2", "3.0.11-1"),
    ("0.9.8", "0.9.8-~"),
    ("1.2+git20230101", "1.2"),
    ("1.2~git20230101", "1.2"),
    ("20230101", "1.0"),
    ("1:0", "0:9999"),
    ("9.4p1-1", "9.4-1"),
    ("1.0.0", "1.0"),
    ("1.0-0", "1.0-00"),
];

fn dpkg_says(a: &str, b: &str) -> Ordering {
    let holds = |op: &str| {
        Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .status()
            .expect("dpkg runs (it is on every Debian host and in install-deps' base)")
            .success()
    };
    if holds("lt") {
        Less
    } else if holds("gt") {
        Greater
    } else {
        assert!(holds("eq"), "dpkg orders neither way: {a} vs {b}");
        Equal
    }
}

#[test]
fn debian_ordering_agrees_with_dpkg() {
    for &(a, b) in DEBIAN_PAIRS {
        let dpkg = dpkg_says(a, b);
        assert_eq!(compare(Ecosystem::Debian, a, b), dpkg, "{a} vs {b}");
        assert_eq!(
            compare(Ecosystem::Debian, b, a),
            dpkg.reverse(),
            "{b} vs {a}"
        );
    }
}

/// Each list is strictly ascending; every pair in it is checked both ways.
fn ascending(eco: Ecosystem, list: &[&str]) {
    for (i, a) in list.iter().enumerate() {
        assert_eq!(compare(eco, a, a), Equal, "{eco:?} {a} == {a}");
        for b in &list[i + 1..] {
            assert_eq!(compare(eco, a, b), Less, "{eco:?}: {a} < {b}");
            assert_eq!(compare(eco, b, a), Greater, "{eco:?}: {b} > {a}");
        }
    }
}

#[test]
fn alpine_ordering() {
    ascending(
        Ecosystem::Alpine,
        &[
            "1.0_alpha",
            "1.0_alpha2",
            "1.0_beta",
            "1.0_pre1",
            "1.0_rc1",
            "1.0_rc1-r1",
            "1.0",
            "1.0-r1",
            "1.0-r10",
            "1.0_cvs",
            "1.0_git20230101",
            "1.0_p1",
            "1.0_p2-r3",
            "1.0a",
            "1.0b_p1",
            "1.01",
            "1.1",
            "1.1.0",
            "1.2",
            "1.10",
            "1.36.1-r0",
            "1.36.1-r1",
            "2",
        ],
    );
    assert_eq!(compare(Ecosystem::Alpine, "1.0-r0", "1.0"), Equal);
    // A version apk cannot parse sorts below any valid one.
    assert_eq!(compare(Ecosystem::Alpine, "not-a-version!", "0.1"), Less);
}

#[test]
fn pep440_ordering() {
    ascending(
        Ecosystem::PyPI,
        &[
            "1.0.dev0",
            "1.0.dev1",
            "1.0a1.dev1",
            "1.0a1",
            "1.0a2.post1",
            "1.0b1",
            "1.0rc1",
            "1.0",
            "1.0+local.1",
            "1.0+local.1.a",
            "1.0+local.2",
            "1.0.post1.dev1",
            "1.0.post1",
            "1.0.1",
            "1.1",
            "2.28.1",
            "2.31.0",
            "1!0.1",
        ],
    );
    // Spellings PEP 440 normalises.
    for (a, b) in [
        ("1.0", "1.0.0"),
        ("1.0alpha1", "1.0a1"),
        ("1.0-RC1", "1.0rc1"),
        ("1.0c1", "1.0rc1"),
        ("1.0-1", "1.0.post1"),
        ("1.0_post_1", "1.0.post1"),
        ("v1.0", "1.0"),
        ("1.0.dev", "1.0.dev0"),
        ("1.0a", "1.0a0"),
    ] {
        assert_eq!(compare(Ecosystem::PyPI, a, b), Equal, "{a} == {b}");
    }
    assert!(berth_scan::versions::Pep440Version::parse("1.0+").is_none());
    assert!(berth_scan::versions::Pep440Version::parse("one").is_none());
}

#[test]
fn semver_ordering_for_npm_and_crates() {
    for eco in [Ecosystem::Npm, Ecosystem::CratesIo] {
        ascending(
            eco,
            &[
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0",
                "1.0.1",
                "1.2.0",
                "1.10.0",
                "4.17.20",
                "4.17.21",
            ],
        );
    }
    assert_eq!(compare(Ecosystem::Npm, "v1.2.3", "1.2.3"), Equal);
}

#[test]
fn go_module_ordering() {
    ascending(
        Ecosystem::Go,
        &[
            "v0.0.0-20190101000000-abcdefabcdef",
            "v0.0.0-20200101000000-abcdefabcdef",
            "v0.1.0",
            "v0.23.0",
            "v1.2.3-pre",
            "v1.2.3",
            "v1.2.4-0.20210101000000-abcdefabcdef",
            "v1.2.4",
            "v2.0.0+incompatible",
            "v2.1.0+incompatible",
        ],
    );
    // OSV writes Go versions without the `v`; toolchains as go1.21.
    assert_eq!(compare(Ecosystem::Go, "v0.23.0", "0.23.0"), Equal);
    assert_eq!(compare(Ecosystem::Go, "1.21", "1.21.0"), Equal);
    assert_eq!(compare(Ecosystem::Go, "go1.21rc2", "1.21.0"), Less);
    assert_eq!(compare(Ecosystem::Go, "1.22.0-0", "1.22.0"), Less);
    assert_eq!(compare(Ecosystem::Go, "1.21.9", "1.22.0-0"), Less);
}

#[test]
fn rpm_ordering() {
    ascending(
        Ecosystem::Rpm,
        &[
            "1.0~rc1-1",
            "1.0-1",
            "1.0-1.el9",
            "1.0-2",
            "1.0^git1-1",
            "1.0a-1",
            "1.0.1-1",
            "1.10-1",
            "1:0.1-1",
        ],
    );
    assert_eq!(compare(Ecosystem::Rpm, "1.0-1", "0:1.0-1"), Equal);
    assert_eq!(compare(Ecosystem::Rpm, "1.01-1", "1.1-1"), Equal);
}

/// Pairs for rpm's ordering: tildes, carets, epochs, letters against
/// digits, separators, leading zeros, missing releases.
const RPM_PAIRS: &[(&str, &str)] = &[
    ("1.0-1", "1.0-1"),
    ("1.0~rc1-1", "1.0-1"),
    ("1.0~rc1-1", "1.0~rc2-1"),
    ("1.0^git1-1", "1.0-1"),
    ("1.0^git1-1", "1.0.1-1"),
    ("1.0^git1-1", "1.0a-1"),
    ("1:0.1-1", "2.0-1"),
    ("0:1.0-1", "1.0-1"),
    ("1.0a-1", "1.0-1"),
    ("1.0a-1", "1.0.1-1"),
    ("1.01-1", "1.1-1"),
    ("1.001-1", "1.1-1"),
    ("1.10-1", "1.9-1"),
    ("1.0-1.el9", "1.0-1"),
    ("1.0-1.el9_2", "1.0-1.el9"),
    ("3.0.7-24.el9", "3.0.7-27.el9"),
    ("1.0_1-1", "1.0.1-1"),
    ("1.0+1-1", "1.0.1-1"),
    ("a-1", "b-1"),
    ("1.0", "1.0-1"),
    ("2.36-9.fc38", "2.36-10.fc38"),
    ("1.0-0.1.rc1", "1.0-1"),
];

#[test]
fn rpm_ordering_agrees_with_rpm() {
    // rpm's own comparison, through its embedded Lua (one rpm run for the table).
    let lua: String = RPM_PAIRS
        .iter()
        .map(|(a, b)| format!("print(rpm.vercmp(\"{a}\", \"{b}\") .. \" \") "))
        .collect();
    let out = Command::new("rpm")
        .arg("--eval")
        .arg(format!("%{{lua: {lua}}}"))
        .output()
        .expect("rpm runs (scripts/install-deps installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said: Vec<i32> = String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(said.len(), RPM_PAIRS.len());
    for (&(a, b), rpm) in RPM_PAIRS.iter().zip(said) {
        let rpm = rpm.cmp(&0);
        assert_eq!(compare(Ecosystem::Rpm, a, b), rpm, "{a} vs {b}");
        assert_eq!(compare(Ecosystem::Rpm, b, a), rpm.reverse(), "{b} vs {a}");
    }
}

#[test]
fn maven_ordering() {
    ascending(
        Ecosystem::Maven,
        &[
            "1.0-alpha-1",
            "1.0-beta",
            "1.0-milestone-1",
            "1.0-rc1",
            "1.0-SNAPSHOT",
            "1.0",
            "1.0-sp1",
            "1.0.1",
            "1.2",
            "1.10",
            "2.17.1",
        ],
    );
    assert_eq!(compare(Ecosystem::Maven, "1.0", "1.0.0"), Equal);
    assert_eq!(compare(Ecosystem::Maven, "1.0.Final", "1.0"), Equal);
}
