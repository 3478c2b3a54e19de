//! CycloneDX 1.5 JSON: the image as `metadata.component` (type container),
//! packages as components, and one dependency entry saying the image holds
//! them all.

use serde_json::{json, Value};

use super::{content_uuid, entries, image_purl, licenses, root, sha256_hex, timestamp, Entry};
use crate::model::{Ecosystem, Inventory};

const IMAGE_REF: &str = "image";
const OS_REF: &str = "operating-system";

/// The CycloneDX 1.5 BOM of `inv`.
pub fn cyclonedx_json(inv: &Inventory) -> Value {
    let entries = entries(inv);
    let (name, digest) = root(inv);

    let mut image = json!({ "type": "container", "bom-ref": IMAGE_REF, "name": name });
    if !digest.is_empty() {
        image["version"] = json!(digest);
        image["purl"] = json!(image_purl(&name, &digest));
    }
    if let Some(hex) = sha256_hex(&digest) {
        image["hashes"] = json!([{ "alg": "SHA-256", "content": hex }]);
    }

    let mut components = Vec::new();
    let mut refs = Vec::new();
    if let Some(os) = &inv.os {
        let mut c = json!({ "type": "operating-system", "bom-ref": OS_REF, "name": os.id });
        if let Some(v) = &os.version_id {
            c["version"] = json!(v);
        }
        if let Some(pretty) = &os.pretty_name {
            c["description"] = json!(pretty);
        }
        components.push(c);
        refs.push(OS_REF.to_string());
    }
    for e in &entries {
        components.push(component(e));
        refs.push(e.id.clone());
    }
    refs.sort();

    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.5.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": format!("urn:uuid:{}", content_uuid(inv, &entries)),
        "version": 1,
        "metadata": {
            "timestamp": timestamp(inv),
            "tools": {
                "components": [{
                    "type": "application",
                    "name": "berth",
                    "version": env!("CARGO_PKG_VERSION"),
                }],
            },
            "component": image,
        },
        "components": components,
        "dependencies": [{ "ref": IMAGE_REF, "dependsOn": refs }],
    })
}

fn component(e: &Entry<'_>) -> Value {
    let pkg = e.pkg;
    let (group, name) = match (pkg.ecosystem, pkg.name.split_once(':')) {
        (Ecosystem::Maven, Some((g, a))) => (Some(g), a),
        _ => (None, pkg.name.as_str()),
    };
    let mut c = json!({
        "type": "library",
        "bom-ref": e.id,
        "name": name,
        "version": pkg.version,
        "purl": e.purl,
    });
    if let Some(g) = group {
        c["group"] = json!(g);
    }
    if !pkg.licenses.is_empty() {
        c["licenses"] = if pkg.licenses.iter().all(|l| licenses::is_expression(l)) {
            let expr = licenses::expression(&pkg.licenses)
                .map(|(e, _)| e)
                .unwrap_or_default();
            json!([{ "expression": expr }])
        } else {
            pkg.licenses
                .iter()
                .map(|l| json!({ "license": { "name": l } }))
                .collect()
        };
    }
    let mut properties = vec![json!({ "name": "berth:package:location", "value": pkg.location })];
    if let Some(layer) = &pkg.layer {
        properties.push(json!({ "name": "berth:package:layer", "value": layer }));
    }
    if let Some(arch) = &pkg.arch {
        properties.push(json!({ "name": "berth:package:arch", "value": arch }));
    }
    c["properties"] = json!(properties);
    c
}
