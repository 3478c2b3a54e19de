//! The container calls over the engine: create in a pod, start under the
//! container's own monitor, stop, remove, list, status, ExecSync, stats.

use crate::container_config::{self, ATTEMPT_KEY, IMAGE_KEY, LOG_KEY, NAME_KEY};
use crate::daemon::Daemon;
use crate::pods::selected;
use crate::proto;
use crate::status_codes::{self, invalid};
use berth_engine::{ContainerInfo, ExecOptions, Status as Run};
use std::collections::HashMap;
use std::path::PathBuf;
use tonic::Status;

fn container_id(id: &str) -> Result<&str, Status> {
    match id.trim() {
        "" => Err(invalid("container_id is required")),
        id => Ok(id),
    }
}

/// `CreateContainer` in a Ready pod; its log at the pod's
/// `log_directory` joined with the config's `log_path`.
pub fn create(
    d: &Daemon,
    req: proto::CreateContainerRequest,
) -> Result<proto::CreateContainerResponse, Status> {
    let pod_id = req.pod_sandbox_id.trim();
    if pod_id.is_empty() {
        return Err(invalid("pod_sandbox_id is required"));
    }
    let config = req
        .config
        .ok_or_else(|| invalid("container config is required"))?;
    let pod = d.engine.pod(pod_id).map_err(status_codes::engine)?;
    let image_name = config
        .image
        .as_ref()
        .map(|i| i.image.trim())
        .filter(|i| !i.is_empty())
        .ok_or_else(|| invalid("container config needs an image"))?;
    // The image must be there: kubelet pulls first, berthd never does.
    let image = berth_image::find_image(
        &d.ctx,
        d.engine.store(),
        image_name.strip_prefix("sha256:").unwrap_or(image_name),
    )
    .map_err(status_codes::image)?;
    let log = match (&pod.options.log_directory, config.log_path.as_str()) {
        (_, "") => None,
        (Some(dir), p) => Some(dir.join(p)),
        (None, p) if p.starts_with('/') => Some(PathBuf::from(p)),
        (None, p) => Some(d.config.log_dir.join(p)),
    };
    let mut opts = container_config::create_options(d, &config, &pod, image.id)?;
    opts.log_path = log;
    let id = d.engine.create(&opts).map_err(status_codes::engine)?;
    tracing::info!(container = %id, pod = %pod.id, "container created");
    Ok(proto::CreateContainerResponse { container_id: id })
}

/// `StartContainer`: under its own monitor, so it outlives berthd.
pub fn start(
    d: &Daemon,
    req: proto::StartContainerRequest,
) -> Result<proto::StartContainerResponse, Status> {
    let id = container_id(&req.container_id)?;
    d.engine.start_detached(id).map_err(status_codes::engine)?;
    Ok(proto::StartContainerResponse {})
}

/// `StopContainer`: its stop signal, SIGKILL after `timeout` seconds;
/// a stopped or unknown container is success, as the CRI asks.
pub fn stop(
    d: &Daemon,
    req: proto::StopContainerRequest,
) -> Result<proto::StopContainerResponse, Status> {
    let id = container_id(&req.container_id)?;
    match d.engine.stop(id, req.timeout.max(0) as u64) {
        Ok(()) | Err(berth_engine::Error::NotFound(_)) => Ok(proto::StopContainerResponse {}),
        Err(e) => Err(status_codes::engine(e)),
    }
}

/// `RemoveContainer`: force (a running one is killed); idempotent.
pub fn remove(
    d: &Daemon,
    req: proto::RemoveContainerRequest,
) -> Result<proto::RemoveContainerResponse, Status> {
    let id = container_id(&req.container_id)?;
    match d.engine.remove(id, true) {
        Ok(()) | Err(berth_engine::Error::NotFound(_)) => Ok(proto::RemoveContainerResponse {}),
        Err(e) => Err(status_codes::engine(e)),
    }
}

/// `ReopenContainerLog`: after kubelet renamed the log away, the
/// container's monitor writes to a new file at the log path. A container
/// not running is FailedPrecondition and gets no new file (the CRI's
/// rule: an error means no new log).
pub fn reopen_log(
    d: &Daemon,
    req: proto::ReopenContainerLogRequest,
) -> Result<proto::ReopenContainerLogResponse, Status> {
    let id = container_id(&req.container_id)?;
    d.engine.reopen_log(id).map_err(status_codes::engine)?;
    Ok(proto::ReopenContainerLogResponse {})
}

fn state(i: &ContainerInfo) -> proto::ContainerState {
    match i.state.status {
        Run::Created => proto::ContainerState::ContainerCreated,
        Run::Running => proto::ContainerState::ContainerRunning,
        Run::Exited => proto::ContainerState::ContainerExited,
    }
}

fn annotation<'a>(i: &'a ContainerInfo, key: &str) -> Option<&'a str> {
    i.meta.options.spec.annotations.get(key).map(String::as_str)
}

fn metadata(i: &ContainerInfo) -> proto::ContainerMetadata {
    proto::ContainerMetadata {
        name: annotation(i, NAME_KEY).unwrap_or(&i.name).to_string(),
        attempt: annotation(i, ATTEMPT_KEY)
            .and_then(|a| a.parse().ok())
            .unwrap_or(0),
    }
}

/// The container's name as kubelet gave it.
pub(crate) fn cri_name(i: &ContainerInfo) -> String {
    metadata(i).name
}

fn labels(i: &ContainerInfo) -> HashMap<String, String> {
    i.meta.options.labels.clone().into_iter().collect()
}

fn annotations(i: &ContainerInfo) -> HashMap<String, String> {
    i.meta
        .options
        .spec
        .annotations
        .iter()
        .filter(|(k, _)| !k.starts_with("io.berth.cri."))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn image_spec(i: &ContainerInfo) -> proto::ImageSpec {
    proto::ImageSpec {
        image: annotation(i, IMAGE_KEY)
            .map(str::to_string)
            .unwrap_or_else(|| format!("sha256:{}", i.image_id)),
        ..Default::default()
    }
}

fn created_nanos(i: &ContainerInfo) -> i64 {
    i.created as i64 * 1_000_000_000 + i64::from(i.created_nanos)
}

/// The containers berthd made: those in a pod.
pub(crate) fn ours(d: &Daemon) -> Result<Vec<ContainerInfo>, Status> {
    let all = d.engine.list().map_err(status_codes::engine)?;
    Ok(all.into_iter().filter(|c| c.pod().is_some()).collect())
}

/// The filter `ListContainers` and `ListContainerStats` share: `id` and
/// `pod` as prefixes (empty for any), every label in `selector` (an empty
/// selector takes all).
fn matches(c: &ContainerInfo, id: &str, pod: &str, selector: &HashMap<String, String>) -> bool {
    c.id.starts_with(id)
        && (pod.is_empty() || c.pod().is_some_and(|p| p.starts_with(pod)))
        && selected(&c.meta.options.labels, selector)
}

/// `ListContainers`, filtered by id (or prefix), pod, state and labels.
pub fn list(
    d: &Daemon,
    req: proto::ListContainersRequest,
) -> Result<proto::ListContainersResponse, Status> {
    let f = req.filter.unwrap_or_default();
    let containers = ours(d)?
        .iter()
        .filter(|c| matches(c, &f.id, &f.pod_sandbox_id, &f.label_selector))
        .filter(|c| f.state.as_ref().is_none_or(|s| state(c) as i32 == s.state))
        .map(|c| proto::Container {
            id: c.id.clone(),
            pod_sandbox_id: c.pod().unwrap_or_default().to_string(),
            metadata: Some(metadata(c)),
            image: Some(image_spec(c)),
            image_ref: format!("sha256:{}", c.image_id),
            state: state(c) as i32,
            created_at: created_nanos(c),
            labels: labels(c),
            annotations: annotations(c),
            image_id: format!("sha256:{}", c.image_id),
        })
        .collect();
    Ok(proto::ListContainersResponse { containers })
}

/// An RFC 3339 time as the engine writes them (`…T03:04:05.123456789Z`,
/// UTC) as nanoseconds since the epoch; 0 for none or another form.
pub fn rfc3339_nanos(s: Option<&str>) -> i64 {
    s.and_then(|s| humantime::parse_rfc3339(s).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The log kubelet named (the engine's record of it; berthd before it
/// kept it in an annotation, which containers made then still carry).
fn log_path(i: &ContainerInfo) -> String {
    match &i.meta.options.log_path {
        Some(_) => i.log_path.display().to_string(),
        None => annotation(i, LOG_KEY).unwrap_or_default().to_string(),
    }
}

/// `ContainerStatus`; with `verbose`, the engine's record as JSON.
pub fn status(
    d: &Daemon,
    req: proto::ContainerStatusRequest,
) -> Result<proto::ContainerStatusResponse, Status> {
    let id = container_id(&req.container_id)?;
    let i = d.engine.inspect(id).map_err(status_codes::engine)?;
    Ok(status_of(&i, req.verbose))
}

/// What `ContainerStatus` answers for `i`, already read from the engine
/// (the events stream has every container of a tick from one list).
pub(crate) fn status_of(i: &ContainerInfo, verbose: bool) -> proto::ContainerStatusResponse {
    let st = state(i);
    let (reason, exit_code) = match st {
        proto::ContainerState::ContainerExited => {
            let code = i.state.exit_code.unwrap_or(-1);
            let reason = match code {
                0 => "Completed",
                137 => "OOMKilled or killed",
                _ => "Error",
            };
            (reason.to_string(), code)
        }
        _ => (String::new(), 0),
    };
    let mounts = i
        .meta
        .options
        .volumes
        .iter()
        .map(|v| proto::Mount {
            container_path: v.destination.clone(),
            host_path: v.source.clone(),
            readonly: v.readonly,
            ..Default::default()
        })
        .collect();
    let mut info = HashMap::new();
    if verbose {
        let v = serde_json::json!({
            "id": i.id,
            "name": i.name,
            "pod": i.pod(),
            "bundle": i.bundle,
            "pid": i.state.process.as_ref().map(|p| p.pid),
            "state": i.state,
            "command": i.meta.command,
            "cgroupsPath": i.meta.cgroups_path,
        });
        info.insert("info".to_string(), v.to_string());
    }
    let status = proto::ContainerStatus {
        id: i.id.clone(),
        metadata: Some(metadata(i)),
        state: st as i32,
        created_at: created_nanos(i),
        started_at: rfc3339_nanos(i.state.started_at.as_deref()),
        finished_at: if st == proto::ContainerState::ContainerExited {
            rfc3339_nanos(i.state.finished_at.as_deref())
        } else {
            0
        },
        exit_code,
        image: Some(image_spec(i)),
        image_ref: format!("sha256:{}", i.image_id),
        reason,
        message: i.state.error.clone().unwrap_or_default(),
        labels: labels(i),
        annotations: annotations(i),
        mounts,
        log_path: log_path(i),
        resources: None,
        image_id: format!("sha256:{}", i.image_id),
        user: None,
    };
    proto::ContainerStatusResponse {
        status: Some(status),
        info,
    }
}

/// The CRI's cap on ExecSync output (CVE-2022-1708).
const OUTPUT_CAP: usize = 16 << 20;

/// `ExecSync`: the command's output and exit code; past `timeout`
/// seconds it is killed and the call fails with DeadlineExceeded.
pub fn exec_sync(
    d: &Daemon,
    req: proto::ExecSyncRequest,
) -> Result<proto::ExecSyncResponse, Status> {
    let id = container_id(&req.container_id)?;
    if req.cmd.is_empty() {
        return Err(invalid("cmd is required"));
    }
    let opts = ExecOptions {
        command: req.cmd.clone(),
        ..Default::default()
    };
    let timeout = (req.timeout > 0).then(|| std::time::Duration::from_secs(req.timeout as u64));
    let mut out = d
        .engine
        .exec_output(id, &opts, timeout)
        .map_err(status_codes::engine)?;
    if out.timed_out {
        return Err(Status::deadline_exceeded(format!(
            "command {:?} timed out after {}s",
            req.cmd, req.timeout
        )));
    }
    out.stdout.truncate(OUTPUT_CAP);
    out.stderr.truncate(OUTPUT_CAP);
    Ok(proto::ExecSyncResponse {
        stdout: out.stdout,
        stderr: out.stderr,
        exit_code: out.exit_code,
    })
}

fn attributes(i: &ContainerInfo) -> proto::ContainerAttributes {
    proto::ContainerAttributes {
        id: i.id.clone(),
        metadata: Some(metadata(i)),
        labels: labels(i),
        annotations: annotations(i),
    }
}

pub(crate) fn stats_of(d: &Daemon, i: &ContainerInfo) -> Result<proto::ContainerStats, Status> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.as_nanos() as i64)
        .unwrap_or(0);
    let (cpu, memory) = if i.state.status == Run::Running {
        let s = d.engine.stats(&i.id).map_err(status_codes::engine)?;
        (
            Some(proto::CpuUsage {
                timestamp: now,
                usage_core_nano_seconds: Some(proto::UInt64Value { value: s.cpu_nanos }),
                usage_nano_cores: None,
            }),
            Some(proto::MemoryUsage {
                timestamp: now,
                working_set_bytes: Some(proto::UInt64Value { value: s.mem_usage }),
                usage_bytes: Some(proto::UInt64Value { value: s.mem_usage }),
                ..Default::default()
            }),
        )
    } else {
        (None, None)
    };
    Ok(proto::ContainerStats {
        attributes: Some(attributes(i)),
        cpu,
        memory,
        writable_layer: Some(writable_layer(d, i, now)?),
        swap: None,
    })
}

/// What the container's own layer holds on disk (running or not), on
/// the store's filesystem.
pub(crate) fn writable_layer(
    d: &Daemon,
    i: &ContainerInfo,
    now: i64,
) -> Result<proto::FilesystemUsage, Status> {
    let store = d.engine.store();
    let u = store
        .container_layer_usage(&i.id)
        .map_err(status_codes::storage)?;
    Ok(proto::FilesystemUsage {
        timestamp: now,
        fs_id: Some(proto::FilesystemIdentifier {
            mountpoint: store.root().display().to_string(),
        }),
        used_bytes: Some(proto::UInt64Value { value: u.bytes }),
        inodes_used: Some(proto::UInt64Value { value: u.inodes }),
    })
}

/// `ContainerStats`: cpu and memory from the container's cgroup, the
/// writable layer from the store.
pub fn stats(
    d: &Daemon,
    req: proto::ContainerStatsRequest,
) -> Result<proto::ContainerStatsResponse, Status> {
    let id = container_id(&req.container_id)?;
    let i = d.engine.inspect(id).map_err(status_codes::engine)?;
    Ok(proto::ContainerStatsResponse {
        stats: Some(stats_of(d, &i)?),
    })
}

/// `ListContainerStats`, filtered as `ListContainers`.
pub fn list_stats(
    d: &Daemon,
    req: proto::ListContainerStatsRequest,
) -> Result<proto::ListContainerStatsResponse, Status> {
    let f = req.filter.unwrap_or_default();
    let stats = ours(d)?
        .iter()
        .filter(|c| matches(c, &f.id, &f.pod_sandbox_id, &f.label_selector))
        .map(|c| stats_of(d, c))
        .collect::<Result<_, _>>()?;
    Ok(proto::ListContainerStatsResponse { stats })
}

#[cfg(test)]
mod tests {
    #[test]
    fn rfc3339_as_nanos() {
        assert_eq!(
            super::rfc3339_nanos(Some("1970-01-01T00:00:01.5Z")),
            1_500_000_000
        );
        assert_eq!(
            super::rfc3339_nanos(Some("2001-09-09T01:46:40Z")),
            1_000_000_000 * 1_000_000_000
        );
        assert_eq!(super::rfc3339_nanos(Some("1970-01-01T01:00:00+01:00")), 0);
        assert_eq!(super::rfc3339_nanos(None), 0);
        assert_eq!(super::rfc3339_nanos(Some("garbage")), 0);
    }
}
