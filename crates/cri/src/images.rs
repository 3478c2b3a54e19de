//! The ImageService: pulls through the image crate's one pull path
//! (registries.conf mirrors, short-name rules, the signature policy) into
//! the shared store, so berthd's images are the CLI's and the reverse.

use crate::daemon::Daemon;
use crate::proto;
use crate::status_codes;
use base64::Engine as _;
use berth_storage::Image;
use std::collections::{HashMap, HashSet};
use tonic::Status;

fn image_key(spec: Option<&proto::ImageSpec>) -> Result<&str, Status> {
    match spec.map(|s| s.image.trim()) {
        Some(k) if !k.is_empty() => Ok(k),
        _ => Err(status_codes::invalid(
            "image spec with an image name is required",
        )),
    }
}

/// The credentials kubelet sends: user and password, or `auth` as
/// base64 `user:password` (the auth file's form).
fn credentials(auth: &proto::AuthConfig) -> Result<Option<berth_image::auth::Credentials>, Status> {
    if !auth.username.is_empty() {
        return Ok(Some(berth_image::auth::Credentials {
            username: auth.username.clone(),
            password: auth.password.clone(),
        }));
    }
    if !auth.auth.is_empty() {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.auth.trim())
            .map_err(|_| status_codes::invalid("auth is not base64"))?;
        let text =
            String::from_utf8(raw).map_err(|_| status_codes::invalid("auth is not UTF-8"))?;
        let (u, p) = text
            .split_once(':')
            .ok_or_else(|| status_codes::invalid("auth must be base64 of USER:PASSWORD"))?;
        return Ok(Some(berth_image::auth::Credentials {
            username: u.into(),
            password: p.into(),
        }));
    }
    if !auth.identity_token.is_empty() || !auth.registry_token.is_empty() {
        return Err(Status::unimplemented(
            "identity and registry tokens are not supported yet; send username and password",
        ));
    }
    Ok(None)
}

/// `PullImage`: the image's id, as CRI-O answers.
pub fn pull(d: &Daemon, req: proto::PullImageRequest) -> Result<proto::PullImageResponse, Status> {
    let name = image_key(req.image.as_ref())?;
    let mut ctx = d.ctx.clone();
    if let Some(auth) = &req.auth {
        if let Some(c) = credentials(auth)? {
            ctx.credentials = Some(c);
        }
    }
    let began = std::time::Instant::now();
    let (image, reference) = berth_image::pull(
        &ctx,
        d.engine.store(),
        name,
        &berth_image::progress::NoProgress,
    )
    .map_err(status_codes::image)?;
    tracing::info!(image = %reference, id = %image.id, "pulled");
    let bytes = d
        .engine
        .store()
        .chain_size(image.top_layer.as_deref())
        .unwrap_or(0);
    d.metrics.pull(bytes, began.elapsed());
    Ok(proto::PullImageResponse {
        image_ref: format!("sha256:{}", image.id),
    })
}

/// The image `key` names, or None when it is not in the store.
fn find(d: &Daemon, key: &str) -> Result<Option<Image>, Status> {
    let key = key.strip_prefix("sha256:").unwrap_or(key);
    match berth_image::find_image(&d.ctx, d.engine.store(), key) {
        Ok(i) => Ok(Some(i)),
        Err(
            berth_image::Error::NoLocalImage { .. }
            | berth_image::Error::ImageNotKnown(_)
            | berth_image::Error::NotFound(_)
            | berth_image::Error::Storage(berth_storage::Error::ImageNotFound(_)),
        ) => Ok(None),
        Err(e) => Err(status_codes::image(e)),
    }
}

/// The image config's `User`: a uid, or a name kubelet checks against
/// `runAsNonRoot`.
fn user_of(config: &serde_json::Value) -> (Option<proto::Int64Value>, String) {
    let user = config["config"]["User"].as_str().unwrap_or_default();
    let user = user.split(':').next().unwrap_or_default();
    match user.parse::<i64>() {
        Ok(uid) => (Some(proto::Int64Value { value: uid }), String::new()),
        Err(_) if user.is_empty() => (None, String::new()),
        Err(_) => (None, user.to_string()),
    }
}

fn describe(d: &Daemon, image: &Image) -> Result<(proto::Image, serde_json::Value), Status> {
    let store = d.engine.store();
    let config: serde_json::Value = match store.image_config(&image.id) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| Status::internal(format!("image {}: malformed config: {e}", image.id)))?,
        Err(e) => return Err(status_codes::storage(e)),
    };
    let (uid, username) = user_of(&config);
    let digest = image.manifest_digest.to_string();
    let mut repo_digests: Vec<String> = image
        .names
        .iter()
        .map(|n| format!("{}@{digest}", repository(n)))
        .collect();
    repo_digests.dedup();
    let out = proto::Image {
        id: format!("sha256:{}", image.id),
        repo_tags: image.names.clone(),
        repo_digests,
        size: store
            .chain_size(image.top_layer.as_deref())
            .map_err(status_codes::storage)?,
        uid,
        username,
        spec: Some(proto::ImageSpec {
            image: format!("sha256:{}", image.id),
            ..Default::default()
        }),
        pinned: false,
    };
    Ok((out, config))
}

/// `registry/repo:tag` → `registry/repo` (a port's colon stays).
fn repository(name: &str) -> &str {
    let name = name.split('@').next().unwrap_or(name);
    match name.rfind(':') {
        Some(i) if !name[i..].contains('/') => &name[..i],
        _ => name,
    }
}

/// `ListImages`, with kubelet's one filter (an image name).
pub fn list(
    d: &Daemon,
    req: proto::ListImagesRequest,
) -> Result<proto::ListImagesResponse, Status> {
    let filter = req
        .filter
        .and_then(|f| f.image)
        .map(|s| s.image)
        .filter(|s| !s.is_empty());
    let images = match filter {
        Some(key) => find(d, &key)?.into_iter().collect(),
        None => d.engine.store().images().map_err(status_codes::storage)?,
    };
    let images = images
        .iter()
        .map(|i| describe(d, i).map(|(img, _)| img))
        .collect::<Result<_, _>>()?;
    Ok(proto::ListImagesResponse { images })
}

/// `ImageStatus`: no image (and no error) when it is not there, as the
/// CRI asks; with `verbose`, the image config under `info`.
pub fn status(
    d: &Daemon,
    req: proto::ImageStatusRequest,
) -> Result<proto::ImageStatusResponse, Status> {
    let key = image_key(req.image.as_ref())?;
    let Some(image) = find(d, key)? else {
        return Ok(proto::ImageStatusResponse::default());
    };
    let (img, config) = describe(d, &image)?;
    let mut info = HashMap::new();
    if req.verbose {
        let verbose = serde_json::json!({
            "id": img.id,
            "names": image.names,
            "manifestDigest": image.manifest_digest.to_string(),
            "imageSpec": config,
        });
        info.insert("info".to_string(), verbose.to_string());
    }
    Ok(proto::ImageStatusResponse {
        image: Some(img),
        info,
    })
}

/// `RemoveImage`: idempotent (an image already gone is success); an image
/// a container uses is refused with FailedPrecondition.
pub fn remove(
    d: &Daemon,
    req: proto::RemoveImageRequest,
) -> Result<proto::RemoveImageResponse, Status> {
    let key = image_key(req.image.as_ref())?;
    let Some(image) = find(d, key)? else {
        return Ok(proto::RemoveImageResponse {});
    };
    // By id: every name goes, as kubelet's image GC expects.
    match d.engine.remove_image(&image.id, false) {
        Ok(_) => Ok(proto::RemoveImageResponse {}),
        Err(berth_engine::Error::Storage(berth_storage::Error::ImageNotFound(_))) => {
            Ok(proto::RemoveImageResponse {})
        }
        Err(e) => Err(status_codes::engine(e)),
    }
}

fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// `ImageFsInfo`: the bytes of the store's image layers and of its
/// containers' writable layers, both on the store's filesystem.
pub fn fs_info(d: &Daemon) -> Result<proto::ImageFsInfoResponse, Status> {
    let store = d.engine.store();
    let layers = store.layers().map_err(status_codes::storage)?;
    let mut seen = HashSet::new();
    let (mut images, mut containers) = ((0u64, 0u64), (0u64, 0u64));
    for l in &layers {
        if !seen.insert(&l.id) {
            continue;
        }
        let slot = match l.kind {
            berth_storage::LayerKind::Image => &mut images,
            berth_storage::LayerKind::Container => &mut containers,
        };
        slot.0 += l.size;
        slot.1 += 1;
    }
    let usage = |(bytes, count): (u64, u64)| proto::FilesystemUsage {
        timestamp: now_nanos(),
        fs_id: Some(proto::FilesystemIdentifier {
            mountpoint: store.root().display().to_string(),
        }),
        used_bytes: Some(proto::UInt64Value { value: bytes }),
        inodes_used: Some(proto::UInt64Value { value: count }),
    };
    Ok(proto::ImageFsInfoResponse {
        image_filesystems: vec![usage(images)],
        container_filesystems: vec![usage(containers)],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_keeps_the_port() {
        assert_eq!(
            repository("127.0.0.1:5000/busybox:1"),
            "127.0.0.1:5000/busybox"
        );
        assert_eq!(
            repository("127.0.0.1:5000/busybox"),
            "127.0.0.1:5000/busybox"
        );
        assert_eq!(
            repository("docker.io/library/busybox:latest"),
            "docker.io/library/busybox"
        );
    }

    #[test]
    fn auth_field_decodes() {
        let a = proto::AuthConfig {
            auth: base64::engine::general_purpose::STANDARD.encode("u:p"),
            ..Default::default()
        };
        let c = credentials(&a).unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.password.as_str()), ("u", "p"));
        let bad = proto::AuthConfig {
            auth: "!!".into(),
            ..Default::default()
        };
        assert_eq!(
            credentials(&bad).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
    }

    #[test]
    fn user_of_image() {
        let (uid, name) = user_of(&serde_json::json!({"config": {"User": "1000:1000"}}));
        assert_eq!(uid.map(|u| u.value), Some(1000));
        assert!(name.is_empty());
        let (uid, name) = user_of(&serde_json::json!({"config": {"User": "nobody"}}));
        assert!(uid.is_none());
        assert_eq!(name, "nobody");
    }
}
