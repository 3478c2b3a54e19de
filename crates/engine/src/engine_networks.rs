//! User-defined networks as the engine sees them: which containers are on
//! one, and removing it (refused while containers use it, unless forced:
//! then those containers go first), under the network state lock so no
//! create of a network races the check.

use crate::engine::Engine;
use crate::error::Result;
use crate::network::NetError;

impl Engine {
    /// The ids of the containers (in any state) on the network `name`.
    pub fn network_users(&self, name: &str) -> Result<Vec<String>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|c| c.meta.options.network_name.as_deref() == Some(name))
            .map(|c| c.id)
            .collect())
    }

    /// Remove the user-defined network `name`. With containers on it:
    /// refused ([`NetError::NetworkInUse`]), or with `force` they are
    /// removed first (as `rm -f`). Returns the containers removed.
    pub fn remove_network(&self, name: &str, force: bool) -> Result<Vec<String>> {
        let lock = self.networks.lock_networks()?;
        let info = self.networks.network(name)?;
        if info.name == self.networks.name() {
            return Err(NetError::DefaultNetwork(info.name).into());
        }
        let users = self.network_users(name)?;
        if !users.is_empty() && !force {
            return Err(NetError::NetworkInUse(name.into()).into());
        }
        for id in &users {
            self.remove(id, true)?;
        }
        self.networks.remove_network(name, &lock)?;
        Ok(users)
    }

    /// Remove every user-defined network no container is on; returns
    /// their names.
    pub fn prune_networks(&self) -> Result<Vec<String>> {
        let lock = self.networks.lock_networks()?;
        let used: Vec<String> = self
            .list()?
            .into_iter()
            .filter_map(|c| c.meta.options.network_name)
            .collect();
        let mut removed = Vec::new();
        for n in self.networks.list_networks()? {
            if n.name == self.networks.name() || used.contains(&n.name) {
                continue;
            }
            self.networks.remove_network(&n.name, &lock)?;
            removed.push(n.name);
        }
        Ok(removed)
    }
}
