//! `berth scan` and `berth diff --packages` on a real Debian image
//! (a debootstrap tree imported with `berth import`), a container made
//! from it, and the image committed from that container: packages as dpkg
//! says, which layer added each, what changed between two images, and
//! nothing left mounted.

mod engine_env;

use berth_testkit::{debian_tree, is_root, require};
use engine_env::Env;
use serde_json::Value;
use std::process::{Command, Stdio};

fn mounts_under(env: &Env) -> Vec<String> {
    let root = env.dir.path().display().to_string();
    std::fs::read_to_string("/proc/mounts")
        .unwrap()
        .lines()
        .filter(|l| l.contains(&root))
        .map(str::to_string)
        .collect()
}

fn import(env: &Env, tree: &std::path::Path, name: &str) {
    let mut tar = Command::new("tar")
        .arg("-C")
        .arg(tree)
        .args(["--numeric-owner", "-c", "."])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = env
        .command(&["import", "-q", "-", name])
        .stdin(tar.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(tar.wait().unwrap().success());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn scan(env: &Env, name: &str) -> Value {
    serde_json::from_str(&env.ok(&["scan", "--format", "json", name])).unwrap()
}

fn package<'a>(inv: &'a Value, name: &str) -> &'a Value {
    inv["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{name} missing"))
}

fn dpkg_count(tree: &std::path::Path) -> usize {
    let out = Command::new("dpkg-query")
        .arg("--admindir")
        .arg(tree.join("var/lib/dpkg"))
        .arg("-W")
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().lines().count()
}

/// In the container: a new package record, another version of
/// `hostname`, and `gzip` left as config files only.
const CHANGE_DB: &str = r#"set -e
cd /var/lib/dpkg
printf '\nPackage: berth-extra\nStatus: install ok installed\nVersion: 1.0-1\nArchitecture: all\n' >> status
echo /usr/share/berth-extra > info/berth-extra.list
sed -i '/^Package: hostname$/,/^$/ s/^Version: .*/Version: 99.0-1/' status
sed -i '/^Package: gzip$/,/^$/ s/^Status: .*/Status: deinstall ok config-files/' status
"#;

#[test]
fn scan_and_package_diff_of_a_debian_image() {
    require!(is_root(), "images and containers need root");
    let tree = debian_tree();
    require!(tree.is_ok(), format!("no Debian tree: {:?}", tree.err()));
    let tree = tree.unwrap();
    let env = Env::new();
    import(&env, &tree, "deb");

    let inv = scan(&env, "deb");
    assert_eq!(inv["os"]["version_codename"], "bookworm");
    let pkgs = inv["packages"].as_array().unwrap();
    assert_eq!(pkgs.len(), dpkg_count(&tree));
    let layers = inv["image"]["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 1);
    let base = layers[0]["diff_id"].as_str().unwrap().to_string();
    let inspected = &env.inspect("deb");
    assert_eq!(inspected["RootFS"]["Layers"][0], base.as_str());
    assert!(inv["image"]["id"]
        .as_str()
        .unwrap()
        .ends_with(inspected["Id"].as_str().unwrap()));
    assert!(pkgs.iter().all(|p| p["layer"] == base.as_str()), "{pkgs:?}");
    let table = env.ok(&["scan", "deb"]);
    assert!(table.contains("Debian GNU/Linux 12 (bookworm)"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("bash ") && l.contains(&base[7..19])),
        "{table}"
    );

    // A container's tree: its own changes count, from no image layer.
    env.ok(&[
        "run",
        "--name",
        "c",
        "--network",
        "none",
        "deb",
        "sh",
        "-c",
        CHANGE_DB,
    ]);
    let ctr = scan(&env, "c");
    assert!(package(&ctr, "berth-extra").get("layer").is_none());
    assert_eq!(package(&ctr, "hostname")["version"], "99.0-1");
    assert!(ctr["packages"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["name"] != "gzip"));

    // Committed: the new package comes from the new top layer.
    env.ok(&["commit", "-q", "c", "deb2"]);
    let inv2 = scan(&env, "deb2");
    let layers2 = inv2["image"]["layers"].as_array().unwrap();
    assert_eq!(layers2.len(), 2);
    assert_eq!(layers2[0]["diff_id"], base.as_str());
    assert_eq!(
        package(&inv2, "berth-extra")["layer"],
        layers2[1]["diff_id"]
    );
    assert_eq!(package(&inv2, "bash")["layer"], base.as_str());

    // Package differences from deb to deb2.
    let d: Value =
        serde_json::from_str(&env.ok(&["diff", "--packages", "--format", "json", "deb2", "deb"]))
            .unwrap();
    assert_eq!(d["added"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["added"][0]["name"], "berth-extra");
    assert_eq!(d["removed"].as_array().unwrap().len(), 1, "{d}");
    assert_eq!(d["removed"][0]["name"], "gzip");
    // Debian's ordering places 99.0-1 above bookworm's hostname.
    let changes = d["upgraded"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{d}");
    assert_eq!(changes[0]["name"], "hostname");
    assert_eq!(changes[0]["to"], "99.0-1");
    assert!(d["downgraded"].as_array().unwrap().is_empty(), "{d}");
    assert!(d["changed"].as_array().unwrap().is_empty(), "{d}");
    let table = env.ok(&["diff", "--packages", "deb2", "deb"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("added") && l.contains("berth-extra")),
        "{table}"
    );
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("removed") && l.contains("gzip")),
        "{table}"
    );

    // Bad input: clear errors, exit 125.
    for args in [
        &["scan", "nosuch"][..],
        &["diff", "--packages", "deb", "nosuch"],
        &["diff", "nosuch", "deb"],
    ] {
        let out = env.berth(args);
        assert_eq!(out.status.code(), Some(125), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("nosuch not found: no such container or image"),
            "{err}"
        );
    }
    let out = env.berth(&["diff", "--packages", "deb"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(String::from_utf8_lossy(&out.stderr).contains("give OTHER"));
    let out = env.berth(&["scan", "--format", "yaml", "deb"]);
    assert_eq!(out.status.code(), Some(125));

    assert!(mounts_under(&env).is_empty(), "{:?}", mounts_under(&env));
    env.ok(&["rm", "c"]);
}

/// OSV records as osv.dev exports them: `hostname` is fixed only in a
/// version above the image's, `bash` in one below it.
const OSV_HOSTNAME: &str = r#"{"schema_version":"1.6.0","id":"DSA-9999-1",
"aliases":["CVE-2099-0001"],"summary":"hostname: test advisory",
"affected":[{"package":{"ecosystem":"Debian:12","name":"hostname"},
"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"99.0-1"}]}]}],
"database_specific":{"severity":"high"}}"#;
const OSV_BASH: &str = r#"{"schema_version":"1.6.0","id":"DSA-9999-2",
"affected":[{"package":{"ecosystem":"Debian:12","name":"bash"},
"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"1.0-1"}]}]}],
"database_specific":{"severity":"critical"}}"#;

#[test]
fn vulnerabilities_and_sboms_of_a_debian_image() {
    require!(is_root(), "images and containers need root");
    let tree = debian_tree();
    require!(tree.is_ok(), format!("no Debian tree: {:?}", tree.err()));
    let tree = tree.unwrap();
    let env = Env::new();
    import(&env, &tree, "deb");
    let db = env.dir.path().join("osv/Debian");
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("DSA-9999-1.json"), OSV_HOSTNAME).unwrap();
    std::fs::write(db.join("DSA-9999-2.json"), OSV_BASH).unwrap();
    std::fs::write(db.join("broken.json"), "{not json").unwrap();
    let db = env.dir.path().join("osv");
    let db = db.to_str().unwrap();

    let out = env.berth(&["scan", "--vulns", "--db", db, "--format", "json", "deb"]);
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.json"), "{err}");
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let found = doc["vulnerabilities"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], "DSA-9999-1");
    assert_eq!(found[0]["package"], "hostname");
    assert_eq!(found[0]["fixed"], "99.0-1");
    assert_eq!(found[0]["installed"], package(&doc, "hostname")["version"]);
    let table = env.ok(&["scan", "--vulns", "--db", db, "deb"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("DSA-9999-1") && l.contains("HIGH")),
        "{table}"
    );
    // --fail-on: exit 1 at or below the finding's severity, 0 above it.
    let out = env.berth(&["scan", "--vulns", "--db", db, "--fail-on", "high", "deb"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 vulnerabilities at or above HIGH"));
    env.ok(&[
        "scan",
        "--vulns",
        "--db",
        db,
        "--fail-on",
        "critical",
        "deb",
    ]);
    let out = env.berth(&["scan", "--vulns", "--db", "/nonexistent-osv", "deb"]);
    assert_eq!(out.status.code(), Some(125));
    let out = env.berth(&["scan", "--vulns", "deb"]);
    assert_ne!(out.status.code(), Some(0), "--vulns needs --db");

    // SBOMs: every package with its purl, the image as the root.
    let n = dpkg_count(&tree);
    let spdx_file = env.dir.path().join("deb.spdx.json");
    env.ok(&[
        "sbom",
        "--format",
        "spdx-json",
        "-o",
        spdx_file.to_str().unwrap(),
        "deb",
    ]);
    let spdx: Value = serde_json::from_slice(&std::fs::read(&spdx_file).unwrap()).unwrap();
    assert_eq!(spdx["spdxVersion"], "SPDX-2.3");
    let packages = spdx["packages"].as_array().unwrap();
    assert_eq!(packages.len(), n + 2, "the image, its OS and its packages");
    let os = packages
        .iter()
        .find(|p| p["primaryPackagePurpose"] == "OPERATING_SYSTEM");
    assert_eq!(os.unwrap()["versionInfo"], "12", "{os:?}");
    let bash = packages.iter().find(|p| p["name"] == "bash").unwrap();
    let purl = bash["externalRefs"][0]["referenceLocator"]
        .as_str()
        .unwrap();
    assert!(purl.starts_with("pkg:deb/debian/bash@"), "{purl}");
    assert!(purl.contains("distro=debian-12"), "{purl}");
    let cdx: Value =
        serde_json::from_str(&env.ok(&["sbom", "--format", "cyclonedx-json", "deb"])).unwrap();
    assert_eq!(cdx["bomFormat"], "CycloneDX");
    assert_eq!(cdx["specVersion"], "1.5");
    let components = cdx["components"].as_array().unwrap();
    assert_eq!(components.len(), n + 1, "the OS and the packages");
    assert!(components.iter().any(|c| c["type"] == "operating-system"));
    // The root is the image, named by its manifest digest.
    let digest = env.inspect("deb")["Digest"].as_str().unwrap().to_string();
    let root = &cdx["metadata"]["component"];
    assert_eq!(root["type"], "container", "{root}");
    assert_eq!(root["version"], digest.as_str(), "{root}");
    let out = env.berth(&["sbom", "--format", "xml", "deb"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(mounts_under(&env).is_empty(), "{:?}", mounts_under(&env));
}
