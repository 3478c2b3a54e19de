//! What goes wrong with volumes: its own file, so the engine's error
//! type can wrap it without depending on the volumes component.

/// What goes wrong with volumes.
#[derive(Debug, thiserror::Error)]
pub enum VolumeError {
    /// No volume has this name.
    #[error("no volume named {0:?}")]
    NotFound(String),
    /// `volume create` of a name that exists.
    #[error("volume with name {0:?} already exists")]
    Exists(String),
    /// A malformed name.
    #[error("invalid volume name {0:?}: names are [a-zA-Z0-9][a-zA-Z0-9_.-]*")]
    BadName(String),
    /// Removal of a volume containers use.
    #[error("volume {name} is being used by container(s) {}: remove them first, or use --force", users.join(", "))]
    InUse {
        /// The volume.
        name: String,
        /// Names of the containers using it.
        users: Vec<String>,
    },
}
