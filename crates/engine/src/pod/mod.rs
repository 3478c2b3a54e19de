//! Pods as the CRI's sandboxes: a group of containers sharing network,
//! IPC and UTS namespaces, pinned without a pause process (bind-mounted
//! namespace files, as CRI-O's pinns), networked by the engine's CNI
//! layer (bridge, host-local, portmap with the pod's hostPorts), with one
//! `hosts`/`hostname`/`resolv.conf` for all of them and their cgroups
//! under the pod's cgroup parent. State lives under the runroot with
//! flocks (the `record` module), so the CLI and a CRI server share it and a
//! restarted server finds every pod.
//!
//! Life: [`Engine::create_pod`] (Ready) → containers made with
//! `CreateOptions::pod` → [`Engine::stop_pod`] (containers stopped,
//! network down, NotReady; idempotent) → [`Engine::remove_pod`]
//! (containers removed, namespaces unpinned, record gone; a Ready pod is
//! stopped first, as CRI-O does; idempotent). With `pause_image` an
//! infra container owns the namespaces instead (the `infra` module).

mod cgroup;
mod error;
mod files;
mod infra;
pub(crate) mod join;
mod namespaces;
mod options;
mod record;
mod shm;

pub use error::PodError;
pub use options::{PodDns, PodOptions};
pub use record::PodState;

use crate::engine::{ContainerInfo, Engine};
use crate::error::{Error, Result};
use namespaces::Pins;
use record::{PodDirs, PodLock, PodRecord};
use serde::Serialize;
use std::path::PathBuf;

/// A pod as `pods` and `pod` show it.
#[derive(Debug, Clone, Serialize)]
pub struct PodInfo {
    /// 64 hex digits.
    pub id: String,
    /// What it was made from.
    pub options: PodOptions,
    /// Ready, or NotReady once stopped.
    pub state: PodState,
    /// Creation time, nanoseconds since the epoch.
    pub created_nanos: i64,
    /// Its address on the bridge while Ready (None on the host's network).
    pub ip: Option<std::net::IpAddr>,
    /// Its pinned network namespace while Ready (None on the host's
    /// network).
    pub netns_path: Option<PathBuf>,
}

impl ContainerInfo {
    /// The id of the pod the container is in, if any.
    pub fn pod(&self) -> Option<&str> {
        self.meta.options.pod.as_deref()
    }
}

impl Engine {
    pub(crate) fn pod_dirs(&self) -> PodDirs {
        PodDirs::new(&self.opts.runroot)
    }

    /// Make a pod: its IPC and UTS namespaces pinned (the hostname and
    /// namespaced sysctls set in them), its network namespace pinned and
    /// put on the bridge with its hostPorts, its `hosts`/`hostname`/
    /// `resolv.conf` written; Ready. A pod with the same name, namespace,
    /// uid and attempt is [`PodError::Exists`]. On any error nothing of it
    /// is left. Returns the id.
    pub fn create_pod(&self, opts: &PodOptions) -> Result<String> {
        opts.check()?;
        let dirs = self.pod_dirs();
        let _all = dirs.lock_all()?;
        for id in dirs.ids()? {
            let Some(r) = dirs.load(&id)? else { continue };
            let o = &r.options;
            if (&o.name, &o.namespace, &o.uid, o.attempt)
                == (&opts.name, &opts.namespace, &opts.uid, opts.attempt)
            {
                return Err(PodError::Exists {
                    name: o.name.clone(),
                    namespace: o.namespace.clone(),
                    uid: o.uid.clone(),
                    attempt: o.attempt,
                    id,
                }
                .into());
            }
        }
        self.networks.check_ports(&opts.published())?;
        let id = record::new_id();
        let lock = dirs.lock(&id)?;
        let mut rec = PodRecord {
            id: id.clone(),
            options: opts.clone(),
            state: PodState::Ready,
            created_nanos: now_nanos(),
            cgroups_made: opts
                .cgroup_parent
                .as_deref()
                .map(cgroup::missing)
                .unwrap_or_default(),
            ..Default::default()
        };
        if let Err(e) = self.make_pod(&dirs, &lock, &mut rec) {
            let _ = self.unmake_pod(&mut rec);
            let _ = dirs.remove(&id);
            return Err(e);
        }
        Ok(id)
    }

    fn make_pod(&self, dirs: &PodDirs, lock: &PodLock, rec: &mut PodRecord) -> Result<()> {
        let opts = rec.options.clone();
        let dir = dirs.dir(&rec.id);
        let hostname = if opts.host_network {
            nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_default()
        } else {
            opts.own_hostname()
        };
        if !opts.host_ipc {
            rec.shm = Some(shm::mount_shm(&dir)?);
        }
        if let Some(image) = &opts.pause_image {
            self.start_infra(rec, image)?;
            let ip = rec.network.as_ref().map(|a| a.ip.as_str());
            files::write(&dir, &opts, &hostname, ip)?;
            return dirs.save(lock, rec);
        }
        let (ipc, uts) = namespaces::pin(&Pins {
            dir: &dir.join("ns"),
            ipc: !opts.host_ipc,
            hostname: (!opts.host_network).then_some(hostname.as_str()),
            sysctls: &opts.sysctls,
        })?;
        (rec.ipc, rec.uts) = (ipc, uts);
        if !opts.host_network {
            let a = self.networks.attach(&rec.id, &opts.published())?;
            rec.network = Some(a);
            namespaces::net_sysctls(&self.networks.netns_path(&rec.id), &opts.sysctls)?;
        }
        let ip = rec.network.as_ref().map(|a| a.ip.as_str());
        files::write(&dir, &opts, &hostname, ip)?;
        dirs.save(lock, rec)
    }

    /// Take the pod's network down (its namespace unpinned, CNI DEL, host
    /// ports freed); what is undone already is skipped.
    fn pod_network_down(&self, rec: &mut PodRecord) -> Result<()> {
        if let Some(infra) = &rec.infra {
            self.stop_infra(infra)?;
            rec.network = None;
            return Ok(());
        }
        if rec.network.is_some() || self.networks.is_attached(&rec.id) {
            self.networks.detach(&rec.id)?;
        }
        rec.network = None;
        Ok(())
    }

    /// Undo everything the pod holds besides its containers and record:
    /// network, pinned namespaces, the cgroup directories it made.
    fn unmake_pod(&self, rec: &mut PodRecord) -> Result<()> {
        self.pod_network_down(rec)?;
        if let Some(infra) = rec.infra.take() {
            self.remove_infra(&infra)?;
        }
        for pin in [rec.ipc.take(), rec.uts.take()].into_iter().flatten() {
            namespaces::unpin(&pin)?;
        }
        if let Some(at) = rec.shm.take() {
            shm::unmount_shm(&at)?;
        }
        cgroup::remove(&rec.cgroups_made);
        Ok(())
    }

    /// The containers of pod `id`.
    fn pod_containers(&self, id: &str) -> Result<Vec<ContainerInfo>> {
        Ok(self
            .list()?
            .into_iter()
            .filter(|c| c.pod() == Some(id))
            .collect())
    }

    /// Stop containers side by side, each with its stop signal and then
    /// SIGKILL after its own timeout.
    fn stop_containers(&self, ctrs: &[ContainerInfo]) -> Result<()> {
        std::thread::scope(|s| {
            let handles: Vec<_> = ctrs
                .iter()
                .map(|c| {
                    s.spawn(move || {
                        let timeout = self.stop_timeout(&c.id)?;
                        match self.stop(&c.id, timeout) {
                            Ok(()) | Err(Error::NotFound(_)) => Ok(()),
                            Err(e) => Err(e),
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect::<Result<Vec<()>>>()
        })?;
        Ok(())
    }

    /// Stop a pod: its containers (stop signal, SIGKILL after their
    /// timeouts), then its network; NotReady. A stopped or unknown pod is
    /// fine (the CRI's StopPodSandbox is idempotent).
    pub fn stop_pod(&self, key: &str) -> Result<()> {
        let dirs = self.pod_dirs();
        let id = match dirs.resolve(key) {
            Ok(id) => id,
            Err(Error::Pod(PodError::NotFound(_))) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some((lock, mut rec)) = dirs.lock_existing(&id)? else {
            return Ok(());
        };
        self.stop_locked(&dirs, &lock, &mut rec)
    }

    fn stop_locked(&self, dirs: &PodDirs, lock: &PodLock, rec: &mut PodRecord) -> Result<()> {
        self.stop_containers(&self.pod_containers(&rec.id)?)?;
        self.pod_network_down(rec)?;
        rec.state = PodState::NotReady;
        dirs.save(lock, rec)
    }

    /// Remove a pod: a Ready one is stopped first (as CRI-O's
    /// RemovePodSandbox does), then its containers are removed, its
    /// namespaces unpinned, the cgroup directories it made and its record
    /// removed. An unknown pod is fine (idempotent).
    pub fn remove_pod(&self, key: &str) -> Result<()> {
        let dirs = self.pod_dirs();
        let id = match dirs.resolve(key) {
            Ok(id) => id,
            Err(Error::Pod(PodError::NotFound(_))) => return Ok(()),
            Err(e) => return Err(e),
        };
        let Some((lock, mut rec)) = dirs.lock_existing(&id)? else {
            return Ok(());
        };
        if rec.state == PodState::Ready {
            self.stop_locked(&dirs, &lock, &mut rec)?;
        }
        for c in self.pod_containers(&id)? {
            match self.remove(&c.id, true) {
                Ok(()) | Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        self.unmake_pod(&mut rec)?;
        dirs.save(&lock, &rec)?;
        // Under the lock: a remover waiting on it then finds no record.
        dirs.remove(&id)?;
        drop(lock);
        Ok(())
    }

    /// Pod `key`: an id or a unique id prefix.
    pub fn pod(&self, key: &str) -> Result<PodInfo> {
        let dirs = self.pod_dirs();
        let id = dirs.resolve(key)?;
        let rec = dirs
            .load(&id)?
            .ok_or_else(|| PodError::NotFound(key.into()))?;
        Ok(self.pod_info(rec))
    }

    /// Every pod, newest first.
    pub fn pods(&self) -> Result<Vec<PodInfo>> {
        let dirs = self.pod_dirs();
        let mut out = Vec::new();
        for id in dirs.ids()? {
            if let Some(rec) = dirs.load(&id)? {
                out.push(self.pod_info(rec));
            }
        }
        out.sort_by_key(|p| std::cmp::Reverse(p.created_nanos));
        Ok(out)
    }

    fn pod_info(&self, rec: PodRecord) -> PodInfo {
        let netns_path = rec.network.as_ref().map(|a| match rec.infra {
            Some(_) => a.netns.clone(),
            None => self.networks.netns_path(&rec.id),
        });
        PodInfo {
            ip: rec.network.as_ref().and_then(|a| a.ip.parse().ok()),
            netns_path,
            id: rec.id,
            options: rec.options,
            state: rec.state,
            created_nanos: rec.created_nanos,
        }
    }
}

/// Nanoseconds since the epoch (0 for a clock set before it).
fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}
