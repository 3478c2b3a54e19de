//! SPDX 2.3 JSON: the image as the described package (`DOCUMENT DESCRIBES
//! Image`), every inventoried package as `Image CONTAINS Package-…`.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::{
    content_uuid, entries, image_purl, licenses, root, sanitize, sha256_hex, timestamp, Entry,
};
use crate::model::{Ecosystem, Inventory};

const IMAGE_ID: &str = "SPDXRef-Image";
const OS_ID: &str = "SPDXRef-OperatingSystem";

/// The SPDX 2.3 document of `inv`.
pub fn spdx_json(inv: &Inventory) -> Value {
    let entries = entries(inv);
    let (name, digest) = root(inv);
    let mut extracted: BTreeMap<String, String> = BTreeMap::new();

    let mut image = json!({
        "SPDXID": IMAGE_ID,
        "name": name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": "CONTAINER",
    });
    if !digest.is_empty() {
        image["versionInfo"] = json!(digest);
        image["externalRefs"] = json!([purl_ref(&image_purl(&name, &digest))]);
    }
    if let Some(hex) = sha256_hex(&digest) {
        image["checksums"] = json!([{ "algorithm": "SHA256", "checksumValue": hex }]);
    }
    let mut packages = vec![image];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": IMAGE_ID,
    })];
    if let Some(os) = &inv.os {
        let mut p = json!({
            "SPDXID": OS_ID,
            "name": os.id,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "OPERATING_SYSTEM",
        });
        if let Some(v) = &os.version_id {
            p["versionInfo"] = json!(v);
        }
        if let Some(pretty) = &os.pretty_name {
            p["description"] = json!(pretty);
        }
        packages.push(p);
        relationships.push(contains(OS_ID));
    }
    for e in &entries {
        packages.push(package(e, &mut extracted));
        relationships.push(contains(&format!("SPDXRef-{}", e.id)));
    }

    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("berth-sbom-{}", sanitize(&name)),
        "documentNamespace": format!("urn:uuid:{}", content_uuid(inv, &entries)),
        "creationInfo": {
            "created": timestamp(inv),
            "creators": [format!("Tool: berth-{}", env!("CARGO_PKG_VERSION"))],
        },
        "documentDescribes": [IMAGE_ID],
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = extracted
            .into_iter()
            .map(|(id, text)| json!({ "licenseId": id, "extractedText": text, "name": text }))
            .collect();
    }
    doc
}

fn package(e: &Entry<'_>, extracted: &mut BTreeMap<String, String>) -> Value {
    let pkg = e.pkg;
    let declared = match licenses::expression(&pkg.licenses) {
        Some((expr, refs)) => {
            extracted.extend(refs);
            expr
        }
        None => "NOASSERTION".to_string(),
    };
    let mut p = json!({
        "SPDXID": format!("SPDXRef-{}", e.id),
        "name": pkg.name,
        "versionInfo": pkg.version,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": declared,
        "copyrightText": "NOASSERTION",
        "externalRefs": [purl_ref(&e.purl)],
        "sourceInfo": source_info(e),
    });
    if matches!(
        pkg.ecosystem,
        Ecosystem::PyPI | Ecosystem::Npm | Ecosystem::CratesIo | Ecosystem::Go | Ecosystem::Maven
    ) {
        p["primaryPackagePurpose"] = json!("LIBRARY");
    }
    p
}

/// Where the package was found, for a reader of the SBOM.
fn source_info(e: &Entry<'_>) -> String {
    match &e.pkg.layer {
        Some(layer) => format!("found in {} (layer {layer})", e.pkg.location),
        None => format!("found in {}", e.pkg.location),
    }
}

fn purl_ref(purl: &str) -> Value {
    json!({
        "referenceCategory": "PACKAGE-MANAGER",
        "referenceType": "purl",
        "referenceLocator": purl,
    })
}

fn contains(id: &str) -> Value {
    json!({
        "spdxElementId": IMAGE_ID,
        "relationshipType": "CONTAINS",
        "relatedSpdxElement": id,
    })
}
