//! The single checks of [`super::validate`], each named after the clause of
//! the runtime spec it enforces. All run before anything is created.

use crate::error::{Error, Result};
use oci_spec::runtime::{Linux, LinuxNamespaceType, PosixRlimit, Spec};
use std::path::Path;

/// `ociVersion` MUST be SemVer 2.0.0 (config.md); this runtime implements
/// the 1.x series, so another major version is an unsupported value, which
/// the spec says MUST be refused.
pub(super) fn oci_version(version: &str) -> Result<()> {
    let bad = |reason: String| Error::InvalidConfig {
        field: "ociVersion",
        reason,
    };
    let major = parse_semver(version)
        .ok_or_else(|| bad(format!("{version:?} is not a SemVer 2.0.0 version")))?;
    if major != 1 {
        return Err(bad(format!(
            "version {version} is not supported: this runtime implements runtime-spec 1.x"
        )));
    }
    Ok(())
}

/// The major version of a SemVer 2.0.0 string, or `None` if it is not one:
/// `MAJOR.MINOR.PATCH`, numbers without leading zeros, then an optional
/// `-pre.release` and `+build` of dot-separated `[0-9A-Za-z-]` identifiers.
fn parse_semver(v: &str) -> Option<u64> {
    let (rest, build) = match v.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (v, None),
    };
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let numeric = |s: &str| {
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'))
    };
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() != 3 || !parts.iter().all(|p| numeric(p)) {
        return None;
    }
    if let Some(pre) = pre {
        let ok = pre
            .split('.')
            .all(|id| ident(id) && (!id.bytes().all(|b| b.is_ascii_digit()) || numeric(id)));
        if !ok {
            return None;
        }
    }
    if build.is_some_and(|b| !b.split('.').all(ident)) {
        return None;
    }
    parts[0].parse().ok()
}

/// Annotation keys MUST NOT be empty (config.md); unknown keys are fine.
pub(super) fn annotations(spec: &Spec) -> Result<()> {
    if spec
        .annotations()
        .as_ref()
        .is_some_and(|a| a.contains_key(""))
    {
        return Err(Error::InvalidConfig {
            field: "annotations",
            reason: "an annotation key must not be an empty string".into(),
        });
    }
    Ok(())
}

/// Each rlimit type at most once (the spec: duplicates MUST be an error),
/// and a soft limit the hard one allows (setrlimit(2) would refuse it
/// inside the container, after everything was made).
pub(super) fn rlimits(list: &[PosixRlimit]) -> Result<()> {
    for (i, r) in list.iter().enumerate() {
        if list[..i].iter().any(|o| o.typ() == r.typ()) {
            return Err(Error::InvalidConfig {
                field: "process.rlimits",
                reason: format!("{:?} is listed twice", r.typ()),
            });
        }
        if r.soft() > r.hard() {
            return Err(Error::InvalidConfig {
                field: "process.rlimits",
                reason: format!(
                    "{:?}: soft limit {} is above hard limit {}",
                    r.typ(),
                    r.soft(),
                    r.hard()
                ),
            });
        }
    }
    Ok(())
}

/// A namespace `path` MUST be absolute in the runtime's mount namespace and
/// MUST name a namespace of the entry's `type`.
pub(super) fn namespace_path(typ: LinuxNamespaceType, path: &Path) -> Result<()> {
    let bad = |reason: String| Error::InvalidConfig {
        field: "linux.namespaces",
        reason,
    };
    if !path.is_absolute() {
        return Err(bad(format!(
            "{typ} namespace path {} is not absolute",
            path.display()
        )));
    }
    if !path.exists() {
        return Err(bad(format!(
            "{typ} namespace path {} does not exist",
            path.display()
        )));
    }
    let actual = crate::namespaces::namespace_type_of(path)?;
    if actual != typ {
        return Err(bad(format!(
            "{} is a {actual} namespace, the entry is of type {typ}",
            path.display()
        )));
    }
    Ok(())
}

/// `hostname` and `domainname` need a uts namespace of the container's
/// own: new, or joined by path — but never the runtime's, whose name is the
/// host's.
pub(super) fn uts_names(spec: &Spec) -> Result<()> {
    let named = [spec.hostname(), spec.domainname()]
        .iter()
        .any(|n| n.as_deref().is_some_and(|n| !n.is_empty()));
    let joined = spec
        .linux()
        .as_ref()
        .and_then(|l| l.namespaces().as_ref())
        .and_then(|ns| ns.iter().find(|n| n.typ() == LinuxNamespaceType::Uts))
        .and_then(|n| n.path().as_deref());
    match joined {
        Some(path) if named && same_file(path, Path::new("/proc/self/ns/uts")) => {
            Err(Error::InvalidConfig {
                field: "hostname",
                reason: format!(
                    "the uts namespace at {} is the runtime's own: setting a name there would rename the host",
                    path.display()
                ),
            })
        }
        _ => Ok(()),
    }
}

/// The propagation values `linux.rootfsPropagation` may take (runc's set).
pub(crate) const ROOTFS_PROPAGATION: [&str; 8] = [
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "unbindable",
    "runbindable",
];

/// The config-linux.md clauses on values: a known `rootfsPropagation`,
/// absolute `maskedPaths`, `readonlyPaths` and device paths, a weight in
/// every `blockIO.weightDevice` entry, sysctls the container's namespaces
/// scope. (Seccomp rules are checked by [`crate::seccomp::validate`].)
pub(super) fn linux(linux: &Linux) -> Result<()> {
    if let Some(p) = linux.rootfs_propagation().as_deref() {
        if !ROOTFS_PROPAGATION.contains(&p) {
            return Err(Error::InvalidConfig {
                field: "linux.rootfsPropagation",
                reason: format!("{p:?} is not one of {}", ROOTFS_PROPAGATION.join(", ")),
            });
        }
    }
    let lists: [(&'static str, Option<&Vec<String>>); 2] = [
        ("linux.maskedPaths", linux.masked_paths().as_ref()),
        ("linux.readonlyPaths", linux.readonly_paths().as_ref()),
    ];
    for (field, paths) in lists {
        if let Some(p) = paths.into_iter().flatten().find(|p| !p.starts_with('/')) {
            return Err(Error::InvalidConfig {
                field,
                reason: format!("{p:?} is not an absolute path"),
            });
        }
    }
    for d in linux.devices().iter().flatten() {
        if !d.path().is_absolute() {
            return Err(Error::InvalidConfig {
                field: "linux.devices",
                reason: format!("device path {} is not absolute", d.path().display()),
            });
        }
    }
    let weight_devices = linux
        .resources()
        .as_ref()
        .and_then(|r| r.block_io().as_ref())
        .and_then(|b| b.weight_device().as_ref());
    for d in weight_devices.into_iter().flatten() {
        if d.weight().is_none() && d.leaf_weight().is_none() {
            return Err(Error::InvalidConfig {
                field: "linux.resources.blockIO.weightDevice",
                reason: format!(
                    "entry {}:{} needs a weight or a leafWeight",
                    d.major(),
                    d.minor()
                ),
            });
        }
    }
    sysctls(linux)
}

/// `linux.sysctl` may only change what the container's own namespaces
/// scope, as runc enforces: IPC keys need an ipc namespace, `net.*` a
/// network namespace that is not the runtime's, `kernel.domainname` a uts
/// namespace. Any other key (`kernel.panic`, `vm.*`) is global: writing it
/// from a container would change the host for everyone.
fn sysctls(linux: &Linux) -> Result<()> {
    const IPC_KEYS: [&str; 8] = [
        "kernel.msgmax",
        "kernel.msgmnb",
        "kernel.msgmni",
        "kernel.sem",
        "kernel.shmall",
        "kernel.shmmax",
        "kernel.shmmni",
        "kernel.shm_rmid_forced",
    ];
    let Some(sysctl) = linux.sysctl().as_ref().filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let namespaces = linux.namespaces().as_deref().unwrap_or_default();
    let entry = |typ| namespaces.iter().find(|n| n.typ() == typ);
    let own = |typ| entry(typ).is_some();
    // A network namespace joined by path must not be the runtime's own.
    let own_net = entry(LinuxNamespaceType::Network).is_some_and(|n| match n.path() {
        None => true,
        Some(p) => !same_file(p, Path::new("/proc/self/ns/net")),
    });
    for key in sysctl.keys() {
        let dotted = key.replace('/', ".");
        let bad = |reason: &str| Error::InvalidConfig {
            field: "linux.sysctl",
            reason: format!("{key:?} {reason}"),
        };
        if dotted
            .split('.')
            .any(|part| part.is_empty() || part == "..")
        {
            return Err(bad("is not a sysctl name"));
        }
        let refusal = if IPC_KEYS.contains(&dotted.as_str()) || dotted.starts_with("fs.mqueue.") {
            (!own(LinuxNamespaceType::Ipc))
                .then_some("needs an ipc namespace of the container's own")
        } else if dotted.starts_with("net.") {
            (!own_net).then_some("needs a network namespace of the container's own")
        } else if dotted == "kernel.hostname" {
            Some("conflicts with the config's hostname field")
        } else if dotted == "kernel.domainname" {
            (!own(LinuxNamespaceType::Uts))
                .then_some("needs a uts namespace of the container's own")
        } else {
            Some("is not scoped by a namespace of the container: it would change the host")
        };
        if let Some(reason) = refusal {
            return Err(bad(reason));
        }
    }
    Ok(())
}

/// Whether two paths name the same file (a namespace's inode).
fn same_file(a: &Path, b: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => x.dev() == y.dev() && x.ino() == y.ino(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_versions() {
        for ok in [
            "1.0.0",
            "1.2.0",
            "1.0.2-dev",
            "1.1.0-rc.1",
            "1.0.0+build.5",
            "1.2.1-0.3.7",
        ] {
            assert_eq!(parse_semver(ok), Some(1), "{ok}");
        }
        for bad in [
            "invalid", "1.0", "1.0.0.0", "01.0.0", "1.0.0-", "1.0.0-01", "1..0", "", "v1.0.0",
        ] {
            assert_eq!(parse_semver(bad), None, "{bad}");
        }
        assert!(oci_version("2.0.0").is_err());
        assert!(oci_version("1.2.0").is_ok());
    }
}
