//! Finding images in storage by the names users type: ids, digests, full
//! names, and short names (`busybox` finds `docker.io/library/busybox:latest`
//! or `localhost/busybox:latest`), as podman does.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::reference::{ParsedName, Reference};
use berth_storage::{Image, Store};

/// The image `key` names in `store`.
pub fn find_image(ctx: &Context, store: &Store, key: &str) -> Result<Image> {
    find_image_name(ctx, store, key).map(|(image, _)| image)
}

/// The image `key` names in `store`, with the full name `key` stands for
/// (`busybox` → `docker.io/library/busybox:latest`); `None` when `key` is
/// an id or digest rather than a name.
pub fn find_image_name(ctx: &Context, store: &Store, key: &str) -> Result<(Image, Option<String>)> {
    match store.image(key) {
        Ok(i) => {
            let name = i.names.iter().any(|n| n == key).then(|| key.to_string());
            return Ok((i, name));
        }
        Err(berth_storage::Error::ImageNotFound(_)) => {}
        Err(e) => return Err(e.into()),
    }
    let Ok(parsed) = ParsedName::parse(key) else {
        return Err(not_found(store, key));
    };
    let mut candidates: Vec<String> = Vec::new();
    match parsed.qualified() {
        Some(r) => candidates.push(r.to_string()),
        None => {
            candidates.push(parsed.with_registry("localhost").to_string());
            for r in ctx.conf.candidates(key).unwrap_or_default() {
                candidates.push(r.to_string());
            }
        }
    }
    for c in &candidates {
        if let Ok(i) = store.image(c) {
            return Ok((i, Some(c.clone())));
        }
    }
    if parsed.registry.is_none() {
        // Any image whose name ends with /<repository>:<tag>.
        let tag = parsed.tag.clone().unwrap_or_else(|| "latest".into());
        let suffix = format!("/{}:{tag}", parsed.repository);
        let matching: Vec<Image> = store
            .images()?
            .into_iter()
            .filter(|i| i.names.iter().any(|n| n.ends_with(&suffix)))
            .collect();
        match matching.as_slice() {
            [one] => {
                let name = one.names.iter().find(|n| n.ends_with(&suffix)).cloned();
                return Ok((one.clone(), name));
            }
            [] => {}
            many => {
                return Err(Error::ShortName {
                    name: key.into(),
                    reason: format!(
                        "is ambiguous: it matches {}",
                        many.iter()
                            .flat_map(|i| i.names.iter().filter(|n| n.ends_with(&suffix)))
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
            }
        }
    }
    Err(not_found(store, key))
}

/// The error for an image not in storage, with the nearest local name when
/// `key` looks like a typo of one.
fn not_found(store: &Store, key: &str) -> Error {
    let images = store.images().unwrap_or_default();
    let hint = match crate::suggest::nearest_name(key, &images) {
        Some(near) => format!("did you mean {near}?"),
        None => format!("pull it first with `berth pull {key}`"),
    };
    Error::NoLocalImage {
        name: key.to_string(),
        hint,
    }
}

/// The name to store a local tag under: `name` qualified, short names
/// under `localhost/` as podman does.
pub fn local_name(name: &str) -> Result<String> {
    let parsed = ParsedName::parse(name)?;
    Ok(match parsed.qualified() {
        Some(r) => r.to_string(),
        None => parsed.with_registry("localhost").to_string(),
    })
}

/// The qualified reference to push `name` to.
pub fn push_reference(ctx: &Context, name: &str) -> Result<Reference> {
    crate::transport::qualify(ctx, name)
}
