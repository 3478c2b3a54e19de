//! What the engine does with the spec options beyond config.json: at
//! create, `--name` checked against podman's pattern and
//! `--pid/--ipc/--uts/--cgroupns container:NAME` kept by the other's id
//! (a rename does not lose it), whose namespaces are joined through
//! `/proc/PID/ns/` of its running process whenever the bundle is written;
//! `--expose` added to the image's exposed ports; `--stop-timeout` as
//! `stop`'s default.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::image_config::ImageConfig;
use crate::options::CreateOptions;
use crate::records::Status;
use crate::spec_options::NamespaceMode;
use oci_spec::runtime::LinuxNamespaceType;
use std::path::PathBuf;

/// The namespace modes of `opts` with their kind and `/proc/PID/ns/` name.
fn modes(opts: &CreateOptions) -> [(LinuxNamespaceType, &'static str, &Option<NamespaceMode>); 4] {
    let s = &opts.spec;
    [
        (LinuxNamespaceType::Pid, "pid", &s.pid),
        (LinuxNamespaceType::Ipc, "ipc", &s.ipc),
        (LinuxNamespaceType::Uts, "uts", &s.uts),
        (LinuxNamespaceType::Cgroup, "cgroup", &s.cgroupns),
    ]
}

impl Engine {
    /// The options as the container keeps them: the name checked against
    /// podman's pattern, `container:NAME` modes by the other's id.
    pub(crate) fn spec_create_options(&self, opts: &CreateOptions) -> Result<CreateOptions> {
        if let Some(name) = &opts.name {
            crate::spec_options::check_name(name)?;
        }
        let mut out = opts.clone();
        let s = &mut out.spec;
        for mode in [&mut s.pid, &mut s.ipc, &mut s.uts, &mut s.cgroupns] {
            if let Some(NamespaceMode::Container(key)) = mode {
                let c = self.container(key).map_err(|e| match e {
                    Error::NotFound(_) => Error::InvalidOption {
                        option: "namespace",
                        value: format!("container:{key}"),
                        reason: format!("no container with name or ID {key:?} found"),
                    },
                    e => e,
                })?;
                *key = c.id;
            }
        }
        Ok(out)
    }

    /// The `/proc/PID/ns/` files of the containers whose namespaces `opts`
    /// joins; each of them must be running.
    pub(crate) fn shared_namespaces(
        &self,
        opts: &CreateOptions,
    ) -> Result<Vec<(LinuxNamespaceType, PathBuf)>> {
        let mut out = Vec::new();
        for (typ, file, mode) in modes(opts) {
            let Some(NamespaceMode::Container(key)) = mode else {
                continue;
            };
            let c = self.container(key)?;
            let state = self.refresh(&c.id)?;
            match (state.status, state.process) {
                (Status::Running, Some(p)) => {
                    out.push((typ, PathBuf::from(format!("/proc/{}/ns/{file}", p.pid))))
                }
                _ => {
                    return Err(Error::State {
                        name: c.name,
                        state: state.status.to_string(),
                        what: format!("its {file} namespace can be joined only while it runs"),
                    })
                }
            }
        }
        Ok(out)
    }
}

impl Engine {
    /// How long `stop` waits for container `key` before SIGKILL when the
    /// caller does not say: its `--stop-timeout`, else podman's 10 seconds.
    pub fn stop_timeout(&self, key: &str) -> Result<u64> {
        let c = self.container(key)?;
        Ok(crate::meta::Meta::of(&c)?
            .options
            .spec
            .stop_timeout
            .unwrap_or(DEFAULT_STOP_TIMEOUT))
    }
}

/// podman's default wait before SIGKILL.
pub const DEFAULT_STOP_TIMEOUT: u64 = 10;

/// The image's exposed ports with `--expose`'s added (what `-P`
/// publishes and `inspect` lists).
pub(crate) fn with_exposed(mut image: ImageConfig, opts: &CreateOptions) -> ImageConfig {
    if opts.spec.expose.is_empty() {
        return image;
    }
    let mut ports = image.exposed_ports().clone().unwrap_or_default();
    for p in &opts.spec.expose {
        if !ports.contains(p) {
            ports.push(p.clone());
        }
    }
    image.set_exposed_ports(Some(ports));
    image
}
