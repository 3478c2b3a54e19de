//! `rename`: a container's name, checked against podman's pattern and
//! made unique by storage (which checks and writes under its lock).

use crate::engine::Engine;
use crate::error::{Error, Result};

impl Engine {
    /// Name container `key` `name`. The record lock keeps a concurrent
    /// start, stop or removal of the same container out meanwhile.
    pub fn rename(&self, key: &str, name: &str) -> Result<()> {
        crate::spec_options::check_name(name)?;
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

#[cfg(test)]
mod tests {
    use crate::spec_options::check_name;

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
