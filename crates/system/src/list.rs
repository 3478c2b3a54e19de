//! What is installed: `images --system` and `containers --system`.

use crate::deployment;
use crate::error::{IoContext, Result};
use crate::info::DeploymentInfo;
use crate::layout::SystemLayout;

/// One installed system container.
#[derive(Debug, Clone)]
pub struct Installed {
    /// Its current deployment's info.
    pub info: DeploymentInfo,
    /// The current deployment's index (0 or 1).
    pub deployment: u8,
    /// Whether the other deployment exists (a rollback is possible).
    pub previous: bool,
}

/// Every installed system container, by name.
pub fn list(layout: &SystemLayout) -> Result<Vec<Installed>> {
    let entries = match std::fs::read_dir(&layout.root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).ctx("read", &layout.root),
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.ctx("read", &layout.root)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !entry.file_type().ctx("stat", entry.path())?.is_symlink() {
            continue;
        }
        let Some(index) = deployment::current(layout, &name)? else {
            continue;
        };
        out.push(Installed {
            info: DeploymentInfo::read(&layout.deployment(&name, index))?,
            deployment: index,
            previous: layout
                .deployment(&name, 1 - index)
                .join("info.json")
                .exists(),
        });
    }
    out.sort_by(|a, b| a.info.name.cmp(&b.info.name));
    Ok(out)
}
