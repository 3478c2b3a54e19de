//! `rename`: a container's name, checked against podman's pattern and
//! made unique by storage (which checks and writes under its lock).

use crate::engine::Engine;
use crate::error::{Error, Result};

impl Engine {
    /// Name container `key` `name`. The record lock keeps a concurrent
    /// start, stop or removal of the same container out meanwhile.
    pub fn rename(&self, key: &str, name: &str) -> Result<()> {
        check_name(name)?;
        let c = self.container(key)?;
        let _lock = self.record(&c.id).lock()?;
        match self.store.rename_container(&c.id, name) {
            Ok(renamed) => {
                self.event(&renamed, "rename", None);
                Ok(())
            }
            Err(berth_storage::Error::ContainerNotFound(_)) => Err(Error::NotFound(key.into())),
            Err(e) => Err(e.into()),
        }
    }
}

/// podman's container names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    if first && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)) {
        return Ok(());
    }
    Err(Error::InvalidOption {
        option: "name",
        value: name.into(),
        reason: "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn podman_s_name_pattern() {
        for ok in ["a", "web-1", "A.b_c", "0x"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", ".a", "a/b", "a b", "é", "_x"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
