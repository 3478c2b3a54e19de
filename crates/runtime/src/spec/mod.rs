//! Reading `config.json` and checking what it asks for before anything is
//! created, so bad input fails with nothing left behind.

mod checks;

use crate::error::{Error, Result};
use oci_spec::runtime::{LinuxNamespaceType, Spec};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Read and parse `<bundle>/config.json`.
pub fn load_config(bundle: &Path) -> Result<Spec> {
    let path = bundle.join("config.json");
    let bytes = std::fs::read(&path).map_err(|source| Error::ReadConfig {
        path: path.clone(),
        source,
    })?;
    serde_json::from_slice(&bytes).map_err(|source| {
        // oci-spec refuses unknown seccomp actions while parsing; name the field.
        crate::seccomp::explain_parse_error(&bytes)
            .map(Error::from)
            .unwrap_or(Error::ParseConfig { path, source })
    })
}

/// The absolute rootfs path of `spec` in `bundle`, checked to be a directory.
pub fn rootfs_path(spec: &Spec, bundle: &Path) -> Result<PathBuf> {
    let root = spec.root().as_ref().ok_or_else(|| Error::InvalidConfig {
        field: "root",
        reason: "missing".into(),
    })?;
    let path = bundle.join(root.path());
    match std::fs::metadata(&path) {
        Ok(m) if m.is_dir() => Ok(path),
        Ok(_) => Err(Error::InvalidConfig {
            field: "root.path",
            reason: format!("{} is not a directory", path.display()),
        }),
        Err(e) => Err(Error::io("rootfs", path, e)),
    }
}

/// Checks made before anything exists: a supported `ociVersion`, a process
/// to run with sane rlimits, namespaces listed once each (those joined by
/// path checked to be of their type), a user namespace with mappings,
/// hooks that exist with positive timeouts, and the config-linux values
/// the spec says MUST be absolute, present or known. The runtime spec
/// wants invalid values refused ("MUST generate an error") and unknown
/// properties and annotation keys ignored (serde skips them).
pub fn validate(spec: &Spec) -> Result<()> {
    checks::oci_version(spec.version())?;
    checks::annotations(spec)?;
    let process = spec
        .process()
        .as_ref()
        .ok_or_else(|| Error::InvalidConfig {
            field: "process",
            reason: "missing".into(),
        })?;
    if process.args().as_ref().is_none_or(|a| a.is_empty()) {
        return Err(Error::InvalidConfig {
            field: "process.args",
            reason: "empty".into(),
        });
    }
    if !process.cwd().is_absolute() {
        return Err(Error::InvalidConfig {
            field: "process.cwd",
            reason: format!("{:?} is not an absolute path", process.cwd()),
        });
    }
    checks::rlimits(process.rlimits().as_deref().unwrap_or_default())?;
    validate_hooks(spec)?;
    for mount in spec.mounts().iter().flatten() {
        if !mount.destination().is_absolute() {
            return Err(Error::InvalidConfig {
                field: "mounts",
                reason: format!("destination {:?} is not absolute", mount.destination()),
            });
        }
    }
    let Some(linux) = spec.linux() else {
        return Ok(());
    };
    checks::linux(linux)?;
    checks::uts_names(spec)?;
    let mut seen = HashSet::new();
    for ns in linux.namespaces().iter().flatten() {
        if !seen.insert(ns.typ()) {
            return Err(Error::InvalidConfig {
                field: "linux.namespaces",
                reason: format!("namespace type {} listed twice", ns.typ()),
            });
        }
        if let Some(path) = ns.path() {
            checks::namespace_path(ns.typ(), path)?;
        }
    }
    let new_userns = linux
        .namespaces()
        .iter()
        .flatten()
        .any(|ns| ns.typ() == LinuxNamespaceType::User && ns.path().is_none());
    if new_userns && linux.uid_mappings().as_ref().is_none_or(|m| m.is_empty()) {
        return Err(Error::InvalidConfig {
            field: "linux.uidMappings",
            reason: "a new user namespace needs uid and gid mappings".into(),
        });
    }
    check_id_mappings("linux.uidMappings", linux.uid_mappings().as_deref())?;
    check_id_mappings("linux.gidMappings", linux.gid_mappings().as_deref())?;
    if linux.intel_rdt().is_some() && !Path::new("/sys/fs/resctrl/schemata").exists() {
        return Err(Error::InvalidConfig {
            field: "linux.intelRdt",
            reason: "this host has no resctrl file system mounted at /sys/fs/resctrl".into(),
        });
    }
    Ok(())
}

/// Hooks run in the runtime's namespaces must exist before anything is
/// created; `startContainer` runs inside the container and is checked there.
/// Every hook's `timeout`, if set, MUST be greater than zero (config.md).
fn validate_hooks(spec: &Spec) -> Result<()> {
    let Some(hooks) = spec.hooks() else {
        return Ok(());
    };
    #[allow(deprecated)]
    let host_side = [
        hooks.prestart(),
        hooks.create_runtime(),
        hooks.create_container(),
        hooks.poststart(),
        hooks.poststop(),
    ];
    for hook in host_side
        .into_iter()
        .flatten()
        .flatten()
        .chain(hooks.start_container().iter().flatten())
    {
        if !hook.path().is_absolute() {
            return Err(Error::InvalidConfig {
                field: "hooks",
                reason: format!("hook path {} is not absolute", hook.path().display()),
            });
        }
        if let Some(t) = hook.timeout().filter(|t| *t <= 0) {
            return Err(Error::InvalidConfig {
                field: "hooks",
                reason: format!(
                    "hook {} has timeout {t}: a timeout must be greater than zero",
                    hook.path().display()
                ),
            });
        }
    }
    for hook in host_side.into_iter().flatten().flatten() {
        if !hook.path().is_file() {
            return Err(Error::InvalidConfig {
                field: "hooks",
                reason: format!("hook {} does not exist", hook.path().display()),
            });
        }
    }
    Ok(())
}

/// Mapping ranges must not overlap on either side (the kernel refuses such
/// a map with a bare EINVAL, after the container's namespaces exist).
fn check_id_mappings(
    field: &'static str,
    maps: Option<&[oci_spec::runtime::LinuxIdMapping]>,
) -> Result<()> {
    let maps = maps.unwrap_or_default();
    for (i, a) in maps.iter().enumerate() {
        if a.size() == 0 {
            return Err(Error::InvalidConfig {
                field,
                reason: format!("mapping {i} has size 0"),
            });
        }
        for (j, b) in maps.iter().enumerate().skip(i + 1) {
            let overlap = |x: u32, y: u32| {
                let (x, y) = (u64::from(x), u64::from(y));
                x < y + u64::from(b.size()) && y < x + u64::from(a.size())
            };
            if overlap(a.container_id(), b.container_id()) || overlap(a.host_id(), b.host_id()) {
                return Err(Error::InvalidConfig {
                    field,
                    reason: format!("mappings {i} and {j} overlap"),
                });
            }
        }
    }
    Ok(())
}
