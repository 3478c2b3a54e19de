//! SBOM writers: the documents validate against the published SPDX 2.3 and
//! CycloneDX 1.5 JSON schemas (vendored under tests/data/schemas), carry a
//! purl for every package, and come out byte-identical for the same input.

use std::path::Path;

use berth_scan::sbom::{cyclonedx_json, purl, spdx_json};
use berth_scan::{Ecosystem, ImageInfo, Inventory, LayerInfo, OsRelease, Package};
use serde_json::Value;

const IMAGE_ID: &str = "sha256:3f57d9401f8d42f986df300f0c69192fc41da28ccc8d797829467780db3dd741";
const LAYER: &str = "sha256:0aa8c3a2bb6d0b4da7a4e6f2f3e5d4c2b1a0f9e8d7c6b5a4f3e2d1c0b9a8f7e6";

fn schema(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/schemas")
        .join(name);
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
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
        layer: Some(LAYER.to_string()),
    }
}

fn inventory() -> Inventory {
    let mut libc6 = pkg(
        Ecosystem::Debian,
        "libc6",
        "2.36-9+deb12u3",
        "/var/lib/dpkg/status",
    );
    libc6.arch = Some("amd64".into());
    libc6.source = Some("glibc".into());
    libc6.licenses = vec!["GPL-2+".into(), "LGPL-2.1".into()];
    let mut bb = pkg(
        Ecosystem::Debian,
        "busybox",
        "1:1.35.0-4+b3",
        "/var/lib/dpkg/status",
    );
    bb.arch = Some("amd64".into());
    bb.source = Some("busybox".into());
    bb.source_version = Some("1:1.35.0-4".into());
    let mut lodash = pkg(
        Ecosystem::Npm,
        "lodash",
        "4.17.21",
        "/app/node_modules/lodash/package.json",
    );
    lodash.licenses = vec!["MIT".into()];
    let mut babel = pkg(
        Ecosystem::Npm,
        "@babel/core",
        "7.22.5",
        "/app/node_modules/@babel/core/package.json",
    );
    babel.licenses = vec!["(MIT OR Apache-2.0)".into()];
    let mut requests = pkg(
        Ecosystem::PyPI,
        "Requests_Toolbelt",
        "1.0.0",
        "/usr/lib/python3/dist-packages/requests_toolbelt-1.0.0.dist-info/METADATA",
    );
    requests.licenses = vec!["Apache 2.0".into()];
    Inventory {
        image: Some(ImageInfo {
            reference: "localhost/scan-test:latest".into(),
            id: IMAGE_ID.into(),
            manifest_digest: None,
            created: Some("2024-03-01T12:34:56.789012345Z".into()),
            platform: Some("linux/amd64".into()),
            layers: vec![LayerInfo {
                diff_id: LAYER.into(),
                created_by: Some("/bin/sh -c #(nop) ADD file".into()),
            }],
        }),
        os: Some(OsRelease {
            id: "debian".into(),
            version_id: Some("12".into()),
            version_codename: Some("bookworm".into()),
            pretty_name: Some("Debian GNU/Linux 12 (bookworm)".into()),
        }),
        packages: vec![
            libc6,
            bb,
            lodash.clone(),
            // The same package read twice from the same record is listed once.
            lodash,
            babel,
            requests,
            pkg(
                Ecosystem::Go,
                "github.com/sirupsen/logrus",
                "v1.9.0",
                "/usr/bin/app",
            ),
            pkg(Ecosystem::Go, "stdlib", "1.21.5", "/usr/bin/app"),
            pkg(Ecosystem::CratesIo, "serde", "1.0.188", "/usr/bin/rustapp"),
            pkg(
                Ecosystem::Maven,
                "org.apache.logging.log4j:log4j-core",
                "2.17.1",
                "/opt/app.jar!/META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
            ),
            pkg(
                Ecosystem::Alpine,
                "musl",
                "1.2.4-r2",
                "/lib/apk/db/installed",
            ),
            pkg(
                Ecosystem::Rpm,
                "openssl-libs",
                "1:3.0.7-24.el9",
                "/var/lib/rpm/rpmdb.sqlite",
            ),
        ],
        warnings: vec![],
    }
}

/// Serves CycloneDX's two neighbour schemas (referred to by relative URI)
/// from the vendored files; any other URI is an error, so nothing is fetched.
struct Vendored;

impl jsonschema::Retrieve for Vendored {
    fn retrieve(
        &self,
        uri: &jsonschema::Uri<String>,
    ) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let name = uri
            .as_str()
            .strip_prefix("http://cyclonedx.org/schema/")
            .ok_or("not a vendored schema")?;
        match name {
            "spdx.schema.json" | "jsf-0.82.schema.json" => Ok(schema(name)),
            _ => Err(format!("not a vendored schema: {uri}").into()),
        }
    }
}

fn validator(schema_name: &str) -> jsonschema::Validator {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .with_retriever(Vendored)
        .build(&schema(schema_name))
        .expect("the vendored schema compiles")
}

fn validate(schema_name: &str, doc: &Value) {
    let validator = validator(schema_name);
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{schema_name}: {errors:#?}");
}

#[test]
fn purls_for_every_ecosystem() {
    let inv = inventory();
    let os = inv.os.as_ref();
    let purls: Vec<String> = inv.packages.iter().map(|p| purl(p, os)).collect();
    assert_eq!(
        purls,
        [
            "pkg:deb/debian/libc6@2.36-9%2Bdeb12u3?arch=amd64&distro=debian-12&upstream=glibc",
            "pkg:deb/debian/busybox@1%3A1.35.0-4%2Bb3?arch=amd64&distro=debian-12&upstream=busybox%401%3A1.35.0-4",
            "pkg:npm/lodash@4.17.21",
            "pkg:npm/lodash@4.17.21",
            "pkg:npm/%40babel/core@7.22.5",
            "pkg:pypi/requests-toolbelt@1.0.0",
            "pkg:golang/github.com/sirupsen/logrus@v1.9.0",
            "pkg:golang/stdlib@1.21.5",
            "pkg:cargo/serde@1.0.188",
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.17.1",
            "pkg:apk/debian/musl@1.2.4-r2?distro=debian-12",
            "pkg:rpm/debian/openssl-libs@1%3A3.0.7-24.el9?distro=debian-12",
        ]
    );
    let alpine = OsRelease {
        id: "alpine".into(),
        version_id: Some("3.19.1".into()),
        ..Default::default()
    };
    let mut musl = inv.packages[10].clone();
    musl.arch = Some("x86_64".into());
    assert_eq!(
        purl(&musl, Some(&alpine)),
        "pkg:apk/alpine/musl@1.2.4-r2?arch=x86_64&distro=alpine-3.19.1"
    );
}

#[test]
fn spdx_document_validates_and_describes_the_image() {
    let doc = spdx_json(&inventory());
    validate("spdx-schema-2.3.json", &doc);
    assert_eq!(doc["spdxVersion"], "SPDX-2.3");
    assert_eq!(doc["creationInfo"]["created"], "2024-03-01T12:34:56Z");
    let packages = doc["packages"].as_array().unwrap();
    // The image, the OS and 11 distinct packages (the duplicate lodash is dropped).
    assert_eq!(packages.len(), 13);
    let image = &packages[0];
    assert_eq!(image["SPDXID"], "SPDXRef-Image");
    assert_eq!(image["versionInfo"], IMAGE_ID);
    assert_eq!(
        image["checksums"][0]["checksumValue"],
        IMAGE_ID.trim_start_matches("sha256:")
    );
    assert_eq!(
        image["externalRefs"][0]["referenceLocator"],
        format!(
            "pkg:oci/scan-test@sha256%3A{}?repository_url=localhost%2Fscan-test&tag=latest",
            &IMAGE_ID[7..]
        )
    );
    let rels = doc["relationships"].as_array().unwrap();
    assert_eq!(rels[0]["relationshipType"], "DESCRIBES");
    let contained: Vec<&str> = rels[1..]
        .iter()
        .map(|r| r["relatedSpdxElement"].as_str().unwrap())
        .collect();
    for p in &packages[1..] {
        assert!(
            contained.contains(&p["SPDXID"].as_str().unwrap()),
            "{} not contained",
            p["SPDXID"]
        );
    }
    // Every package carries its purl.
    for p in &packages[2..] {
        let locator = p["externalRefs"][0]["referenceLocator"].as_str().unwrap();
        assert!(locator.starts_with("pkg:"), "{locator}");
    }
    // Licences: SPDX ids pass through, Debian's `GPL-2+` style and free text
    // become LicenseRefs that the document defines.
    let libc = packages.iter().find(|p| p["name"] == "libc6").unwrap();
    assert_eq!(libc["licenseDeclared"], "LicenseRef-GPL-2- AND LGPL-2.1");
    let babel = packages
        .iter()
        .find(|p| p["name"] == "@babel/core")
        .unwrap();
    assert_eq!(babel["licenseDeclared"], "(MIT OR Apache-2.0)");
    let refs: Vec<&str> = doc["hasExtractedLicensingInfos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["licenseId"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["LicenseRef-Apache-2.0", "LicenseRef-GPL-2-"]);
}

#[test]
fn cyclonedx_bom_validates_with_the_image_as_root() {
    let bom = cyclonedx_json(&inventory());
    validate("bom-1.5.schema.json", &bom);
    let root = &bom["metadata"]["component"];
    assert_eq!(root["type"], "container");
    assert_eq!(
        root["hashes"][0]["content"],
        IMAGE_ID.trim_start_matches("sha256:")
    );
    let components = bom["components"].as_array().unwrap();
    assert_eq!(components.len(), 12);
    assert_eq!(components[0]["type"], "operating-system");
    let deps = bom["dependencies"].as_array().unwrap();
    assert_eq!(deps.len(), 1);
    assert_eq!(deps[0]["ref"], root["bom-ref"]);
    let refs: Vec<&Value> = components.iter().map(|c| &c["bom-ref"]).collect();
    assert_eq!(deps[0]["dependsOn"].as_array().unwrap().len(), refs.len());
    for r in refs {
        assert!(deps[0]["dependsOn"].as_array().unwrap().contains(r));
    }
    let log4j = components
        .iter()
        .find(|c| c["name"] == "log4j-core")
        .unwrap();
    assert_eq!(log4j["group"], "org.apache.logging.log4j");
    let requests = components
        .iter()
        .find(|c| c["name"] == "Requests_Toolbelt")
        .unwrap();
    assert_eq!(requests["licenses"][0]["license"]["name"], "Apache 2.0");
    let lodash = components.iter().find(|c| c["name"] == "lodash").unwrap();
    assert_eq!(lodash["licenses"][0]["expression"], "MIT");
}

#[test]
fn output_is_deterministic_and_order_independent() {
    let inv = inventory();
    let mut shuffled = inv.clone();
    shuffled.packages.reverse();
    for write in [spdx_json, cyclonedx_json] {
        let a = serde_json::to_string(&write(&inv)).unwrap();
        assert_eq!(a, serde_json::to_string(&write(&inv)).unwrap());
        assert_eq!(a, serde_json::to_string(&write(&shuffled)).unwrap());
    }
    // A different package set is a different document.
    let mut fewer = inv.clone();
    fewer.packages.pop();
    assert_ne!(
        spdx_json(&inv)["documentNamespace"],
        spdx_json(&fewer)["documentNamespace"]
    );
}

#[test]
fn an_inventory_without_image_or_os_still_validates() {
    let inv = Inventory {
        packages: vec![pkg(Ecosystem::Npm, "x", "1.0.0", "/x/package.json")],
        ..Default::default()
    };
    validate("spdx-schema-2.3.json", &spdx_json(&inv));
    validate("bom-1.5.schema.json", &cyclonedx_json(&inv));
    validate(
        "bom-1.5.schema.json",
        &cyclonedx_json(&Inventory::default()),
    );
}

#[test]
fn the_validator_rejects_a_broken_document() {
    // So a passing validation means something: drop a required field.
    let mut doc = spdx_json(&inventory());
    doc.as_object_mut().unwrap().remove("creationInfo");
    assert!(!validator("spdx-schema-2.3.json").is_valid(&doc));
    let mut bom = cyclonedx_json(&inventory());
    bom["components"][0]["type"] = "not-a-type".into();
    bom["serialNumber"] = "urn:uuid:not-a-uuid".into();
    assert_eq!(
        validator("bom-1.5.schema.json").iter_errors(&bom).count(),
        2
    );
}

#[test]
fn sbom_of_a_large_inventory_takes_under_a_second() {
    // Issue 18's target: the full SBOM of a debootstrap tree under 1 s.
    // Such a tree holds 100-250 packages; here 600, with 20 files each, in
    // the unoptimised test build on a shared machine (both formats).
    let mut inv = inventory();
    let template = inv.packages[0].clone();
    inv.packages = (0..600)
        .map(|i| {
            let mut p = template.clone();
            p.name = format!("lib{i}");
            p.files = (0..20)
                .map(|f| format!("/usr/lib/x86_64-linux-gnu/lib{i}.so.{f}"))
                .collect();
            p
        })
        .collect();
    let start = std::time::Instant::now();
    let spdx = serde_json::to_vec(&spdx_json(&inv)).unwrap();
    let cdx = serde_json::to_vec(&cyclonedx_json(&inv)).unwrap();
    let took = start.elapsed();
    eprintln!(
        "SPDX {} bytes + CycloneDX {} bytes for 600 packages in {took:?}",
        spdx.len(),
        cdx.len()
    );
    assert!(took < std::time::Duration::from_secs(1), "{took:?}");
}
