//! The parts of an OCI image config that a container starts from. The
//! lookups in the image's files live in `image_users` (users and groups)
//! and `command_lookup` (the command in `$PATH`).

use crate::error::Result;
use oci_spec::image::ImageConfiguration;

/// Where spec building finds it; resolved in-root by `image_users`.
pub use crate::image_users::ResolvedUser;

/// The execution parameters of an image (`config` of its
/// `ImageConfiguration`): entrypoint, cmd, env, user, ports, volumes.
pub use oci_spec::image::Config as ImageConfig;

/// Parse an image config blob. Docker's configs parse too: the fields the
/// OCI spec lacks (Healthcheck, OnBuild, ArgsEscaped…) are ignored and
/// `null` lists are absent.
pub fn parse(image: &str, bytes: &[u8]) -> Result<ImageConfiguration> {
    Ok(berth_image::image_config::parse(image, bytes)?)
}

/// The execution parameters of a parsed image config; an image without
/// any (the spec allows it) gets the empty set.
pub fn execution(config: &ImageConfiguration) -> ImageConfig {
    config.config().clone().unwrap_or_default()
}

/// `port/proto` keys (`80/tcp`) the image exposes, sorted (oci-spec keeps
/// them in hash order).
pub fn exposed_ports(image: &ImageConfig) -> Vec<String> {
    sorted(image.exposed_ports())
}

/// Paths the image wants a volume on, sorted.
pub fn volumes(image: &ImageConfig) -> Vec<String> {
    sorted(image.volumes())
}

fn sorted(list: &Option<Vec<String>>) -> Vec<String> {
    let mut list = list.clone().unwrap_or_default();
    list.sort();
    list
}
