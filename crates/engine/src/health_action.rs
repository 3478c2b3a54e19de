//! `--health-on-failure`: what happens once a container turns unhealthy
//! (podman 4.3's actions). The check that made it unhealthy takes the
//! action, after its result is recorded, so `inspect` shows why.

use crate::engine::Engine;
use crate::error::Result;
use crate::life_options::LifeOptionError;
use serde::{Deserialize, Serialize};

/// The action, as podman names it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HealthOnFailure {
    /// Nothing but the status.
    #[default]
    None,
    /// SIGKILL the container.
    Kill,
    /// Stop it, then start it again.
    Restart,
    /// Stop it, with its stop signal and timeout.
    Stop,
}

impl HealthOnFailure {
    /// Parse podman's word for it.
    pub fn parse(s: &str) -> std::result::Result<HealthOnFailure, LifeOptionError> {
        Ok(match s {
            "none" => HealthOnFailure::None,
            "kill" => HealthOnFailure::Kill,
            "restart" => HealthOnFailure::Restart,
            "stop" => HealthOnFailure::Stop,
            _ => return Err(LifeOptionError::HealthOnFailure(s.into())),
        })
    }

    /// The word inspect shows.
    pub fn as_str(self) -> &'static str {
        match self {
            HealthOnFailure::None => "none",
            HealthOnFailure::Kill => "kill",
            HealthOnFailure::Restart => "restart",
            HealthOnFailure::Stop => "stop",
        }
    }
}

impl Engine {
    /// Take container `id`'s action now that it is unhealthy.
    pub(crate) fn on_unhealthy(&self, id: &str, action: HealthOnFailure) -> Result<()> {
        match action {
            HealthOnFailure::None => Ok(()),
            HealthOnFailure::Kill => self.kill(id, "KILL"),
            HealthOnFailure::Stop => self.stop(id, self.stop_timeout(id)?),
            HealthOnFailure::Restart => self.restart(id, self.stop_timeout(id)?),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_words() {
        for w in ["none", "kill", "restart", "stop"] {
            assert_eq!(HealthOnFailure::parse(w).unwrap().as_str(), w);
        }
        assert_eq!(
            HealthOnFailure::parse("reboot").unwrap_err().to_string(),
            "invalid on-failure action \"reboot\" for health check: supported actions are: none,kill,restart,stop"
        );
    }
}
