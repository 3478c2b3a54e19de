//! podman's exit codes, which scripts test: 125 for berth's own errors
//! (bad flags too), 126 for a command that cannot be invoked, 127 for one
//! that does not exist, and for `rm`/`rmi` 1 when something is missing and
//! 2 when it is in use. A container's own code passes through untouched.

use berth_engine::Error as EngineError;

/// An error already reported on stderr: exit with this code, quietly.
#[derive(Debug)]
pub struct Reported(pub i32);

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}", self.0)
    }
}

impl std::error::Error for Reported {}

/// berth's own failure.
pub const BERTH: i32 = 125;

/// The exit code for an error that ends a command.
pub fn of(e: &anyhow::Error) -> i32 {
    for cause in e.chain() {
        if let Some(r) = cause.downcast_ref::<Reported>() {
            return r.0;
        }
        match cause.downcast_ref::<EngineError>() {
            Some(EngineError::CommandNotFound(_)) => return 127,
            Some(EngineError::NotExecutable { .. } | EngineError::NoWorkdir(_)) => return 126,
            _ => {}
        }
    }
    BERTH
}

/// The errors in `e`'s chain, with the engine's transparent wrappers
/// opened (they hide the storage or image error they hold from `source`).
fn causes(e: &anyhow::Error) -> impl Iterator<Item = &(dyn std::error::Error + 'static)> {
    e.chain().flat_map(|c| {
        let inner: Option<&(dyn std::error::Error + 'static)> =
            match c.downcast_ref::<EngineError>() {
                Some(EngineError::Storage(s)) => Some(s),
                Some(EngineError::Image(i)) => Some(i),
                Some(EngineError::Volume(v)) => Some(v),
                Some(EngineError::Network(n)) => Some(n),
                _ => None,
            };
        std::iter::once(c).chain(inner)
    })
}

/// Whether the error says the container, image or volume is not there.
pub fn is_missing(e: &anyhow::Error) -> bool {
    causes(e).any(|c| {
        matches!(
            c.downcast_ref::<EngineError>(),
            Some(EngineError::NotFound(_))
        ) || matches!(
            c.downcast_ref::<berth_engine::VolumeError>(),
            Some(berth_engine::VolumeError::NotFound(_))
        ) || matches!(
            c.downcast_ref::<berth_engine::network::NetError>(),
            Some(berth_engine::network::NetError::NetworkNotFound(_))
        ) || matches!(
            c.downcast_ref::<berth_storage::Error>(),
            Some(
                berth_storage::Error::ContainerNotFound(_) | berth_storage::Error::ImageNotFound(_)
            )
        ) || matches!(
            c.downcast_ref::<berth_image::Error>(),
            Some(berth_image::Error::NoLocalImage { .. } | berth_image::Error::NotFound(_))
        )
    })
}

/// Whether the error says the container, image or volume is in use
/// (running, or used by containers or mounts).
pub fn is_in_use(e: &anyhow::Error) -> bool {
    causes(e).any(|c| {
        matches!(
            c.downcast_ref::<EngineError>(),
            Some(EngineError::State { .. })
        ) || matches!(
            c.downcast_ref::<berth_storage::Error>(),
            Some(berth_storage::Error::InUse { .. })
        ) || matches!(
            c.downcast_ref::<berth_engine::VolumeError>(),
            Some(berth_engine::VolumeError::InUse { .. })
        ) || matches!(
            c.downcast_ref::<berth_engine::network::NetError>(),
            Some(berth_engine::network::NetError::NetworkInUse(_))
        )
    })
}

/// `rm`'s and `rmi`'s code for a failed removal.
pub fn of_removal(e: &anyhow::Error) -> i32 {
    if is_missing(e) {
        1
    } else if is_in_use(e) {
        2
    } else {
        of(e)
    }
}
