//! Renaming a container: names are unique, so the check and the write
//! happen under the containers lock held exclusively.

use super::Store;
use crate::error::{Error, Result};
use crate::fsutil::write_json;
use crate::lock::LockMode;

impl Store {
    /// Give container `key` the name `name`, refused with
    /// [`Error::NameInUse`] when another container has it. Its own name
    /// again is no change and no error.
    pub fn rename_container(&self, key: &str, name: &str) -> Result<crate::Container> {
        let _c = self.lock(&self.locks.containers, LockMode::Exclusive)?;
        let mut c = self.find_container(key)?;
        if c.name == name {
            return Ok(c);
        }
        if let Some(other) = self.all_containers()?.into_iter().find(|o| o.name == name) {
            return Err(Error::NameInUse {
                name: name.into(),
                by: other.id,
            });
        }
        c.name = name.into();
        write_json(&self.container_record(&c.id), &c)?;
        Ok(c)
    }
}
