//! A container in a pod: at create its options are made the pod's (its
//! network, PID, IPC and UTS modes, its hostname; no ports of its own),
//! and whenever its bundle is written the config.json joins the pod's
//! pinned namespaces by path, binds the pod's `hosts`, `hostname`,
//! `resolv.conf` and `/dev/shm`, and puts its cgroup under the pod's cgroup parent.

use super::error::PodError;
use super::record::{PodLock, PodState};
use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::options::{CreateOptions, NetworkMode};
use crate::spec_options::NamespaceMode;
use oci_spec::runtime::{LinuxNamespace, LinuxNamespaceType, Spec};
use std::path::PathBuf;

/// What a container's bundle takes from its pod.
pub(crate) struct PodJoin {
    /// The pod's cgroup parent, if it has its own.
    pub cgroup_parent: Option<String>,
    /// The pinned namespaces to join.
    pub namespaces: Vec<(LinuxNamespaceType, PathBuf)>,
    /// The pod's directory, holding its `hosts`, `hostname`, `resolv.conf`.
    pub files: PathBuf,
    /// The pod's `/dev/shm` tmpfs, bound over the container's.
    pub shm: Option<PathBuf>,
}

impl Engine {
    /// `opts` as a container of its pod keeps them (the pod by its full
    /// id), and the pod's lock, to hold until the container is made: a
    /// pod removed meanwhile would miss it. An unknown or stopped pod, or
    /// ports of the container's own, are refused.
    pub(crate) fn pod_container_options(
        &self,
        opts: &CreateOptions,
    ) -> Result<(CreateOptions, Option<PodLock>)> {
        let Some(key) = &opts.pod else {
            return Ok((opts.clone(), None));
        };
        let dirs = self.pod_dirs();
        let id = dirs.resolve(key)?;
        let (lock, rec) = dirs
            .lock_existing(&id)?
            .ok_or_else(|| PodError::NotFound(key.clone()))?;
        if rec.state != PodState::Ready {
            return Err(PodError::NotReady {
                id,
                what: "no container can be created in a stopped pod".into(),
            }
            .into());
        }
        if !opts.ports.is_empty() || opts.publish_all {
            return Err(Error::InvalidOption {
                option: "--publish",
                value: opts
                    .ports
                    .first()
                    .map_or("-P".into(), |p| p.container_port.to_string()),
                reason: "a container in a pod publishes no ports: the pod does".into(),
            });
        }
        let mut out = opts.clone();
        out.pod = Some(id);
        let p = &rec.options;
        if p.host_network {
            out.network = NetworkMode::Host;
            out.spec.uts = Some(NamespaceMode::Host);
        } else {
            // Its own namespace in config.json, replaced by the pod's path.
            out.network = NetworkMode::None;
            out.hostname = Some(p.own_hostname());
        }
        if p.host_pid {
            out.spec.pid = Some(NamespaceMode::Host);
        }
        if p.host_ipc {
            out.spec.ipc = Some(NamespaceMode::Host);
        }
        Ok((out, Some(lock)))
    }

    /// Refuse to start a container of a stopped or removed pod (its
    /// namespaces are gone) with the pod's reason, not the runtime's.
    pub(crate) fn pod_ready_to_start(&self, c: &berth_storage::Container) -> Result<()> {
        let Some(id) = crate::meta::Meta::of(c)?.options.pod else {
            return Ok(());
        };
        let rec = self
            .pod_dirs()
            .load(&id)?
            .ok_or_else(|| PodError::NotFound(id.clone()))?;
        if rec.state != PodState::Ready {
            return Err(PodError::NotReady {
                id,
                what: format!("container {} can't start in a stopped pod", c.name),
            }
            .into());
        }
        Ok(())
    }

    /// What the bundle of a container with `opts` takes from its pod;
    /// None outside a pod.
    pub(crate) fn pod_join(&self, opts: &CreateOptions) -> Result<Option<PodJoin>> {
        let Some(id) = &opts.pod else {
            return Ok(None);
        };
        let dirs = self.pod_dirs();
        let rec = dirs
            .load(id)?
            .ok_or_else(|| PodError::NotFound(id.clone()))?;
        if let Some(infra) = &rec.infra {
            return Ok(Some(PodJoin {
                namespaces: self.infra_namespaces(&rec, infra)?,
                cgroup_parent: rec.options.cgroup_parent,
                files: dirs.dir(id),
                shm: rec.shm,
            }));
        }
        let mut namespaces = Vec::new();
        if !rec.options.host_network {
            namespaces.push((LinuxNamespaceType::Network, self.networks.netns_path(id)));
        }
        if let Some(p) = rec.ipc {
            namespaces.push((LinuxNamespaceType::Ipc, p));
        }
        if let Some(p) = rec.uts {
            namespaces.push((LinuxNamespaceType::Uts, p));
        }
        Ok(Some(PodJoin {
            cgroup_parent: rec.options.cgroup_parent,
            namespaces,
            files: dirs.dir(id),
            shm: rec.shm,
        }))
    }
}

/// Make `spec` join the pod: its namespaces by path, its files bound in.
pub(crate) fn apply(spec: &mut Spec, j: &PodJoin) {
    if let Some(linux) = spec.linux_mut() {
        let mut list = linux.namespaces().clone().unwrap_or_default();
        for (typ, path) in &j.namespaces {
            list.retain(|n| n.typ() != *typ);
            let mut ns = LinuxNamespace::default();
            ns.set_typ(*typ);
            ns.set_path(Some(path.clone()));
            list.push(ns);
        }
        linux.set_namespaces(Some(list));
    }
    if j.namespaces
        .iter()
        .any(|(t, _)| *t == LinuxNamespaceType::Uts)
    {
        // The pinned namespace has the pod's hostname; setting one here
        // would change it for the whole pod.
        spec.set_hostname(None);
    }
    if let Some(mounts) = spec.mounts_mut() {
        for m in mounts.iter_mut() {
            let file = match m.destination().to_str() {
                Some("/etc/hosts") => "hosts",
                Some("/etc/hostname") => "hostname",
                Some("/etc/resolv.conf") => "resolv.conf",
                Some("/dev/shm") => {
                    if let Some(shm) = &j.shm {
                        m.set_typ(Some("bind".into()));
                        m.set_source(Some(shm.clone()));
                        let o = ["rbind", "rprivate", "nosuid", "noexec", "nodev"];
                        m.set_options(Some(o.iter().map(|s| s.to_string()).collect()));
                    }
                    continue;
                }
                _ => continue,
            };
            m.set_source(Some(j.files.join(file)));
        }
    }
}
