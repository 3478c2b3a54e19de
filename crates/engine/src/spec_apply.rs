//! [`SpecOptions`] applied to the config.json `spec::build` made: each
//! option changes the typed spec where podman's would, and the checks
//! that depend on other options (a sysctl of a namespace the container
//! does not own, `--memory-swap` without `--memory`) refuse here, at
//! create, before anything runs.

use crate::error::{Error, IoContext, Result};
use crate::options::{CreateOptions, NetworkMode};
use crate::rootfs_reader::RootfsReader;
use crate::spec_options::{cpu_list, sysctl_namespace, NamespaceMode, SpecOptions};
use oci_spec::runtime::{
    LinuxCpu, LinuxDeviceCgroup, LinuxNamespace, LinuxNamespaceType, LinuxResources, Spec,
};
use std::path::{Path, PathBuf};

/// What applying needs besides the options.
pub(crate) struct ApplyInputs<'a> {
    /// The image's root, for `--group-add` names.
    pub root: &'a RootfsReader,
    /// The bundle directory (`localtime` for `--tz` goes there).
    pub dir: &'a Path,
    /// The namespace files of `container:NAME` modes, by kind.
    pub shared: &'a [(LinuxNamespaceType, PathBuf)],
    /// The container's directory for `-v …:O` upper and work directories.
    pub overlays: &'a Path,
}

fn invalid(option: &'static str, value: impl Into<String>, reason: impl Into<String>) -> Error {
    Error::InvalidOption {
        option,
        value: value.into(),
        reason: reason.into(),
    }
}

/// Apply `opts.spec` to `spec`.
pub(crate) fn apply(spec: &mut Spec, opts: &CreateOptions, inp: &ApplyInputs<'_>) -> Result<()> {
    let s = &opts.spec;
    namespaces(spec, s, inp.shared)?;
    sysctls(spec, opts)?;
    resources(spec, opts)?;
    shm_size(spec, s);
    crate::host_devices::apply(spec, opts)?;
    security(spec, opts)?;
    process(spec, s, inp.root)?;
    timezone(spec, s, inp.dir)?;
    crate::mount_apply::apply(spec, opts, inp.overlays)?;
    if !s.annotations.is_empty() {
        let mut a = spec.annotations().clone().unwrap_or_default();
        a.extend(s.annotations.iter().map(|(k, v)| (k.clone(), v.clone())));
        spec.set_annotations(Some(a));
    }
    Ok(())
}

/// `--pid`/`--ipc`/`--uts`/`--cgroupns` (and `--network container:`):
/// the host's (no entry), a new one, or another container's (its
/// `/proc/PID/ns/` file).
fn namespaces(
    spec: &mut Spec,
    s: &SpecOptions,
    shared: &[(LinuxNamespaceType, PathBuf)],
) -> Result<()> {
    use LinuxNamespaceType as T;
    let modes = [
        (T::Pid, &s.pid),
        (T::Ipc, &s.ipc),
        (T::Uts, &s.uts),
        (T::Cgroup, &s.cgroupns),
        (T::Network, &s.net),
    ];
    let Some(linux) = spec.linux_mut() else {
        return Ok(());
    };
    let mut list = linux.namespaces().clone().unwrap_or_default();
    for (typ, mode) in modes {
        let Some(mode) = mode else { continue };
        list.retain(|n| n.typ() != typ);
        let path = match mode {
            NamespaceMode::Host => continue,
            NamespaceMode::Private => None,
            NamespaceMode::Container(_) => shared
                .iter()
                .find(|(t, _)| *t == typ)
                .map(|(_, p)| p.clone()),
        };
        let mut ns = LinuxNamespace::default();
        ns.set_typ(typ);
        ns.set_path(path);
        list.push(ns);
    }
    linux.set_namespaces(Some(list));
    // A hostname is set only in a UTS namespace of the container's own;
    // setting it in the host's or another container's would change theirs.
    if matches!(
        s.uts,
        Some(NamespaceMode::Host | NamespaceMode::Container(_))
    ) {
        spec.set_hostname(None);
    }
    Ok(())
}

/// `--sysctl`: only of a namespace the container owns (podman's checks).
fn sysctls(spec: &mut Spec, opts: &CreateOptions) -> Result<()> {
    let s = &opts.spec;
    if s.sysctls.is_empty() {
        return Ok(());
    }
    for (name, value) in &s.sysctls {
        let (kind, shared) = match sysctl_namespace(name) {
            Some("net") => ("Network", opts.network == NetworkMode::Host),
            Some("ipc") => ("IPC", matches!(s.ipc, Some(NamespaceMode::Host))),
            Some("uts") => ("UTS", matches!(s.uts, Some(NamespaceMode::Host))),
            _ => return Err(invalid("--sysctl", name, "sysctl is not allowed")),
        };
        if shared {
            return Err(invalid(
                "--sysctl",
                format!("{name}={value}"),
                format!("can't be set since {kind} Namespace set to host"),
            ));
        }
    }
    if let Some(linux) = spec.linux_mut() {
        let map = s.sysctls.iter().map(|(k, v)| (k.clone(), v.clone()));
        linux.set_sysctl(Some(map.collect()));
    }
    Ok(())
}

/// `--memory-swap`, `--cpu-shares`, `--cpuset-cpus` in `linux.resources`.
fn resources(spec: &mut Spec, opts: &CreateOptions) -> Result<()> {
    let s = &opts.spec;
    if let Some(swap) = s.memory_swap {
        let Some(memory) = opts.memory else {
            return Err(invalid(
                "--memory-swap",
                swap.to_string(),
                "you should always set a memory limit when using a memoryswap limit",
            ));
        };
        if swap != -1 && swap < memory {
            return Err(invalid(
                "--memory-swap",
                swap.to_string(),
                "minimum memoryswap limit should be larger than memory limit",
            ));
        }
    }
    if let Some(cpus) = &s.cpuset_cpus {
        let asked =
            cpu_list(cpus).ok_or_else(|| invalid("--cpuset-cpus", cpus, "not a list of cpus"))?;
        let online = std::fs::read_to_string("/sys/devices/system/cpu/online")
            .ctx("read", Path::new("/sys/devices/system/cpu/online"))?;
        let available = cpu_list(online.trim()).unwrap_or_default();
        if asked.iter().any(|c| !available.contains(c)) {
            return Err(invalid(
                "--cpuset-cpus",
                cpus,
                format!(
                    "requested CPUs are not available (available: {})",
                    online.trim()
                ),
            ));
        }
    }
    let Some(linux) = spec.linux_mut() else {
        return Ok(());
    };
    let mut r = linux.resources().clone().unwrap_or_default();
    if let Some(swap) = s.memory_swap {
        let mut m = r.memory().unwrap_or_default();
        m.set_swap(Some(swap));
        r.set_memory(Some(m));
    }
    if s.cpu_shares.is_some() || s.cpuset_cpus.is_some() {
        let mut c = r.cpu().clone().unwrap_or_else(LinuxCpu::default);
        if let Some(shares) = s.cpu_shares {
            c.set_shares(Some(shares));
        }
        if let Some(cpus) = &s.cpuset_cpus {
            c.set_cpus(Some(cpus.clone()));
        }
        r.set_cpu(Some(c));
    }
    linux.set_resources(Some(r));
    Ok(())
}

/// A device rule for the cgroup allow-list.
pub(crate) fn device_rule(
    typ: Option<oci_spec::runtime::LinuxDeviceType>,
    major: Option<i64>,
    minor: Option<i64>,
    access: &str,
) -> LinuxDeviceCgroup {
    let mut d = LinuxDeviceCgroup::default();
    d.set_allow(true);
    d.set_typ(typ);
    d.set_major(major);
    d.set_minor(minor);
    d.set_access(Some(access.into()));
    d
}

/// Append `rules` to `linux.resources.devices`.
pub(crate) fn add_device_rules(spec: &mut Spec, rules: Vec<LinuxDeviceCgroup>) {
    if let Some(linux) = spec.linux_mut() {
        let mut r = linux
            .resources()
            .clone()
            .unwrap_or_else(LinuxResources::default);
        let mut list = r.devices().clone().unwrap_or_default();
        list.extend(rules);
        r.set_devices(Some(list));
        linux.set_resources(Some(r));
    }
}

/// `--shm-size`: the `size=` of the `/dev/shm` tmpfs.
fn shm_size(spec: &mut Spec, s: &SpecOptions) {
    let Some(size) = s.shm_size else { return };
    let Some(mounts) = spec.mounts_mut() else {
        return;
    };
    for m in mounts.iter_mut() {
        if m.destination() == Path::new("/dev/shm") {
            let mut o = m.options().clone().unwrap_or_default();
            o.retain(|o| !o.starts_with("size="));
            o.push(format!("size={size}"));
            m.set_options(Some(o));
        }
    }
}

/// `--security-opt`: no-new-privileges, a seccomp profile of the user's,
/// masked paths added or given back.
fn security(spec: &mut Spec, opts: &CreateOptions) -> Result<()> {
    let sec = &opts.spec.security;
    if sec.no_new_privileges {
        if let Some(p) = spec.process_mut() {
            p.set_no_new_privileges(Some(true));
        }
    }
    let Some(linux) = spec.linux_mut() else {
        return Ok(());
    };
    if let Some(text) = &sec.seccomp_profile {
        // podman: --privileged and seccomp=unconfined win over a profile.
        if !opts.privileged && !opts.seccomp_unconfined {
            let caps = crate::confinement::capabilities_over(
                opts.defaults.capabilities.as_deref(),
                opts.privileged,
                &opts.cap_add,
                &opts.cap_drop,
            )?;
            let profile = crate::seccomp_profile::from_json(text, &caps).map_err(|e| {
                invalid(
                    "--security-opt",
                    "seccomp=PROFILE",
                    format!("bad profile: {e}"),
                )
            })?;
            linux.set_seccomp(Some(profile));
        }
    }
    if sec.unmask.iter().any(|p| p == "ALL") {
        linux.set_masked_paths(None);
        linux.set_readonly_paths(None);
    } else if !sec.unmask.is_empty() {
        if let Some(l) = linux.masked_paths_mut() {
            l.retain(|p| !sec.unmask.contains(p));
        }
        if let Some(l) = linux.readonly_paths_mut() {
            l.retain(|p| !sec.unmask.contains(p));
        }
    }
    if !sec.mask.is_empty() {
        let mut masked = linux.masked_paths().clone().unwrap_or_default();
        masked.extend(sec.mask.iter().filter(|p| *p != "ALL").cloned());
        linux.set_masked_paths(Some(masked));
    }
    Ok(())
}

/// `--oom-score-adj`, and `--group-add` (numbers, or names of the image's
/// `/etc/group`, read inside its root).
fn process(spec: &mut Spec, s: &SpecOptions, root: &RootfsReader) -> Result<()> {
    let mut gids = Vec::new();
    for g in &s.group_add {
        gids.push(match g.parse::<u32>() {
            Ok(n) => n,
            // The group half of `user:group` is the one lookup of a group
            // name; user 0 always resolves.
            Err(_) => crate::image_users::resolve_user(root, &format!("0:{g}"))?.gid,
        });
    }
    let Some(p) = spec.process_mut() else {
        return Ok(());
    };
    if let Some(adj) = s.oom_score_adj {
        p.set_oom_score_adj(Some(adj));
    }
    if !gids.is_empty() {
        let user = p.user_mut();
        let mut all = user.additional_gids().clone().unwrap_or_default();
        for g in gids {
            if !all.contains(&g) {
                all.push(g);
            }
        }
        user.set_additional_gids(Some(all));
    }
    Ok(())
}

/// `--tz`: the host's zone file copied beside the bundle and bound
/// read-only over `/etc/localtime` (podman sets no `TZ`).
fn timezone(spec: &mut Spec, s: &SpecOptions, dir: &Path) -> Result<()> {
    let Some(tz) = &s.timezone else { return Ok(()) };
    let source = match tz.as_str() {
        "local" => PathBuf::from("/etc/localtime"),
        z if z.is_empty()
            || z.starts_with('/')
            || z.split('/').any(|c| c == ".." || c.is_empty()) =>
        {
            return Err(invalid("--tz", z, "not a zone name"))
        }
        z => Path::new("/usr/share/zoneinfo").join(z),
    };
    let bytes = match std::fs::read(&source) {
        Ok(b) => b,
        Err(e) => {
            return Err(invalid(
                "--tz",
                tz,
                format!("reading {}: {e}", source.display()),
            ))
        }
    };
    let copy = dir.join("localtime");
    std::fs::write(&copy, bytes).ctx("write", &copy)?;
    let m = oci_spec::runtime::MountBuilder::default()
        .destination("/etc/localtime")
        .typ("bind")
        .source(&copy)
        .options(
            ["rbind", "rprivate", "nosuid", "nodev", "ro"]
                .map(String::from)
                .to_vec(),
        )
        .build()
        .map_err(|source| Error::Spec {
            what: "mounts",
            source,
        })?;
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(m);
    spec.set_mounts(Some(mounts));
    Ok(())
}
