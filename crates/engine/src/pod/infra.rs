//! The pause-image mode, kept for compatibility: instead of pinned
//! namespace files, an infra container of `pause_image` (running
//! `pause_command`, else the image's command) owns the pod's namespaces.
//! It is an ordinary detached container on the bridge (its network
//! namespace pinned and attached as any container's, its hostPorts held
//! by its monitor); the pod's containers join its pinned network
//! namespace by path and its IPC and UTS namespaces through
//! `/proc/PID/ns/` of its running process, so they can be made only
//! while it runs. Stopping the pod stops it (which takes its network
//! down); removing the pod removes it.

use super::error::PodError;
use super::record::PodRecord;
use crate::engine::Engine;
use crate::error::Result;
use crate::options::{CreateOptions, NetworkMode};
use crate::records::Status;
use crate::spec_options::NamespaceMode;
use oci_spec::runtime::LinuxNamespaceType;
use std::path::PathBuf;

/// How long the infra container gets after its stop signal: pause exits
/// on SIGTERM at once; anything else is killed soon after.
const INFRA_STOP_TIMEOUT: u64 = 2;

impl Engine {
    /// Make and start the infra container of `rec`'s pod; record it and
    /// its network. On an error the caller removes what is recorded.
    pub(super) fn start_infra(&self, rec: &mut PodRecord, image: &str) -> Result<()> {
        let p = rec.options.clone();
        let mut c = CreateOptions {
            image: image.to_string(),
            name: Some(format!("{}-infra", &rec.id[..12])),
            command: p.pause_command.clone(),
            network: if p.host_network {
                NetworkMode::Host
            } else {
                NetworkMode::Bridge
            },
            ports: p.published(),
            hostname: (!p.host_network).then(|| p.own_hostname()),
            ..Default::default()
        };
        c.spec.ipc = p.host_ipc.then_some(NamespaceMode::Host);
        c.spec.uts = p.host_network.then_some(NamespaceMode::Host);
        c.spec.sysctls = p.sysctls.clone();
        c.spec.stop_timeout = Some(INFRA_STOP_TIMEOUT);
        c.labels = p.labels.clone();
        let id = self.create(&c)?;
        rec.infra = Some(id.clone());
        self.start_detached(&id)?;
        rec.network = self.refresh(&id)?.network;
        Ok(())
    }

    /// The namespaces a container of `rec`'s pod joins: the infra's
    /// pinned network namespace and its process's IPC and UTS ones.
    pub(super) fn infra_namespaces(
        &self,
        rec: &PodRecord,
        infra: &str,
    ) -> Result<Vec<(LinuxNamespaceType, PathBuf)>> {
        let state = self.refresh(infra)?;
        let (Status::Running, Some(proc)) = (state.status, state.process) else {
            return Err(PodError::NotReady {
                id: rec.id.clone(),
                what: format!("its infra container {} is {}", &infra[..12], state.status),
            }
            .into());
        };
        let mut out = Vec::new();
        if let Some(a) = &state.network {
            out.push((LinuxNamespaceType::Network, a.netns.clone()));
        }
        let ns = |f: &str| PathBuf::from(format!("/proc/{}/ns/{f}", proc.pid));
        if !rec.options.host_ipc {
            out.push((LinuxNamespaceType::Ipc, ns("ipc")));
        }
        if !rec.options.host_network {
            out.push((LinuxNamespaceType::Uts, ns("uts")));
        }
        Ok(out)
    }

    /// Stop the infra container (its exit takes the network down).
    pub(super) fn stop_infra(&self, infra: &str) -> Result<()> {
        match self.stop(infra, INFRA_STOP_TIMEOUT) {
            Ok(()) | Err(crate::Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Remove the infra container, stopping it first if it runs.
    pub(super) fn remove_infra(&self, infra: &str) -> Result<()> {
        match self.remove(infra, true) {
            Ok(()) | Err(crate::Error::NotFound(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
