//! Images between registries, files and berth's storage: references as
//! the ecosystem parses them, `registries.conf`, `auth.json`, the
//! signature policy (`policy.json`), a client of
//! the OCI distribution API, the transports (`docker://`, `oci:`,
//! `oci-archive:`, `docker-archive:`, `dir:`, `berth:`), copies between
//! them, and the pull path into storage that every berth tool shares.
//!
//! ```no_run
//! # fn main() -> Result<(), berth_image::Error> {
//! use berth_image::{Context, progress::NoProgress};
//! let store = berth_storage::Store::open(berth_storage::StoreOptions::at("/var/lib/berth/storage"))?;
//! let ctx = Context::default();
//! let (image, reference) = berth_image::pull(&ctx, &store, "busybox", &NoProgress)?;
//! println!("{reference} is {}", image.id);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

pub mod auth;
pub mod config_paths;
mod context;
pub mod copy;
mod error;
pub mod image_config;
pub mod inspect;
mod local;
pub mod manifest;
pub mod policy;
pub mod progress;
pub mod pull;
pub mod pull_policy;
pub mod reference;
pub mod registries_conf;
pub mod registry;
mod reuse;
pub mod save_load;
mod suggest;
pub mod transport;
mod verify;

pub use context::{Context, PolicySource};
pub use copy::{CopyOptions, CopyReport};
pub use error::{Error, Result};
pub use local::{find_image, find_image_name, local_name, push_reference};
pub use manifest::{Descriptor, Platform};
pub use policy::Policy;
pub use pull_policy::{image_for_container, PullPolicy};
pub use reference::{ParsedName, Reference};
pub use registries_conf::RegistriesConf;
pub use save_load::{load, save_docker_archive, Loaded};
pub use transport::{ImageRef, ResolvedImage};

use berth_storage::{Image, Store};
use progress::Progress;
use transport::{RegistrySource, Source};

/// Pull `name` (short names through the search registries) into `store`.
/// Returns the image and the reference it was stored under. The signature
/// policy is checked before anything is fetched.
pub fn pull(
    ctx: &Context,
    store: &Store,
    name: &str,
    progress: &dyn Progress,
) -> Result<(Image, Reference)> {
    let source = RegistrySource::open_for_pull(ctx, name, &ctx.policy()?, progress)?;
    let image = transport::resolve(&source, &ctx.platform)?;
    let reference = source.reference.clone();
    let stored = pull::into_storage(
        &source,
        &image,
        store,
        vec![reference.to_string()],
        progress,
    )?;
    Ok((stored, reference))
}

/// Describe a registry image without pulling it (skopeo inspect's JSON).
pub fn inspect_remote(ctx: &Context, name: &str, with_tags: bool) -> Result<serde_json::Value> {
    let source = RegistrySource::open(ctx, name)?;
    let (top, _) = source.manifest()?;
    let image = transport::resolve(&source, &ctx.platform)?;
    let tags = if with_tags {
        Some(source.client().tags(&source.endpoint.repository)?)
    } else {
        None
    };
    let digest = berth_storage::Digest::of(&top);
    Ok(inspect::describe(
        &source.reference.name(),
        digest.as_str(),
        tags,
        &image,
    ))
}

/// What [`copy`] wrote.
#[derive(Debug)]
pub enum Copied {
    /// An image in storage.
    Stored(Image),
    /// An image elsewhere.
    Written(CopyReport),
}

/// Copy between any two transports, like `skopeo copy`. The source must
/// satisfy the signature policy; it is checked before the source is
/// opened and before anything is written.
pub fn copy(
    ctx: &Context,
    store: Option<&Store>,
    src: &ImageRef,
    dst: &ImageRef,
    opts: &CopyOptions,
    progress: &dyn Progress,
) -> Result<Copied> {
    let policy = ctx.policy()?;
    // Registry names are checked per candidate once short names resolve.
    if let Some(image) = policy::PolicyImage::for_ref(src) {
        policy.check(&image)?;
    }
    if let (ImageRef::Storage(key), ImageRef::Docker(name), Some(store)) = (src, dst, store) {
        // Layer blobs the destination registry has or can mount keep the
        // image's manifest (and digest) as pulled.
        if let Some(report) = reuse::push_stored_verbatim(ctx, store, key, name, opts, progress)? {
            return Ok(Copied::Written(report));
        }
    }
    let source: Box<dyn Source> = match src {
        ImageRef::Docker(name) => Box::new(RegistrySource::open_admitted(ctx, name, &policy)?),
        _ => transport::open_source(ctx, src, store)?,
    };
    let image = transport::resolve(source.as_ref(), &ctx.platform)?;
    if let ImageRef::Storage(name) = dst {
        let store = store.ok_or_else(|| Error::Unsupported {
            transport: "berth",
            reason: "no storage opened".into(),
        })?;
        let names = if name.is_empty() {
            source
                .names()
                .iter()
                .map(|n| local_name(n))
                .collect::<Result<Vec<_>>>()?
        } else {
            vec![local_name(name)?]
        };
        let stored = pull::into_storage(source.as_ref(), &image, store, names, progress)?;
        return Ok(Copied::Stored(stored));
    }
    let dest = transport::open_dest(ctx, dst)?;
    copy::copy_image(source.as_ref(), &image, dest, opts, progress).map(Copied::Written)
}

/// The fully qualified reference to push a `docker://NAME` to.
pub(crate) fn resolve_push_name(ctx: &Context, name: &str) -> Result<Reference> {
    transport::qualify(ctx, name)
}
