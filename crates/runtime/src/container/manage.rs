//! `pause`, `resume`, `events` and `update`: acting on a running
//! container through its cgroup.

use crate::cgroups::{Cgroup, Stats};
use crate::error::{Error, Result};
use crate::state::{ContainerState, StateRoot, Status};
use oci_spec::runtime::LinuxResources;

fn cgroup_of<'a>(state: &'a ContainerState, action: &'static str) -> Result<&'a Cgroup> {
    state.cgroup.as_ref().ok_or_else(|| Error::InvalidConfig {
        field: "linux.cgroupsPath",
        reason: format!("container {} has no cgroup to {action}", state.id),
    })
}

/// Freeze every process of a running container.
pub fn pause(root: &StateRoot, id: &str) -> Result<()> {
    let (state, _lock) = root.load_locked_in(id, Status::Running, "pause")?;
    Ok(cgroup_of(&state, "pause")?.freeze()?)
}

/// Thaw a paused container.
pub fn resume(root: &StateRoot, id: &str) -> Result<()> {
    let (state, _lock) = root.load_locked_in(id, Status::Paused, "resume")?;
    Ok(cgroup_of(&state, "resume")?.thaw()?)
}

/// Statistics from the container's cgroup, or `None` once it stopped.
pub fn stats(root: &StateRoot, id: &str) -> Result<Option<Stats>> {
    let state = root.load(id)?;
    if state.status(&root.dir(id)) == Status::Stopped {
        return Ok(None);
    }
    Ok(Some(cgroup_of(&state, "read statistics of")?.stats()?))
}

/// Change the resources of a running (or created, or paused) container.
/// `change` is merged over the resources in force: fields it sets win.
pub fn update(root: &StateRoot, id: &str, change: &LinuxResources) -> Result<()> {
    let (mut state, _lock) = root.load_locked(id)?;
    let status = state.status(&root.dir(id));
    if status == Status::Stopped {
        return Err(Error::WrongState {
            id: id.into(),
            action: "update",
            status: status.as_str(),
        });
    }
    let merged = merge(state.resources.clone().unwrap_or_default(), change)?;
    cgroup_of(&state, "update")?.apply(&merged)?;
    state.resources = Some(merged);
    state.save(&root.dir(id))
}

/// Overlay the set fields of `change` onto `base`, one JSON object level
/// deep per controller (so `--memory` keeps an earlier `--memory-swap`).
fn merge(base: LinuxResources, change: &LinuxResources) -> Result<LinuxResources> {
    let to_value = |r: &LinuxResources| serde_json::to_value(r);
    let (mut base_v, change_v) = match (to_value(&base), to_value(change)) {
        (Ok(b), Ok(c)) => (b, c),
        (Err(e), _) | (_, Err(e)) => {
            return Err(Error::InvalidConfig {
                field: "linux.resources",
                reason: e.to_string(),
            })
        }
    };
    if let (Some(b), Some(c)) = (base_v.as_object_mut(), change_v.as_object()) {
        for (key, value) in c {
            match (
                b.get_mut(key).and_then(|v| v.as_object_mut()),
                value.as_object(),
            ) {
                (Some(bo), Some(co)) => {
                    for (k, v) in co {
                        bo.insert(k.clone(), v.clone());
                    }
                }
                _ => {
                    b.insert(key.clone(), value.clone());
                }
            }
        }
    }
    serde_json::from_value(base_v).map_err(|e| Error::InvalidConfig {
        field: "linux.resources",
        reason: e.to_string(),
    })
}
