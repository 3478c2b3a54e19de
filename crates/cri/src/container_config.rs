//! kubelet's ContainerConfig as the engine's [`CreateOptions`]: command
//! and args over the image's entrypoint and cmd, envs, working dir,
//! mounts, devices, resources and the security context. What the engine
//! cannot do yet is refused with InvalidArgument, never dropped.

use crate::daemon::Daemon;
use crate::proto;
use crate::status_codes::invalid;
use berth_engine::spec_options::DeviceMapping;
use berth_engine::volume_options::MountOptions;
use berth_engine::{CreateOptions, NetworkMode, PodInfo, Volume};
use tonic::Status;

/// Annotations berthd keeps on a container for its own answers; they are
/// not shown to kubelet as the container's annotations.
pub const NAME_KEY: &str = "io.berth.cri.name";
/// The container's attempt.
pub const ATTEMPT_KEY: &str = "io.berth.cri.attempt";
/// The log file kubelet named, as berthd kept it before the engine's
/// `CreateOptions::log_path` (read for containers made then).
pub const LOG_KEY: &str = "io.berth.cri.log-path";
/// The image as kubelet asked for it.
pub const IMAGE_KEY: &str = "io.berth.cri.image";

/// The container's name in the store, unique per pod and attempt as
/// CRI-O's and dockershim's (`k8s_NAME_POD_NAMESPACE_UID_ATTEMPT`).
fn store_name(meta: &proto::ContainerMetadata, pod: &PodInfo) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!(
        "k8s_{}_{}_{}_{}_{}",
        clean(&meta.name),
        clean(&pod.options.name),
        clean(&pod.options.namespace),
        clean(&pod.options.uid),
        meta.attempt
    )
}

/// The CRI's command/args over the image's Entrypoint/Cmd: `command`
/// replaces the Entrypoint (and drops the Cmd), `args` replaces the Cmd.
fn command(c: &proto::ContainerConfig, o: &mut CreateOptions) {
    if !c.command.is_empty() {
        o.entrypoint = Some(String::new());
        o.command = c.command.iter().chain(&c.args).cloned().collect();
    } else {
        o.command = c.args.clone();
    }
}

fn mounts(c: &proto::ContainerConfig) -> Result<Vec<Volume>, Status> {
    c.mounts
        .iter()
        .map(|m| {
            if m.container_path.is_empty() || !m.container_path.starts_with('/') {
                return Err(invalid(format!(
                    "mount container_path {:?} must be absolute",
                    m.container_path
                )));
            }
            // CRI's modes are the kernel's recursive ones (CRI-O maps them so).
            let propagation = match proto::MountPropagation::try_from(m.propagation) {
                Ok(proto::MountPropagation::PropagationPrivate) => None,
                Ok(proto::MountPropagation::PropagationHostToContainer) => Some("rslave"),
                Ok(proto::MountPropagation::PropagationBidirectional) => Some("rshared"),
                Err(_) => {
                    return Err(invalid(format!(
                        "mount {}: unknown propagation {}",
                        m.container_path, m.propagation
                    )))
                }
            };
            if m.image.is_some() || !m.uid_mappings.is_empty() || !m.gid_mappings.is_empty() {
                return Err(invalid(format!(
                    "mount {}: image volumes and id-mapped mounts are not built",
                    m.container_path
                )));
            }
            if !m.host_path.starts_with('/') {
                return Err(invalid(format!(
                    "mount host_path {:?} must be absolute",
                    m.host_path
                )));
            }
            Ok(Volume {
                source: m.host_path.clone(),
                destination: m.container_path.clone(),
                readonly: m.readonly || m.recursive_read_only,
                anonymous: false,
                options: MountOptions {
                    propagation: propagation.map(String::from),
                    ..MountOptions::default()
                },
            })
        })
        .collect()
}

fn devices(c: &proto::ContainerConfig) -> Vec<DeviceMapping> {
    c.devices
        .iter()
        .map(|d| DeviceMapping {
            host: d.host_path.clone(),
            container: if d.container_path.is_empty() {
                d.host_path.clone()
            } else {
                d.container_path.clone()
            },
            permissions: if d.permissions.is_empty() {
                "rwm".into()
            } else {
                d.permissions.clone()
            },
        })
        .collect()
}

fn resources(r: &proto::LinuxContainerResources, o: &mut CreateOptions) -> Result<(), Status> {
    if r.memory_limit_in_bytes > 0 {
        o.memory = Some(r.memory_limit_in_bytes);
    }
    if r.memory_swap_limit_in_bytes > 0 {
        o.spec.memory_swap = Some(r.memory_swap_limit_in_bytes);
    }
    if r.cpu_shares > 0 {
        o.spec.cpu_shares = Some(r.cpu_shares as u64);
    }
    if r.cpu_quota > 0 {
        let period = if r.cpu_period > 0 {
            r.cpu_period
        } else {
            100_000
        };
        o.cpus = Some(r.cpu_quota as f64 / period as f64);
    }
    if !r.cpuset_cpus.is_empty() {
        o.spec.cpuset_cpus = Some(r.cpuset_cpus.clone());
    }
    if r.oom_score_adj != 0 {
        let adj = i32::try_from(r.oom_score_adj)
            .ok()
            .filter(|a| (-1000..=1000).contains(a))
            .ok_or_else(|| {
                invalid(format!(
                    "oom_score_adj {} is outside -1000..1000",
                    r.oom_score_adj
                ))
            })?;
        o.spec.oom_score_adj = Some(adj);
    }
    if !r.cpuset_mems.is_empty() || !r.hugepage_limits.is_empty() || !r.unified.is_empty() {
        return Err(invalid(
            "cpuset_mems, hugepage limits and unified cgroup keys are not built",
        ));
    }
    Ok(())
}

fn seccomp(
    d: &Daemon,
    p: Option<&proto::SecurityProfile>,
    o: &mut CreateOptions,
) -> Result<(), Status> {
    use proto::security_profile::ProfileType;
    let localhost = |path: &str| -> Result<String, Status> {
        std::fs::read_to_string(path).map_err(|e| invalid(format!("seccomp profile {path}: {e}")))
    };
    match p.map(|p| {
        (
            ProfileType::try_from(p.profile_type),
            p.localhost_ref.as_str(),
        )
    }) {
        None | Some((Ok(ProfileType::RuntimeDefault), _)) => {
            if !d.config.seccomp_profile.as_os_str().is_empty() {
                let path = d.config.seccomp_profile.display().to_string();
                o.spec.security.seccomp_profile = Some(localhost(&path)?);
            }
        }
        Some((Ok(ProfileType::Unconfined), _)) => o.seccomp_unconfined = true,
        Some((Ok(ProfileType::Localhost), path)) => {
            o.spec.security.seccomp_profile = Some(localhost(path)?)
        }
        Some((Err(_), _)) => return Err(invalid("unknown seccomp profile type")),
    }
    Ok(())
}

fn security(
    d: &Daemon,
    s: &proto::LinuxContainerSecurityContext,
    o: &mut CreateOptions,
) -> Result<(), Status> {
    o.privileged = s.privileged;
    o.read_only = s.readonly_rootfs;
    o.spec.security.no_new_privileges = s.no_new_privs;
    if let Some(c) = &s.capabilities {
        let name = |c: &String| {
            if c.eq_ignore_ascii_case("ALL") || c.to_ascii_uppercase().starts_with("CAP_") {
                c.to_ascii_uppercase()
            } else {
                format!("CAP_{}", c.to_ascii_uppercase())
            }
        };
        o.cap_add = c.add_capabilities.iter().map(name).collect();
        o.cap_drop = c.drop_capabilities.iter().map(name).collect();
        if !c.add_ambient_capabilities.is_empty() {
            return Err(invalid("ambient capabilities are not built"));
        }
    }
    let user = match (&s.run_as_user, s.run_as_username.as_str()) {
        (Some(uid), _) => Some(uid.value.to_string()),
        (None, "") => None,
        (None, name) => Some(name.to_string()),
    };
    o.user = match (user, &s.run_as_group) {
        (Some(u), Some(g)) => Some(format!("{u}:{}", g.value)),
        (Some(u), None) => Some(u),
        (None, Some(_)) => {
            return Err(invalid("run_as_group needs run_as_user or run_as_username"))
        }
        (None, None) => None,
    };
    o.spec.group_add = s
        .supplemental_groups
        .iter()
        .map(|g| g.to_string())
        .collect();
    // kubelet sends the default masked and read-only lists; the engine's
    // defaults are the same set, so only extra masked paths are added.
    o.spec.security.mask = s.masked_paths.clone();
    seccomp(d, s.seccomp.as_ref(), o)?;
    if let Some(a) = &s.apparmor {
        if a.profile_type != proto::security_profile::ProfileType::Unconfined as i32 {
            tracing::info!("AppArmor profile asked for; this host has no AppArmor: not applied");
        }
    }
    if s.selinux_options.is_some() {
        tracing::info!("SELinux options given; this host has no SELinux: not applied");
    }
    Ok(())
}

/// The engine's options for container `c` in `pod`.
pub fn create_options(
    d: &Daemon,
    c: &proto::ContainerConfig,
    pod: &PodInfo,
    image: String,
) -> Result<CreateOptions, Status> {
    let meta = c
        .metadata
        .as_ref()
        .filter(|m| !m.name.is_empty())
        .ok_or_else(|| invalid("container config needs metadata with a name"))?;
    let mut o = CreateOptions {
        image,
        name: Some(store_name(meta, pod)),
        pod: Some(pod.id.clone()),
        network: NetworkMode::None,
        tty: c.tty,
        interactive: c.stdin,
        workdir: Some(c.working_dir.clone()).filter(|w| !w.is_empty()),
        env: c
            .envs
            .iter()
            .map(|e| format!("{}={}", e.key, e.value))
            .collect(),
        volumes: mounts(c)?,
        labels: c.labels.clone().into_iter().collect(),
        ..Default::default()
    };
    command(c, &mut o);
    o.spec.devices = devices(c);
    o.spec.annotations = c.annotations.clone().into_iter().collect();
    o.spec
        .annotations
        .insert(NAME_KEY.into(), meta.name.clone());
    o.spec
        .annotations
        .insert(ATTEMPT_KEY.into(), meta.attempt.to_string());
    if let Some(spec) = &c.image {
        o.spec
            .annotations
            .insert(IMAGE_KEY.into(), spec.image.clone());
    }
    if !d.config.default_capabilities.is_empty() {
        o.defaults.capabilities = Some(d.config.default_capabilities.clone());
    }
    if let Some(linux) = &c.linux {
        if let Some(r) = &linux.resources {
            resources(r, &mut o)?;
        }
        if let Some(s) = &linux.security_context {
            security(d, s, &mut o)?;
        }
    } else {
        seccomp(d, None, &mut o)?;
    }
    Ok(o)
}
