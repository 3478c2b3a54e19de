//! `inspect`: what an image is, read from a registry without pulling it
//! (skopeo inspect's fields) or from storage.

use crate::manifest::Descriptor;
use crate::transport::ResolvedImage;
use serde_json::{json, Map, Value};

/// The skopeo-inspect-like document for `image` named `name`
/// (`registry/repository`), with `digest` the top-level digest.
pub fn describe(
    name: &str,
    digest: &str,
    tags: Option<Vec<String>>,
    image: &ResolvedImage,
) -> Value {
    let config = image.config_json();
    let c = config.get("config").cloned().unwrap_or(Value::Null);
    let get = |v: &Value, k: &str| v.get(k).cloned().unwrap_or(Value::Null);
    let layers: Vec<Value> = image
        .manifest
        .layers
        .iter()
        .map(|l| Value::String(l.digest.to_string()))
        .collect();
    let layers_data: Vec<Value> = image.manifest.layers.iter().map(layer_data).collect();
    let mut out = Map::new();
    out.insert("Name".into(), name.into());
    out.insert("Digest".into(), digest.into());
    if let Some(tags) = tags {
        out.insert("RepoTags".into(), tags.into());
    }
    out.insert("Created".into(), get(&config, "created"));
    out.insert(
        "DockerVersion".into(),
        config
            .get("docker_version")
            .cloned()
            .unwrap_or_else(|| "".into()),
    );
    out.insert(
        "Labels".into(),
        c.get("Labels")
            .cloned()
            .filter(|l| !l.is_null())
            .unwrap_or_else(|| json!({})),
    );
    out.insert("Architecture".into(), get(&config, "architecture"));
    if let Some(v) = config.get("variant") {
        out.insert("Variant".into(), v.clone());
    }
    out.insert("Os".into(), get(&config, "os"));
    out.insert("MediaType".into(), image.media_type.clone().into());
    out.insert("Layers".into(), layers.into());
    out.insert("LayersData".into(), layers_data.into());
    out.insert("Env".into(), get(&c, "Env"));
    out.insert("Entrypoint".into(), get(&c, "Entrypoint"));
    out.insert("Cmd".into(), get(&c, "Cmd"));
    Value::Object(out)
}

fn layer_data(l: &Descriptor) -> Value {
    json!({
        "MIMEType": l.media_type,
        "Digest": l.digest.to_string(),
        "Size": l.size,
        "Annotations": l.annotations,
    })
}
