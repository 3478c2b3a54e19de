//! rpm's sqlite database, made by the real `rpm` (Debian's package): two
//! packages built with rpmbuild and installed into a tree with `--root`;
//! the inventory says what `rpm -qa` says of the same tree.

use berth_testkit::require;
use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool} >/dev/null")])
        .status()
        .is_ok_and(|s| s.success())
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Build `name` (with `epoch`, when given) and install it into `root`.
fn install(work: &Path, root: &Path, name: &str, epoch: Option<u32>, license: &str) {
    let spec = work.join(format!("{name}.spec"));
    let epoch = epoch.map(|e| format!("Epoch: {e}\n")).unwrap_or_default();
    std::fs::write(
        &spec,
        format!(
            "Name: {name}\nVersion: 1.2.3\nRelease: 4.fc40\n{epoch}Summary: test\nLicense: {license}\n\
BuildArch: noarch\n%description\ntest\n%install\nmkdir -p %{{buildroot}}/usr/share/{name}\n\
echo hi > %{{buildroot}}/usr/share/{name}/a\necho hi > %{{buildroot}}/usr/share/{name}/b\n\
%files\n/usr/share/{name}\n"
        ),
    )
    .unwrap();
    let top = work.join("top");
    run(Command::new("rpmbuild")
        .args(["-bb", "--quiet", "--define"])
        .arg(format!("_topdir {}", top.display()))
        .arg(&spec));
    let rpm = top.join(format!("RPMS/noarch/{name}-1.2.3-4.fc40.noarch.rpm"));
    run(Command::new("rpm")
        .arg("--root")
        .arg(root)
        .args(["--dbpath", "/var/lib/rpm", "-i", "--nodeps"])
        .arg(&rpm));
}

#[test]
fn rpm_sqlite_inventory_equals_rpm_qa() {
    require!(
        have("rpm") && have("rpmbuild"),
        "rpm and rpmbuild (Debian's rpm package) are missing"
    );
    let work = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    install(
        work.path(),
        root.path(),
        "berth-one",
        Some(2),
        "MIT AND BSD-3-Clause",
    );
    install(
        work.path(),
        root.path(),
        "berth-two",
        None,
        "GPL-2.0-or-later",
    );
    assert!(root.path().join("var/lib/rpm/rpmdb.sqlite").is_file());

    let theirs: BTreeSet<String> = run(Command::new("rpm")
        .arg("--root")
        .arg(root.path())
        .args(["--dbpath", "/var/lib/rpm", "-qa", "--qf"])
        .arg("%{NAME}|%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}|%{ARCH}|%{LICENSE}|%{SOURCERPM}\\n"))
    .lines()
    .map(str::to_string)
    .collect();
    let inv = berth_scan::scan_tree(root.path()).unwrap().inventory;
    assert!(inv.warnings.is_empty(), "{:#?}", inv.warnings);
    let ours: BTreeSet<String> = inv
        .packages
        .iter()
        .map(|p| {
            format!(
                "{}|{}|{}|{}|{}-{}.src.rpm",
                p.name,
                p.version,
                p.arch.as_deref().unwrap_or(""),
                p.licenses.join(" "),
                p.source.as_deref().unwrap_or(""),
                p.source_version.as_deref().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(ours, theirs);
    let one = inv.packages.iter().find(|p| p.name == "berth-one").unwrap();
    assert_eq!(one.version, "2:1.2.3-4.fc40");
    let listed: BTreeSet<String> = run(Command::new("rpm").arg("--root").arg(root.path()).args([
        "--dbpath",
        "/var/lib/rpm",
        "-ql",
        "berth-one",
    ]))
    .lines()
    .map(str::to_string)
    .collect();
    let owned: BTreeSet<String> = one.files.iter().cloned().collect();
    assert_eq!(owned, listed);
    assert_eq!(one.location, "/var/lib/rpm/rpmdb.sqlite");
}
