//! What a container's config.json needs in the user's namespace, where
//! the host's cgroups, its network namespace's sysfs and a gid outside the
//! mapping are out of reach (podman makes the same changes rootless).

use super::error::{Error, Result};
use oci_spec::runtime::{LinuxNamespaceType, LinuxResources, Mount, MountBuilder, Spec};

/// Adapt `spec` when berth runs rootless; nothing changes as root.
/// `cgroups_disabled` is `--cgroups=disabled`: limits are then dropped
/// rather than refused.
pub fn adapt(spec: &mut Spec, cgroups_disabled: bool) -> Result<()> {
    if !super::is_rootless() {
        return Ok(());
    }
    let gid5_mapped = gid_mapped(5);
    let own_netns = spec.linux().as_ref().is_some_and(|l| {
        l.namespaces()
            .iter()
            .flatten()
            .any(|n| n.typ() == LinuxNamespaceType::Network)
    });
    if let Some(linux) = spec.linux_mut() {
        if let Some(option) = linux.resources().as_ref().and_then(first_limit) {
            if !cgroups_disabled {
                return Err(Error::NoCgroupLimits {
                    option,
                    why: "an unprivileged user has no cgroup of its own on this host (that \
                          needs a delegated cgroup v2 subtree)",
                });
            }
        }
        if cgroups_disabled {
            linux.set_resources(None).set_cgroups_path(None);
        }
    }
    let mounts: Vec<Mount> = spec
        .mounts()
        .iter()
        .flatten()
        .map(|m| adapt_mount(m, own_netns, gid5_mapped))
        .collect();
    spec.set_mounts(Some(mounts));
    Ok(())
}

fn adapt_mount(m: &Mount, own_netns: bool, gid5_mapped: bool) -> Mount {
    let typ = m.typ().as_deref().unwrap_or_default();
    let mut m = m.clone();
    // sysfs may be mounted only by the owner of the network namespace: in
    // the host's, bind the host's /sys instead.
    if typ == "sysfs" && !own_netns {
        let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
        options.extend(m.options().iter().flatten().cloned());
        if let Ok(bound) = MountBuilder::default()
            .destination(m.destination().clone())
            .typ("bind")
            .source("/sys")
            .options(options)
            .build()
        {
            return bound;
        }
    }
    // devpts refuses a gid= the namespace does not map.
    if typ == "devpts" && !gid5_mapped {
        let options = m
            .options()
            .iter()
            .flatten()
            .filter(|o| !o.starts_with("gid="))
            .cloned()
            .collect();
        m.set_options(Some(options));
    }
    m
}

/// The option behind the first limit in `r`, for the error.
fn first_limit(r: &LinuxResources) -> Option<&'static str> {
    if r.memory().is_some() {
        Some("--memory")
    } else if r.cpu().is_some() {
        Some("--cpus")
    } else if r.pids().is_some() {
        Some("--pids-limit")
    } else if r.block_io().is_some() {
        Some("--blkio-weight")
    } else if r.hugepage_limits().as_ref().is_some_and(|h| !h.is_empty()) {
        Some("--hugetlb")
    } else if r.unified().as_ref().is_some_and(|u| !u.is_empty()) {
        Some("--cgroup-conf")
    } else {
        None
    }
}

/// Whether `gid` is mapped in this process's user namespace.
fn gid_mapped(gid: u32) -> bool {
    std::fs::read_to_string("/proc/self/gid_map").is_ok_and(|map| {
        map.lines().any(|l| {
            let f: Vec<u64> = l
                .split_whitespace()
                .filter_map(|n| n.parse().ok())
                .collect();
            f.len() == 3 && f[0] <= gid as u64 && (gid as u64) < f[0] + f[2]
        })
    })
}
