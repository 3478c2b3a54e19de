//! The dpkg inventory of a real Debian tree (debootstrap minbase bookworm)
//! equals what dpkg itself says about the same tree, package for package.

use berth_testkit::{debian_tree, require};
use std::collections::BTreeSet;
use std::process::Command;

fn dpkg_query(admindir: &str, args: &[&str]) -> String {
    let out = Command::new("dpkg-query")
        .args(["--admindir", admindir])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn dpkg_inventory_equals_dpkg_query() {
    let tree = debian_tree();
    require!(tree.is_ok(), format!("no Debian tree: {:?}", tree.err()));
    let tree = tree.unwrap();
    let admindir = tree.join("var/lib/dpkg").display().to_string();
    let scan = berth_scan::scan_tree(&tree).unwrap();
    let inv = &scan.inventory;
    assert!(inv.warnings.is_empty(), "{:#?}", inv.warnings);

    let theirs: BTreeSet<String> = dpkg_query(
        &admindir,
        &["-W", "-f", "${Package}\t${Version}\t${Architecture}\n"],
    )
    .lines()
    .map(str::to_string)
    .collect();
    let ours: BTreeSet<String> = inv
        .packages
        .iter()
        .filter(|p| p.ecosystem == berth_scan::Ecosystem::Debian)
        .map(|p| {
            format!(
                "{}\t{}\t{}",
                p.name,
                p.version,
                p.arch.as_deref().unwrap_or("")
            )
        })
        .collect();
    assert!(theirs.len() > 50, "{theirs:?}");
    assert_eq!(ours, theirs);

    // Files: what `dpkg-query -L` lists (without its "/.").
    let bash = inv.packages.iter().find(|p| p.name == "bash").unwrap();
    let listed: BTreeSet<String> = dpkg_query(&admindir, &["-L", "bash"])
        .lines()
        .filter(|l| *l != "/.")
        .map(str::to_string)
        .collect();
    let owned: BTreeSet<String> = bash.files.iter().cloned().collect();
    assert_eq!(owned, listed);

    // Source packages as `Source:` says, with "(version)" apart.
    let src = dpkg_query(
        &admindir,
        &[
            "-W",
            "-f",
            "${Package}\t${source:Package}\t${source:Version}\n",
        ],
    );
    for line in src.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let p = inv.packages.iter().find(|p| p.name == f[0]).unwrap();
        assert_eq!(p.source.as_deref().unwrap_or(&p.name), f[1], "{line}");
        let version = p.source_version.as_deref().unwrap_or(&p.version);
        assert_eq!(version, f[2], "{line}");
    }

    // Licences from machine-readable copyright files.
    let with_licence = inv
        .packages
        .iter()
        .filter(|p| !p.licenses.is_empty())
        .count();
    assert!(with_licence > inv.packages.len() / 2, "{with_licence}");
    let os = inv.os.as_ref().unwrap();
    assert_eq!(
        (os.id.as_str(), os.version_codename.as_deref()),
        ("debian", Some("bookworm"))
    );
}
