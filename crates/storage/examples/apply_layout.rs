//! Apply every layer of an OCI image layout to a store and record the
//! image: what a pull does once the blobs are local. Used by
//! `bench/storage/`.
//!
//! `apply_layout <oci-layout-dir> <store-root> [overlay|vfs]`

use berth_storage::{ApplyOptions, Digest, DriverKind, NewImage, Store, StoreOptions};
use std::error::Error;
use std::fs;
use std::path::Path;

fn blob(layout: &Path, digest: &str) -> std::path::PathBuf {
    layout
        .join("blobs/sha256")
        .join(digest.trim_start_matches("sha256:"))
}

fn json(path: &Path) -> Result<serde_json::Value, Box<dyn Error>> {
    Ok(serde_json::from_slice(&fs::read(path)?)?)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        return Err("usage: apply_layout <oci-layout-dir> <store-root> [overlay|vfs]".into());
    }
    let layout = Path::new(&args[1]);
    let driver = match args.get(3).map(String::as_str) {
        Some("vfs") => Some(DriverKind::Vfs),
        Some("overlay") => Some(DriverKind::Overlay),
        _ => None,
    };
    let store = Store::open(StoreOptions {
        root: args[2].clone().into(),
        driver,
        sync_layers: false,
    })?;
    let index = json(&layout.join("index.json"))?;
    let manifest_digest = index["manifests"][0]["digest"]
        .as_str()
        .ok_or("index.json: no manifest")?;
    let manifest_bytes = fs::read(blob(layout, manifest_digest))?;
    let manifest: serde_json::Value = serde_json::from_slice(&manifest_bytes)?;
    let config_digest = manifest["config"]["digest"]
        .as_str()
        .ok_or("manifest: no config")?;
    let config_bytes = fs::read(blob(layout, config_digest))?;
    let config: serde_json::Value = serde_json::from_slice(&config_bytes)?;
    let diff_ids = config["rootfs"]["diff_ids"]
        .as_array()
        .ok_or("config: no diff_ids")?;
    let layers = manifest["layers"].as_array().ok_or("manifest: no layers")?;
    let lease = store.lease()?;
    let mut blobs = Vec::new();
    for (layer, diff_id) in layers.iter().zip(diff_ids) {
        let digest = layer["digest"].as_str().ok_or("layer without digest")?;
        let opts = ApplyOptions {
            compressed_digest: Some(digest.parse::<Digest>()?),
            diff_digest: Some(diff_id.as_str().ok_or("bad diff id")?.parse::<Digest>()?),
        };
        blobs.push((fs::File::open(blob(layout, digest))?, opts));
    }
    let applied = store.apply_layers(&lease, None, blobs)?;
    let parent = applied.last().map(|l| l.id.clone());
    let image = store.create_image(NewImage {
        top_layer: parent,
        names: vec!["bench:latest".into()],
        manifest: manifest_bytes,
        config: config_bytes,
    })?;
    println!("{}", image.id);
    Ok(())
}
