//! The scanned image's identity from its config: id, manifest digest,
//! creation time, platform, and each layer's diff id with the history
//! line that made it.

use crate::model::{ImageInfo, LayerInfo};
use serde::Deserialize;

#[derive(Deserialize, Default)]
struct Config {
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    os: Option<String>,
    #[serde(default)]
    architecture: Option<String>,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    rootfs: RootFs,
    #[serde(default)]
    history: Vec<History>,
}

#[derive(Deserialize, Default)]
struct RootFs {
    #[serde(default)]
    diff_ids: Vec<String>,
}

#[derive(Deserialize)]
struct History {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    empty_layer: bool,
}

/// The image info of config blob `config`; the error says why it is not a
/// config.
pub fn from_config(
    reference: &str,
    id: &str,
    manifest_digest: Option<String>,
    config: &[u8],
) -> Result<ImageInfo, serde_json::Error> {
    let c: Config = serde_json::from_slice(config)?;
    // History lines that made a layer, in order, pair with the diff ids;
    // a config without history (or with fewer lines) leaves them unknown.
    let mut made: Vec<Option<String>> = c
        .history
        .into_iter()
        .filter(|h| !h.empty_layer)
        .map(|h| h.created_by)
        .collect();
    if made.len() != c.rootfs.diff_ids.len() {
        made = vec![None; c.rootfs.diff_ids.len()];
    }
    let layers = c
        .rootfs
        .diff_ids
        .into_iter()
        .zip(made)
        .map(|(diff_id, created_by)| LayerInfo {
            diff_id,
            created_by,
        })
        .collect();
    let platform = match (c.os, c.architecture) {
        (Some(os), Some(arch)) => Some(match c.variant {
            Some(v) => format!("{os}/{arch}/{v}"),
            None => format!("{os}/{arch}"),
        }),
        _ => None,
    };
    Ok(ImageInfo {
        reference: reference.to_string(),
        id: format!("sha256:{}", id.trim_start_matches("sha256:")),
        manifest_digest,
        created: c.created,
        platform,
        layers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_pair_with_the_history_lines_that_made_them() {
        let config = br#"{"os":"linux","architecture":"arm64","variant":"v8",
            "created":"2024-01-01T00:00:00Z",
            "rootfs":{"type":"layers","diff_ids":["sha256:aa","sha256:bb"]},
            "history":[{"created_by":"ADD base"},{"created_by":"ENV x=1","empty_layer":true},
                       {"created_by":"RUN apt-get install"}]}"#;
        let info = from_config("img", "cc", None, config).unwrap();
        assert_eq!(info.id, "sha256:cc");
        assert_eq!(info.platform.as_deref(), Some("linux/arm64/v8"));
        assert_eq!(info.layers[1].diff_id, "sha256:bb");
        assert_eq!(
            info.layers[1].created_by.as_deref(),
            Some("RUN apt-get install")
        );
        // History that does not match the layers names none of them.
        let config = br#"{"rootfs":{"diff_ids":["sha256:aa"]},"history":[]}"#;
        let info = from_config("img", "sha256:cc", None, config).unwrap();
        assert_eq!(info.layers[0].created_by, None);
        assert!(from_config("img", "cc", None, b"[1,2]").is_err());
    }
}
