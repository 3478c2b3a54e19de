//! What the engine does with the spec options beyond config.json: at
//! create, `--name` checked against podman's pattern, a hostname refused
//! in a UTS namespace not the container's own, and
//! `--pid/--ipc/--uts/--cgroupns/--network container:NAME` kept by the
//! other's id (a rename does not lose it), and the other not removed while
//! such a container exists (podman's dependent containers). Each start first starts those other
//! containers when they do not run (as podman does, each through its own
//! start path and locks), then points config.json at `/proc/PID/ns/` of
//! their running processes; `--expose` added to the image's exposed
//! ports; `--stop-timeout` as `stop`'s default.

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::image_config::ImageConfig;
use crate::options::CreateOptions;
use crate::records::Status;
use crate::spec_options::NamespaceMode;
use oci_spec::runtime::LinuxNamespaceType;
use std::path::PathBuf;

/// The namespace modes of `opts` with their kind and `/proc/PID/ns/` name.
fn modes(opts: &CreateOptions) -> [(LinuxNamespaceType, &'static str, &Option<NamespaceMode>); 5] {
    let s = &opts.spec;
    [
        (LinuxNamespaceType::Pid, "pid", &s.pid),
        (LinuxNamespaceType::Ipc, "ipc", &s.ipc),
        (LinuxNamespaceType::Uts, "uts", &s.uts),
        (LinuxNamespaceType::Cgroup, "cgroup", &s.cgroupns),
        (LinuxNamespaceType::Network, "net", &s.net),
    ]
}

impl Engine {
    /// The options as the container keeps them: the name checked against
    /// podman's pattern, `container:NAME` modes by the other's id.
    pub(crate) fn spec_create_options(&self, opts: &CreateOptions) -> Result<CreateOptions> {
        if let Some(name) = &opts.name {
            crate::spec_options::check_name(name)?;
        }
        if opts.hostname.is_some()
            && matches!(
                opts.spec.uts,
                Some(NamespaceMode::Host | NamespaceMode::Container(_))
            )
        {
            return Err(Error::InvalidConfig(
                "cannot set hostname when running in the host UTS namespace".into(),
            ));
        }
        let mut out = opts.clone();
        let s = &mut out.spec;
        for mode in [
            &mut s.pid,
            &mut s.ipc,
            &mut s.uts,
            &mut s.cgroupns,
            &mut s.net,
        ] {
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

    /// The `/proc/PID/ns/` files of the running containers whose
    /// namespaces `opts` joins. One that does not run (yet) is left out:
    /// [`Engine::start_dependencies`] starts it and fills its path in.
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
            if let (Status::Running, Some(p)) = (state.status, state.process) {
                out.push((typ, PathBuf::from(format!("/proc/{}/ns/{file}", p.pid))));
            }
        }
        Ok(out)
    }

    /// Before container `c` starts: start each container whose namespace
    /// it joins and that does not run (detached, through its own start
    /// path, with no record lock of ours held: locks are never nested),
    /// then, under `c`'s record lock, point its config.json at their
    /// processes' namespaces. A container that cannot be started is the
    /// error, naming it.
    pub(crate) fn start_dependencies(&self, c: &berth_storage::Container) -> Result<()> {
        let opts = crate::meta::Meta::of(c)?.options;
        if !modes(&opts)
            .iter()
            .any(|(_, _, m)| matches!(m, Some(NamespaceMode::Container(_))))
        {
            return Ok(());
        }
        for (_, _, mode) in modes(&opts) {
            let Some(NamespaceMode::Container(key)) = mode else {
                continue;
            };
            let dep = self.container(key)?;
            if self.refresh(&dep.id)?.status != Status::Running {
                match self.start_detached(&dep.id) {
                    Ok(()) => {}
                    // Started meanwhile by someone else: what we wanted.
                    Err(Error::State { .. }) => {}
                    Err(e) => {
                        return Err(Error::State {
                            name: dep.name,
                            state: "not running".into(),
                            what: format!("starting it for container {}: {e}", c.name),
                        })
                    }
                }
            }
        }
        let record = self.record(&c.id);
        let _lock = record.lock()?;
        let shared = self.shared_namespaces(&opts)?;
        let path = record.path().join("config.json");
        let mut spec = crate::exec_process::read_config(&path)?;
        let Some(linux) = spec.linux_mut() else {
            return Ok(());
        };
        let mut list = linux.namespaces().clone().unwrap_or_default();
        for (typ, file, mode) in modes(&opts) {
            if !matches!(mode, Some(NamespaceMode::Container(_))) {
                continue;
            }
            let Some((_, ns_path)) = shared.iter().find(|(t, _)| *t == typ) else {
                return Err(Error::State {
                    name: c.name.clone(),
                    state: "created".into(),
                    what: format!("the container whose {file} namespace it joins stopped"),
                });
            };
            list.retain(|n| n.typ() != typ);
            let mut ns = oci_spec::runtime::LinuxNamespace::default();
            ns.set_typ(typ);
            ns.set_path(Some(ns_path.clone()));
            list.push(ns);
        }
        linux.set_namespaces(Some(list));
        let bytes = serde_json::to_vec_pretty(&spec).map_err(|source| Error::Record {
            path: path.clone(),
            source,
        })?;
        berth_storage::write_atomic(&path, &bytes)?;
        Ok(())
    }
}

impl Engine {
    /// The ids of the containers that join a namespace of container `id`
    /// (`--pid container:` and the like): podman refuses to remove it
    /// while they exist. Working containers of builds join none.
    pub(crate) fn dependents(&self, id: &str) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for c in self.store.containers()? {
            if c.id == id || crate::working_containers::is_working_container(&c) {
                continue;
            }
            let Ok(meta) = crate::meta::Meta::of(&c) else {
                continue;
            };
            let joins = modes(&meta.options)
                .iter()
                .any(|(_, _, m)| matches!(m, Some(NamespaceMode::Container(k)) if k == id));
            if joins {
                out.push(c.id);
            }
        }
        Ok(out)
    }

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
