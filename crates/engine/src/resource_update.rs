//! `update_resources`: change a running container's cgroup limits through
//! the runtime's `update` (runc's flags), as `podman update` does.

use crate::engine::Engine;
use crate::error::Result;

/// The limits to change; `None` leaves one as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceUpdate {
    /// Memory limit, bytes.
    pub memory: Option<i64>,
    /// Memory plus swap, bytes (-1 unlimited).
    pub memory_swap: Option<i64>,
    /// CPU shares.
    pub cpu_shares: Option<u64>,
    /// CFS quota, microseconds.
    pub cpu_quota: Option<i64>,
    /// CFS period, microseconds.
    pub cpu_period: Option<u64>,
    /// CPUs the container may use.
    pub cpuset_cpus: Option<String>,
}

impl ResourceUpdate {
    fn flags(&self) -> Vec<String> {
        let mut f = Vec::new();
        let mut add = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                f.push(format!("--{name}={v}"));
            }
        };
        add("memory", self.memory.map(|v| v.to_string()));
        add("memory-swap", self.memory_swap.map(|v| v.to_string()));
        add("cpu-share", self.cpu_shares.map(|v| v.to_string()));
        add("cpu-quota", self.cpu_quota.map(|v| v.to_string()));
        add("cpu-period", self.cpu_period.map(|v| v.to_string()));
        add("cpuset-cpus", self.cpuset_cpus.clone());
        f
    }
}

impl Engine {
    /// Apply `update` to container `key`'s cgroup; nothing to change is
    /// not an error.
    pub fn update_resources(&self, key: &str, update: &ResourceUpdate) -> Result<()> {
        let c = self.container(key)?;
        let flags = update.flags();
        if flags.is_empty() {
            return Ok(());
        }
        self.runtime.update(&c.id, &flags)
    }
}
