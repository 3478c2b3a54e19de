//! `volume ls --filter`: podman's keys over berth's volumes.

use berth_engine::{Engine, VolumeInfo};

/// The volumes that pass every filter key (one of a key's values each).
pub fn filtered(engine: &Engine, filters: &[String]) -> anyhow::Result<Vec<VolumeInfo>> {
    let mut parsed = Vec::new();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: must be KEY=VALUE"))?;
        match k {
            "name" | "driver" | "label" | "dangling" => {}
            _ => anyhow::bail!("invalid volume filter {k:?} (name, driver, label, dangling)"),
        }
        if k == "dangling" && v != "true" && v != "false" {
            anyhow::bail!("invalid dangling filter {v:?}: true or false");
        }
        parsed.push((k, v));
    }
    let mut out = Vec::new();
    for v in engine.volumes()? {
        let mut keys: Vec<&str> = parsed.iter().map(|(k, _)| *k).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut keep = true;
        for key in keys {
            let mut any = false;
            for (_, want) in parsed.iter().filter(|(k, _)| *k == key) {
                any |= match key {
                    "name" => v.name.contains(want),
                    "driver" => v.driver == *want,
                    // berth's volumes carry no labels yet: none matches.
                    "label" => false,
                    "dangling" => engine.volume_users(&v.name)?.is_empty() == (*want == "true"),
                    _ => false,
                };
            }
            keep &= any;
        }
        if keep {
            out.push(v);
        }
    }
    Ok(out)
}

/// A volume as podman 4.3's `volume inspect` and `volume ls --format json`
/// print it, plus berth's `Anonymous`.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeJson {
    name: String,
    driver: String,
    mountpoint: std::path::PathBuf,
    created_at: String,
    labels: std::collections::BTreeMap<String, String>,
    scope: &'static str,
    options: std::collections::BTreeMap<String, String>,
    mount_count: u32,
    needs_copy_up: bool,
    needs_chown: bool,
    anonymous: bool,
}

impl From<VolumeInfo> for VolumeJson {
    fn from(v: VolumeInfo) -> VolumeJson {
        VolumeJson {
            name: v.name,
            driver: v.driver,
            mountpoint: v.mountpoint,
            created_at: v.created_at,
            labels: Default::default(),
            scope: "local",
            options: Default::default(),
            mount_count: 0,
            needs_copy_up: v.needs_copy_up,
            needs_chown: true,
            anonymous: v.anonymous,
        }
    }
}
