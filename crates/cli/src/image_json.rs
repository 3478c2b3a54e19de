//! Images in podman 4.3's JSON shapes: `images --format json` rows and
//! image `inspect`, from the store's records and the image's own config
//! (its real `Created`, labels and history, not the time it was stored).

use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// What `images` and `inspect` need of one stored image.
pub struct ImageFacts {
    pub image: berth_storage::Image,
    /// The image config, parsed loosely (a field it lacks is null).
    pub config: Value,
    /// The manifest, likewise.
    pub manifest: Value,
    /// The layers' size, shared layers counted once per image.
    pub size: u64,
    /// Containers made from it.
    pub containers: usize,
}

impl ImageFacts {
    pub fn of(
        store: &berth_storage::Store,
        image: berth_storage::Image,
        containers: usize,
    ) -> Self {
        let read = |b: Result<Vec<u8>, berth_storage::Error>| {
            b.ok()
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(Value::Null)
        };
        ImageFacts {
            config: read(store.image_config(&image.id)),
            manifest: read(store.image_manifest(&image.id)),
            size: crate::images::layers_size(
                store,
                image.top_layer.as_deref(),
                &mut Default::default(),
            ),
            containers,
            image,
        }
    }

    /// The config's `created`, or the time the image was stored.
    pub fn created_rfc3339(&self) -> String {
        self.config["created"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| {
                humantime::format_rfc3339_seconds(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.image.created),
                )
                .to_string()
            })
    }

    /// [`ImageFacts::created_rfc3339`] in seconds since the epoch.
    pub fn created_epoch(&self) -> i64 {
        humantime::parse_rfc3339_weak(&self.created_rfc3339())
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs() as i64)
            .unwrap_or(self.image.created as i64)
    }

    pub fn labels(&self) -> Option<BTreeMap<String, String>> {
        serde_json::from_value(self.config["config"]["Labels"].clone()).ok()
    }

    /// `name@digest` for each repository the image has a name in.
    pub fn repo_digests(&self) -> Vec<String> {
        let digest = self.image.manifest_digest.to_string();
        let mut out: Vec<String> = self
            .image
            .names
            .iter()
            .map(|n| format!("{}@{digest}", split_name(n).0))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn dangling(&self) -> bool {
        self.image.names.is_empty()
    }
}

/// `repo:tag` → (`repo`, `tag`); a name without a tag has `<none>`.
pub fn split_name(name: &str) -> (String, String) {
    let name = name.split('@').next().unwrap_or(name);
    match name.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
        Some((r, t)) => (r.to_string(), t.to_string()),
        None => (name.to_string(), "<none>".into()),
    }
}

/// One row of `images --format json`.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImagesEntry {
    pub id: String,
    pub parent_id: String,
    pub repo_tags: Option<Vec<String>>,
    pub repo_digests: Vec<String>,
    pub size: u64,
    pub shared_size: u64,
    pub virtual_size: u64,
    pub labels: Option<BTreeMap<String, String>>,
    pub containers: usize,
    pub names: Vec<String>,
    pub digest: String,
    pub history: Vec<String>,
    pub created: i64,
    pub created_at: String,
}

pub fn images_entry(f: &ImageFacts) -> ImagesEntry {
    ImagesEntry {
        id: f.image.id.clone(),
        parent_id: String::new(),
        repo_tags: None,
        repo_digests: f.repo_digests(),
        size: f.size,
        shared_size: 0,
        virtual_size: f.size,
        labels: f.labels(),
        containers: f.containers,
        names: f.image.names.clone(),
        digest: f.image.manifest_digest.to_string(),
        history: f.image.names.clone(),
        created: f.created_epoch(),
        created_at: f.created_rfc3339(),
    }
}

/// `inspect` of an image, podman's shape.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImageInspect {
    id: String,
    digest: String,
    repo_tags: Vec<String>,
    repo_digests: Vec<String>,
    parent: String,
    comment: String,
    created: String,
    config: Value,
    version: String,
    author: String,
    architecture: Value,
    os: Value,
    size: u64,
    virtual_size: u64,
    #[serde(rename = "RootFS")]
    root_fs: Value,
    labels: Option<BTreeMap<String, String>>,
    annotations: BTreeMap<String, String>,
    manifest_type: Value,
    user: String,
    history: Value,
    names_history: Vec<String>,
}

pub fn inspect(f: &ImageFacts) -> ImageInspect {
    let c = &f.config;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let rootfs = serde_json::json!({
        "Type": c["rootfs"]["type"],
        "Layers": c["rootfs"]["diff_ids"],
    });
    ImageInspect {
        id: f.image.id.clone(),
        digest: f.image.manifest_digest.to_string(),
        repo_tags: f.image.names.clone(),
        repo_digests: f.repo_digests(),
        parent: String::new(),
        comment: text(&c["comment"]),
        created: f.created_rfc3339(),
        config: if c["config"].is_null() {
            serde_json::json!({})
        } else {
            c["config"].clone()
        },
        version: text(&c["docker_version"]),
        author: text(&c["author"]),
        architecture: c["architecture"].clone(),
        os: c["os"].clone(),
        size: f.size,
        virtual_size: f.size,
        root_fs: rootfs,
        labels: f.labels(),
        annotations: serde_json::from_value(f.manifest["annotations"].clone()).unwrap_or_default(),
        manifest_type: f.manifest["mediaType"].clone(),
        user: text(&c["config"]["User"]),
        history: if c["history"].is_null() {
            serde_json::json!([])
        } else {
            c["history"].clone()
        },
        names_history: f.image.names.clone(),
    }
}

/// A size as podman prints it: decimal units, three significant digits
/// (go-units' HumanSize).
pub fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{s} {}", units[u])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_podman_s() {
        for (n, want) in [
            (0, "0 B"),
            (999, "999 B"),
            (2_132_634, "2.13 MB"),
            (77_800_000, "77.8 MB"),
            (123_000_000, "123 MB"),
            (2_100_000, "2.1 MB"),
            (1_000_000_000, "1 GB"),
        ] {
            assert_eq!(human_size(n), want, "{n}");
        }
    }

    #[test]
    fn names_split_into_repository_and_tag() {
        assert_eq!(
            split_name("localhost:5000/a/b:v1"),
            ("localhost:5000/a/b".into(), "v1".into())
        );
        assert_eq!(
            split_name("localhost:5000/a/b"),
            ("localhost:5000/a/b".into(), "<none>".into())
        );
    }
}
