//! `Version`, `Status`, `RuntimeConfig` and `UpdateRuntimeConfig`: what
//! berthd is and whether it can run pods now.

use crate::daemon::Daemon;
use crate::proto;
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use tonic::Status;

/// The CRI API version berthd speaks.
pub const API_VERSION: &str = "v1";
/// The name kubelet shows (`crictl version`).
pub const RUNTIME_NAME: &str = "berthd";

/// `Version`.
pub fn version() -> proto::VersionResponse {
    proto::VersionResponse {
        version: "0.1.0".into(),
        runtime_name: RUNTIME_NAME.into(),
        runtime_version: env!("CARGO_PKG_VERSION").into(),
        runtime_api_version: API_VERSION.into(),
    }
}

fn executable(p: &Path) -> bool {
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The runtime binary, found in PATH when it is a bare name.
fn find_program(p: &Path) -> Option<std::path::PathBuf> {
    if p.components().count() > 1 {
        return executable(p).then(|| p.to_path_buf());
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|d| d.join(p))
            .find(|c| executable(c))
    })
}

fn condition(kind: &str, ok: Result<(), (&str, String)>) -> proto::RuntimeCondition {
    match ok {
        Ok(()) => proto::RuntimeCondition {
            r#type: kind.into(),
            status: true,
            reason: String::new(),
            message: String::new(),
        },
        Err((reason, message)) => proto::RuntimeCondition {
            r#type: kind.into(),
            status: false,
            reason: reason.into(),
            message,
        },
    }
}

/// Why the configured cgroup driver cannot be used, if it cannot: the
/// systemd driver is not built, and needs systemd as PID 1 besides.
pub(crate) fn cgroup_driver_refusal(d: &Daemon) -> Option<&'static str> {
    if d.config.cgroup_driver != "systemd" {
        return None;
    }
    Some(if systemd_is_init() {
        "the systemd cgroup driver is not built; set cgroup_driver = \"cgroupfs\""
    } else {
        "the systemd cgroup driver needs systemd as PID 1, and it is not; set cgroup_driver = \"cgroupfs\""
    })
}

fn runtime_ready(d: &Daemon) -> Result<(), (&'static str, String)> {
    if let Some(why) = cgroup_driver_refusal(d) {
        return Err(("SystemdCgroupDriverUnsupported", why.into()));
    }
    if find_program(&d.runtime).is_none() {
        return Err((
            "RuntimeNotFound",
            format!(
                "OCI runtime {} is not an executable file",
                d.runtime.display()
            ),
        ));
    }
    Ok(())
}

fn systemd_is_init() -> bool {
    std::fs::read_to_string("/proc/1/comm").is_ok_and(|c| c.trim() == "systemd")
}

/// The plugins the engine's pod network runs.
const CNI_PLUGINS: [&str; 3] = ["bridge", "host-local", "portmap"];

fn network_ready(d: &Daemon) -> Result<(), (&'static str, String)> {
    let dir = &d.config.cni_plugin_dir;
    let missing: Vec<&str> = CNI_PLUGINS
        .iter()
        .copied()
        .filter(|p| !executable(&dir.join(p)))
        .collect();
    if !missing.is_empty() {
        return Err((
            "NetworkPluginNotReady",
            format!(
                "CNI plugins missing from {}: {}",
                dir.display(),
                missing.join(", ")
            ),
        ));
    }
    if !berth_engine::network::bridge_possible() {
        return Err((
            "NetworkPluginNotReady",
            "pod networks need root (rootless networking is not built)".into(),
        ));
    }
    Ok(())
}

/// `Status`: RuntimeReady and NetworkReady, each with its reason when
/// false; with `verbose`, the configuration in effect.
pub fn status(d: &Daemon, verbose: bool) -> proto::StatusResponse {
    let conditions = vec![
        condition("RuntimeReady", runtime_ready(d)),
        condition("NetworkReady", network_ready(d)),
    ];
    let mut info = HashMap::new();
    if verbose {
        let cidr = d.pod_cidr.lock().map(|c| c.clone()).unwrap_or_default();
        let config = serde_json::json!({
            "root": d.config.root,
            "runroot": d.config.runroot,
            "storageDriver": d.engine.store().driver_kind().name(),
            "runtime": d.runtime,
            "cgroupDriver": d.config.cgroup_driver,
            "cgroupParent": d.config.cgroup_parent,
            "cniConfigDir": d.config.cni_config_dir,
            "cniPluginDir": d.config.cni_plugin_dir,
            "pauseFree": d.config.pause_free,
            "podCIDR": cidr,
        });
        info.insert("config".to_string(), config.to_string());
    }
    proto::StatusResponse {
        status: Some(proto::RuntimeStatus { conditions }),
        info,
        runtime_handlers: Vec::new(),
        features: None,
    }
}

/// `RuntimeConfig`: the cgroup driver kubelet must match.
pub fn runtime_config(d: &Daemon) -> proto::RuntimeConfigResponse {
    let driver = if d.config.cgroup_driver == "systemd" {
        proto::CgroupDriver::Systemd
    } else {
        proto::CgroupDriver::Cgroupfs
    };
    proto::RuntimeConfigResponse {
        linux: Some(proto::LinuxRuntimeConfiguration {
            cgroup_driver: driver as i32,
        }),
    }
}

/// A CIDR as kubelet sends it: `ADDRESS/PREFIX`, v4 or v6.
fn check_cidr(s: &str) -> bool {
    let Some((addr, prefix)) = s.split_once('/') else {
        return false;
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.parse::<u8>().is_ok_and(|p| p <= max)
}

/// `UpdateRuntimeConfig`: kubelet's pod CIDR, kept and shown by `Status`.
/// The engine's bridge network keeps its own subnet (docs/berthd.md).
pub fn update_runtime_config(
    d: &Daemon,
    req: proto::UpdateRuntimeConfigRequest,
) -> Result<proto::UpdateRuntimeConfigResponse, Status> {
    let cidr = req
        .runtime_config
        .and_then(|c| c.network_config)
        .map(|n| n.pod_cidr)
        .unwrap_or_default();
    if cidr.is_empty() {
        return Ok(proto::UpdateRuntimeConfigResponse {});
    }
    if !check_cidr(&cidr) {
        return Err(Status::invalid_argument(format!(
            "pod CIDR {cidr:?} is not ADDRESS/PREFIX"
        )));
    }
    tracing::info!(pod_cidr = %cidr, "pod CIDR updated");
    if let Ok(mut c) = d.pod_cidr.lock() {
        *c = cidr;
    }
    Ok(proto::UpdateRuntimeConfigResponse {})
}

#[cfg(test)]
mod tests {
    #[test]
    fn cidrs() {
        assert!(super::check_cidr("10.244.0.0/24"));
        assert!(super::check_cidr("fd00::/64"));
        assert!(!super::check_cidr("10.244.0.0"));
        assert!(!super::check_cidr("10.244.0.0/33"));
        assert!(!super::check_cidr("ten/8"));
    }
}
