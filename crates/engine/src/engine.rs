//! The engine: containers from images in storage, their records under the
//! runroot, and the runtime that runs them.

use crate::bundle::{self, BundleInputs};
use crate::error::{Error, IoContext, Result};
use crate::image_config::{self, ImageConfig};
use crate::meta::Meta;
use crate::network::{Networks, NetworksConfig};
use crate::options::CreateOptions;
use crate::records::{RecordDir, RecordLock, State, Status};
use crate::runtime::Runtime;
use berth_storage::{NewContainer, Store};
use serde::Serialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// How an [`Engine`] is set up.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// Run state (default /run/berth): records, bundles, logs, and the
    /// runtime's state under `runtime/`.
    pub runroot: PathBuf,
    /// The OCI runtime binary.
    pub runtime: PathBuf,
    /// The cgroup every container's cgroup goes under (absolute).
    pub cgroup_parent: String,
    /// The monitor to start for a detached container: the program and its
    /// leading arguments; the container id is appended.
    pub monitor: Vec<OsString>,
}

/// A container as `ps` and `inspect` show it.
#[derive(Debug, Clone, Serialize)]
pub struct ContainerInfo {
    /// 64 hex digits.
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// The image id.
    pub image_id: String,
    /// What the engine keeps about it.
    pub meta: Meta,
    /// Creation time, seconds since the epoch.
    pub created: u64,
    /// Its nanoseconds.
    pub created_nanos: u32,
    /// What it is doing.
    pub state: State,
    /// Its log file.
    pub log_path: PathBuf,
    /// Its bundle directory.
    pub bundle: PathBuf,
}

/// Containers from images, with no daemon: every call works from any
/// process, consistent through storage's locks and the records' flocks.
pub struct Engine {
    pub(crate) store: Store,
    pub(crate) ctx: berth_image::Context,
    pub(crate) opts: EngineOptions,
    pub(crate) runtime: Runtime,
    pub(crate) networks: crate::network::Networks,
}

impl Engine {
    /// An engine over `store`, finding images by name as `ctx` says.
    pub fn new(store: Store, ctx: berth_image::Context, opts: EngineOptions) -> Engine {
        let runtime = Runtime {
            path: opts.runtime.clone(),
            root: opts.runroot.join("runtime"),
        };
        Engine {
            // Namespaces pinned under the runroot; the rest host-wide.
            networks: Networks::new(NetworksConfig::with_netns_dir(opts.runroot.join("netns"))),
            store,
            ctx,
            opts,
            runtime,
        }
    }

    /// The store it works on.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn record(&self, id: &str) -> RecordDir {
        RecordDir::new(&self.opts.runroot, id)
    }

    /// The storage container `key` names, or [`Error::NotFound`].
    pub(crate) fn container(&self, key: &str) -> Result<berth_storage::Container> {
        match self.store.container(key) {
            Ok(c) => Ok(c),
            Err(berth_storage::Error::ContainerNotFound(_)) => Err(Error::NotFound(key.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Container `key` and its state, refused with `what` as the reason
    /// unless it is running (`running`) or unless it is not (`!running`).
    pub(crate) fn in_state(
        &self,
        key: &str,
        running: bool,
        what: &str,
    ) -> Result<(berth_storage::Container, State)> {
        let c = self.container(key)?;
        let state = self.refresh(&c.id)?;
        if (state.status == Status::Running) != running {
            return Err(Error::State {
                name: c.name,
                state: state.status.to_string(),
                what: what.into(),
            });
        }
        Ok((c, state))
    }

    /// Create a container: a read-write layer over the image and a bundle.
    /// On any error nothing is left behind (no layer, no record). Returns
    /// the id.
    pub fn create(&self, opts: &CreateOptions) -> Result<String> {
        if let Some(l) = opts.log_path.as_deref().filter(|l| !l.is_absolute()) {
            return Err(Error::InvalidOption {
                option: "log path",
                value: l.display().to_string(),
                reason: "must be absolute".into(),
            });
        }
        for v in &opts.volumes {
            if v.source.starts_with('/') && !Path::new(&v.source).exists() {
                return Err(Error::InvalidOption {
                    option: "--volume",
                    value: format!("{}:{}", v.source, v.destination),
                    reason: format!("host path {} does not exist", v.source),
                });
            }
        }
        crate::confinement::capabilities(opts.privileged, &opts.cap_add, &opts.cap_drop)?;
        opts.life.check(opts.remove)?;
        let opts = &self.spec_create_options(opts)?;
        // Held until the container is made: the pod can't go meanwhile.
        let (opts, _pod_lock) = self.pod_container_options(opts)?;
        let opts = &opts;
        let image = berth_image::find_image(&self.ctx, &self.store, &opts.image)?;
        let config = image_config::execution(&image_config::parse(
            &image.id,
            &self.store.image_config(&image.id)?,
        )?);
        let config = crate::spec_create::with_exposed(config, opts);
        let opts = &self.network_options(opts, &config)?;
        let volumes = self.new_volumes(opts, &config)?;
        let opts = &volumes.options;
        let c = self.store.create_container(NewContainer {
            name: opts.name.clone(),
            image: image.id.clone(),
            ..Default::default()
        })?;
        let record = self.record(&c.id);
        let prepared =
            self.prepare(&c, opts, &config, &record)
                .and_then(|()| match &opts.log_path {
                    Some(l) => self.set_log_path(&c.id, l),
                    None => Ok(()),
                });
        if let Err(e) = prepared {
            let _ = record.remove();
            let _ = self.remove_volume_overlays(&c.id);
            let _ = self.store.remove_container(&c.id, true);
            return Err(e);
        }
        let image = opts.image.clone();
        let labels = opts.labels.clone();
        volumes.keep();
        self.event_with_image(&c, image, &labels, "create", None);
        Ok(c.id)
    }

    /// Write the bundle again when the runroot lost it (a reboot: the
    /// runroot is a tmpfs); the options are kept in storage. Called by
    /// whoever starts a container before the launch, not by the launch:
    /// the monitor then never links the bundle's code (its resident size
    /// follows its binary's), and a missing bundle there is an error.
    pub(crate) fn ensure_bundle(&self, c: &berth_storage::Container) -> Result<()> {
        let record = self.record(&c.id);
        if record.path().join("config.json").exists() {
            return Ok(());
        }
        let _lock = record.lock()?;
        if record.path().join("config.json").exists() {
            return Ok(());
        }
        let opts = Meta::of(c)?.options;
        let config = image_config::execution(&image_config::parse(
            &c.image,
            &self.store.image_config(&c.image)?,
        )?);
        let config = crate::spec_create::with_exposed(config, &opts);
        self.prepare(c, &opts, &config, &record)?;
        match &opts.log_path {
            Some(l) => self.set_log_path(&c.id, l),
            None => Ok(()),
        }
    }

    /// Write the bundle of `c` and keep its metadata: the rootfs is
    /// mounted only while the bundle reads the image's files.
    fn prepare(
        &self,
        c: &berth_storage::Container,
        opts: &CreateOptions,
        image: &ImageConfig,
        record: &RecordDir,
    ) -> Result<()> {
        let shared_namespaces = self.shared_namespaces(opts)?;
        let pod = self.pod_join(opts)?;
        let rootfs = self.store.mount_container(&c.id)?;
        let inputs = BundleInputs {
            id: &c.id,
            name: &c.name,
            opts,
            image,
            rootfs: &rootfs,
            dir: record.path(),
            cgroup_parent: pod
                .as_ref()
                .and_then(|p| p.cgroup_parent.as_deref())
                .unwrap_or(&self.opts.cgroup_parent),
            netns: opts.network.pins_netns().then(|| self.netns_path(&c.id)),
            shared_namespaces,
            pod: pod.as_ref(),
            volume_overlays: self.volume_overlay_dir(&c.id),
        };
        let written = bundle::write(&inputs, |root| self.volume_binds(opts, root));
        let _ = self.store.unmount_container(&c.id, false);
        let meta = Meta {
            last_run: Meta::of(c)?.last_run,
            ..written?
        };
        self.store
            .set_container_metadata(&c.id, meta.to_value(&c.id)?)?;
        Ok(())
    }

    /// Bring the record in line with reality: a container recorded as
    /// running whose process and monitor are both gone (killed, or a
    /// reboot) becomes exited, and what it held is released.
    pub fn refresh(&self, id: &str) -> Result<State> {
        let record = self.record(id);
        if !record.path().exists() {
            return self.state_without_record(id);
        }
        let state = record.load()?;
        if state.status != Status::Running || still_watched(&state)? {
            return Ok(state);
        }
        let lock = record.lock()?;
        let mut state = record.load()?;
        self.settle(id, &lock, &mut state)?;
        Ok(state)
    }

    /// [`Engine::refresh`] with the record locked and loaded into `state`.
    pub(crate) fn settle(&self, id: &str, lock: &RecordLock, state: &mut State) -> Result<()> {
        if state.status != Status::Running || still_watched(state)? {
            return Ok(());
        }
        state.status = Status::Exited;
        state.paused = false;
        state.finished_at = Some(crate::clock::now_rfc3339());
        state.process = None;
        state.monitor = None;
        self.forget_other_boot(id, state);
        let released = self.release(id, state);
        self.record(id).save(lock, state)?;
        released
    }

    /// Free what a run held: the runtime's container (its cgroup) and the
    /// rootfs mount. Record lock held.
    pub(crate) fn release(&self, id: &str, state: &mut State) -> Result<()> {
        self.runtime.delete(id)?;
        self.network_down(id, state)?;
        if state.mounted {
            match self.store.unmount_container(id, false) {
                Ok(_) | Err(berth_storage::Error::ContainerNotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
            state.mounted = false;
        }
        Ok(())
    }

    /// A container as `inspect` shows it.
    pub fn inspect(&self, key: &str) -> Result<ContainerInfo> {
        self.info(self.container(key)?)
    }

    fn info(&self, c: berth_storage::Container) -> Result<ContainerInfo> {
        let state = self.refresh(&c.id)?;
        let record = self.record(&c.id);
        let meta = Meta::of(&c)?;
        Ok(ContainerInfo {
            log_path: (meta.options.log_path.clone())
                .unwrap_or_else(|| record.path().join("ctr.log")),
            meta,
            bundle: record.path().to_path_buf(),
            id: c.id,
            name: c.name,
            image_id: c.image,
            created: c.created,
            created_nanos: c.created_nanos,
            state,
        })
    }

    /// The config.json the container runs (or ran) with, if its bundle is
    /// there: what `inspect` shows of its process, mounts and limits.
    pub fn container_spec(&self, info: &ContainerInfo) -> Result<Option<oci_spec::runtime::Spec>> {
        let path = info.bundle.join("config.json");
        if !path.exists() {
            return Ok(None);
        }
        crate::exec_process::read_config(&path).map(Some)
    }

    /// Every container, newest first; builds' working containers are not
    /// containers to run and stay out ([`Engine::working_containers`]).
    pub fn list(&self) -> Result<Vec<ContainerInfo>> {
        let mut out = Vec::new();
        for c in self.store.containers()? {
            if crate::working_containers::is_working_container(&c) {
                continue;
            }
            match self.info(c) {
                Ok(i) => out.push(i),
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by_key(|i| std::cmp::Reverse((i.created, i.created_nanos)));
        Ok(out)
    }

    /// Remove a container: refused while it runs unless `force` (which
    /// kills it), and while other containers join its namespaces. Its
    /// layer, record, bundle and log go.
    pub fn remove(&self, key: &str, force: bool) -> Result<()> {
        let c = self.container(key)?;
        let state = self.refresh(&c.id)?;
        if state.status == Status::Running && !force {
            return Err(Error::State {
                name: c.name,
                state: state.status.to_string(),
                what: "stop it first, or remove it with --force".into(),
            });
        }
        // podman's order: a running one without force is refused first.
        let dependents = self.dependents(&c.id)?;
        if !dependents.is_empty() {
            return Err(Error::Dependents {
                id: c.id,
                dependents,
            });
        }
        if state.status == Status::Running {
            self.stop(&c.id, 0)?;
        }
        let record = self.record(&c.id);
        {
            let lock = record.lock()?;
            let mut state = record.load()?;
            self.release(&c.id, &mut state)?;
            record.save(&lock, &state)?;
        }
        match self.store.remove_container(&c.id, true) {
            Ok(()) | Err(berth_storage::Error::ContainerNotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
        self.event(&c, "remove", None);
        self.remove_volume_overlays(&c.id)?;
        record.remove()
    }
}

/// Whether someone still watches the run `state` records: its process or
/// its waiter lives, in this boot. An error when /proc can't tell.
fn still_watched(state: &State) -> Result<bool> {
    if !crate::boot::same_boot(state) {
        return Ok(false);
    }
    for p in [state.process, state.monitor].into_iter().flatten() {
        let path = format!("/proc/{}/stat", p.pid);
        if p.alive().ctx("read", path)? {
            return Ok(true);
        }
    }
    Ok(false)
}
