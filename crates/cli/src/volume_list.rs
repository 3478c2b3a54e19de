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
