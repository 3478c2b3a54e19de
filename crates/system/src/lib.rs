//! System containers, as atomic's `install --system` made them: an image
//! checked out read-only into a versioned deployment directory
//! (`ROOT/NAME.0`, then `ROOT/NAME.1`, with a `ROOT/NAME` link to the
//! current one), a `config.json` built by the engine (or rendered from the
//! image's `/exports/config.json.template`), and a systemd unit plus a
//! tmpfiles.d snippet. The unit runs `berth-runtime run` in the
//! foreground: no daemon, no monitor; systemd orders the units.
#![deny(missing_docs)]

mod checkout;
mod deployment;
mod error;
mod generate;
mod info;
mod install;
mod layout;
mod lifecycle;
mod list;
pub mod quadlet;
mod render;
pub mod template;
mod units;

pub use error::{Error, Result};
pub use generate::{container_unit, GenerateOptions, UnitContainer};
pub use info::DeploymentInfo;
pub use install::{default_name, install, InstallOptions, AFTER_LABEL, REQUIRES_LABEL, TYPE_LABEL};
pub use layout::SystemLayout;
pub use lifecycle::{rollback, uninstall, update, UpdateOutcome};
pub use list::{list, Installed};
