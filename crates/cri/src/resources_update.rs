//! `UpdateContainerResources`: the CRI's Linux resources as the engine's
//! [`ResourceUpdate`], written to the running container's cgroup.

use crate::daemon::Daemon;
use crate::proto;
use crate::status_codes::{self, invalid};
use berth_engine::ResourceUpdate;
use tonic::Status;

/// `UpdateContainerResources`; what the create path refuses is refused
/// here too (cpuset_mems, hugepages, unified keys).
pub fn update(
    d: &Daemon,
    req: proto::UpdateContainerResourcesRequest,
) -> Result<proto::UpdateContainerResourcesResponse, Status> {
    let id = req.container_id.trim();
    if id.is_empty() {
        return Err(invalid("container_id is required"));
    }
    // No resources still looks the container up: an unknown one is NotFound.
    let r = req.linux.unwrap_or_default();
    if !r.cpuset_mems.is_empty() || !r.hugepage_limits.is_empty() || !r.unified.is_empty() {
        return Err(invalid(
            "cpuset_mems, hugepage limits and unified cgroup keys are not built",
        ));
    }
    let positive = |v: i64| Some(v).filter(|v| *v > 0);
    let u = ResourceUpdate {
        memory: positive(r.memory_limit_in_bytes),
        memory_swap: positive(r.memory_swap_limit_in_bytes),
        cpu_shares: positive(r.cpu_shares).map(|v| v as u64),
        cpu_quota: positive(r.cpu_quota),
        cpu_period: positive(r.cpu_period).map(|v| v as u64),
        cpuset_cpus: Some(r.cpuset_cpus).filter(|c| !c.is_empty()),
    };
    d.engine
        .update_resources(id, &u)
        .map_err(status_codes::engine)?;
    Ok(proto::UpdateContainerResourcesResponse {})
}
