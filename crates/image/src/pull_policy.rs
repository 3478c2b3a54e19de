//! When `run`/`create` pull their image: podman's `--pull` policies over
//! the one pull path ([`crate::pull()`]), short names resolved the same way.

use crate::context::Context;
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::transport::{self, RegistrySource};
use berth_storage::{Image, Store};

/// podman's `--pull` values (and the aliases podman accepts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PullPolicy {
    /// Pull only when no local image has the name.
    #[default]
    Missing,
    /// Pull every time; a failed pull is an error.
    Always,
    /// Never pull; a missing image is an error.
    Never,
    /// Pull when the registry's manifest digest differs from the local
    /// one; errors reaching the registry fall back to the local image.
    Newer,
}

impl std::str::FromStr for PullPolicy {
    type Err = Error;
    fn from_str(s: &str) -> Result<PullPolicy> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "missing" | "ifmissing" | "ifnotpresent" => PullPolicy::Missing,
            "always" | "true" => PullPolicy::Always,
            "never" | "false" => PullPolicy::Never,
            "newer" | "ifnewer" => PullPolicy::Newer,
            _ => return Err(Error::PullPolicy(s.to_string())),
        })
    }
}

/// The image a container of `name` runs, pulled first when `policy` says
/// so. Returns the image in storage.
pub fn image_for_container(
    ctx: &Context,
    store: &Store,
    name: &str,
    policy: PullPolicy,
    progress: &dyn Progress,
) -> Result<Image> {
    let (local, not_local) = match crate::find_image(ctx, store, name) {
        Ok(i) => (Some(i), None),
        Err(e @ Error::NoLocalImage { .. }) => (None, Some(e)),
        Err(e) => return Err(e),
    };
    match (policy, local) {
        (PullPolicy::Never, None) => Err(Error::ImageNotKnown(name.to_string())),
        (PullPolicy::Never | PullPolicy::Missing, Some(i)) => Ok(i),
        (PullPolicy::Missing | PullPolicy::Always | PullPolicy::Newer, None) => {
            match crate::pull(ctx, store, name, progress) {
                Ok((image, _)) => Ok(image),
                // A short name with no registry to search: nothing could be
                // pulled, and "not found locally" with its hint is the answer.
                Err(Error::ShortName { .. }) if not_local.is_some() => {
                    Err(not_local.unwrap_or(Error::ImageNotKnown(name.to_string())))
                }
                // A typo of a local name is likelier than a missing image.
                Err(e) => match crate::suggest::nearest_name(name, &store.images()?) {
                    Some(near) => Err(Error::NoLocalImage {
                        name: name.to_string(),
                        hint: format!("did you mean {near}? (pulling it failed: {e})"),
                    }),
                    None => Err(e),
                },
            }
        }
        (PullPolicy::Always, Some(_)) => Ok(crate::pull(ctx, store, name, progress)?.0),
        (PullPolicy::Newer, Some(local)) => match registry_differs(ctx, store, name, &local) {
            Ok(false) => Ok(local),
            Ok(true) => Ok(crate::pull(ctx, store, name, progress)?.0),
            Err(e) => {
                // podman: "Pull errors are suppressed if a local image was found".
                tracing::debug!(image = name, error = %e, "--pull=newer: keeping the local image");
                Ok(local)
            }
        },
    }
}

/// Whether the registry's manifest for `name` (for our platform) is not
/// the one `local` was stored with.
fn registry_differs(ctx: &Context, store: &Store, name: &str, local: &Image) -> Result<bool> {
    let source = RegistrySource::open_admitted(ctx, name, &ctx.policy()?)?;
    let remote = transport::resolve(&source, &ctx.platform)?;
    let stored = berth_storage::Digest::of(&store.image_manifest(&local.id)?);
    Ok(remote.digest != stored)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_and_podmans_aliases() {
        for (text, want) in [
            ("missing", PullPolicy::Missing),
            ("IfNotPresent", PullPolicy::Missing),
            ("always", PullPolicy::Always),
            ("true", PullPolicy::Always),
            ("never", PullPolicy::Never),
            ("false", PullPolicy::Never),
            ("newer", PullPolicy::Newer),
            ("ifnewer", PullPolicy::Newer),
        ] {
            assert_eq!(text.parse::<PullPolicy>().unwrap(), want, "{text}");
        }
        let err = "bogus".parse::<PullPolicy>().unwrap_err();
        assert_eq!(err.to_string(), "unsupported pull policy \"bogus\"");
    }
}
