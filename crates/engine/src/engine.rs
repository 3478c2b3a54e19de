//! The engine: containers from images in storage, their records under the
//! runroot, and the runtime that runs them.

use crate::command_lookup::check_command;
use crate::error::{Error, IoContext, Result};
use crate::image_config::{self, ImageConfig};
use crate::image_users::resolve_user;
use crate::options::{CreateOptions, NetworkMode};
use crate::records::{RecordDir, RecordLock, State, Status};
use crate::rootfs_reader::RootfsReader;
use crate::runtime::Runtime;
use crate::spec::{self, SpecInputs};
use berth_storage::{NewContainer, Store};
use serde::{Deserialize, Serialize};
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

/// What the engine keeps in storage's container record (`metadata`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Meta {
    /// The options the container was created with.
    pub options: CreateOptions,
    /// The process's argv as merged with the image.
    pub command: Vec<String>,
    /// The signal `stop` sends first.
    pub stop_signal: String,
    /// The cgroupsPath.
    pub cgroups_path: String,
    /// What survives a reboot of the last run (the runroot does not).
    pub last_run: Option<crate::boot::LastRun>,
    /// The image's `ExposedPorts` keys (`80/tcp`).
    pub exposed_ports: Vec<String>,
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
            networks: crate::container_network::engine_networks(&opts.runroot),
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

    /// What the engine keeps about `c`. Corrupt metadata is an error, not
    /// defaults: defaults would make its volumes look unused.
    pub(crate) fn meta(c: &berth_storage::Container) -> Result<Meta> {
        if c.metadata.is_null() {
            // Between storage's create_container and the bundle's write.
            return Ok(Meta::default());
        }
        serde_json::from_value(c.metadata.clone()).map_err(|source| Error::Metadata {
            id: c.id.clone(),
            source,
        })
    }

    /// Create a container: a read-write layer over the image and a bundle.
    /// On any error nothing is left behind (no layer, no record). Returns
    /// the id.
    pub fn create(&self, opts: &CreateOptions) -> Result<String> {
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
        let image = berth_image::find_image(&self.ctx, &self.store, &opts.image)?;
        let config = image_config::execution(&image_config::parse(
            &image.id,
            &self.store.image_config(&image.id)?,
        )?);
        let opts = &self.network_options(opts, &config)?;
        let volumes = self.new_volumes(opts, &config)?;
        let opts = &volumes.options;
        let c = self.store.create_container(NewContainer {
            name: opts.name.clone(),
            image: image.id.clone(),
            ..Default::default()
        })?;
        let record = self.record(&c.id);
        if let Err(e) = self.prepare(&c, opts, &config, &record) {
            let _ = record.remove();
            let _ = self.store.remove_container(&c.id, true);
            return Err(e);
        }
        volumes.keep();
        Ok(c.id)
    }

    /// Write the bundle again when the runroot lost it (a reboot: the
    /// runroot is a tmpfs); the options are kept in storage.
    pub(crate) fn ensure_bundle(&self, c: &berth_storage::Container) -> Result<()> {
        let record = self.record(&c.id);
        if record.path().join("config.json").exists() {
            return Ok(());
        }
        let opts = Engine::meta(c)?.options;
        let config = image_config::execution(&image_config::parse(
            &c.image,
            &self.store.image_config(&c.image)?,
        )?);
        self.prepare(c, &opts, &config, &record)
    }

    /// Write the bundle of `c`: its rootfs is mounted only to resolve the
    /// user and check the command, and unmounted again.
    fn prepare(
        &self,
        c: &berth_storage::Container,
        opts: &CreateOptions,
        image: &ImageConfig,
        record: &RecordDir,
    ) -> Result<()> {
        let rootfs = self.store.mount_container(&c.id)?;
        let result = self.write_bundle(c, opts, image, record, &rootfs);
        let _ = self.store.unmount_container(&c.id, false);
        result
    }

    fn write_bundle(
        &self,
        c: &berth_storage::Container,
        opts: &CreateOptions,
        image: &ImageConfig,
        record: &RecordDir,
        rootfs: &Path,
    ) -> Result<()> {
        let id = c.id.as_str();
        // The image's files are read only through this, inside the rootfs.
        let root = RootfsReader::open(rootfs)?;
        let user_spec = opts
            .user
            .clone()
            .or_else(|| image.user().clone())
            .unwrap_or_default();
        let user = resolve_user(&root, &user_spec)?;
        let hostname = match (&opts.hostname, opts.network) {
            (Some(h), _) => h.clone(),
            (None, NetworkMode::Host) => nix::unistd::gethostname()
                .ok()
                .and_then(|h| h.into_string().ok())
                .unwrap_or_else(|| id[..12].to_string()),
            (None, _) => id[..12].to_string(),
        };
        let command = spec::command(opts, image);
        let Some(first) = command.first() else {
            return Err(Error::NoCommand(opts.image.clone()));
        };
        let env = spec::environment(opts, image, &user, &hostname);
        check_command(&root, first, &env)?;
        record.ensure()?;
        crate::etc_files::write_etc_files(record.path(), &hostname, &c.name, opts.network)?;
        let cgroups_path = format!(
            "{}/berth-{id}",
            self.opts.cgroup_parent.trim_end_matches('/')
        );
        let bound = self.volume_binds(opts, &root)?;
        let mut config = spec::build(
            &bound,
            image,
            &SpecInputs {
                id,
                rootfs,
                files: record.path(),
                cgroups_path: &cgroups_path,
                hostname: &hostname,
                user: &user,
                netns: (opts.network == NetworkMode::Bridge)
                    .then(|| self.netns_path(id))
                    .as_deref(),
            },
        )?;
        crate::init::apply(&mut config, opts)?;
        let path = record.path().join("config.json");
        let bytes = serde_json::to_vec_pretty(&config).map_err(|source| Error::Record {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, bytes).ctx("write", &path)?;
        let meta = Meta {
            options: opts.clone(),
            command,
            stop_signal: opts
                .stop_signal
                .clone()
                .or_else(|| image.stop_signal().clone())
                .unwrap_or_else(|| "SIGTERM".into()),
            cgroups_path,
            last_run: Engine::meta(c)?.last_run,
            exposed_ports: image_config::exposed_ports(image),
        };
        let value = serde_json::to_value(&meta).map_err(|source| Error::Record {
            path: path.clone(),
            source,
        })?;
        self.store.set_container_metadata(id, value)?;
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
        Ok(ContainerInfo {
            meta: Engine::meta(&c)?,
            log_path: record.path().join("ctr.log"),
            bundle: record.path().to_path_buf(),
            id: c.id,
            name: c.name,
            image_id: c.image,
            created: c.created,
            state,
        })
    }

    /// Every container, newest first.
    pub fn list(&self) -> Result<Vec<ContainerInfo>> {
        let mut out = Vec::new();
        for c in self.store.containers()? {
            match self.info(c) {
                Ok(i) => out.push(i),
                Err(Error::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        out.sort_by_key(|i| std::cmp::Reverse(i.created));
        Ok(out)
    }

    /// Remove a container: refused while it runs unless `force` (which
    /// kills it). Its layer, record, bundle and log go.
    pub fn remove(&self, key: &str, force: bool) -> Result<()> {
        let c = self.container(key)?;
        let state = self.refresh(&c.id)?;
        if state.status == Status::Running {
            if !force {
                return Err(Error::State {
                    name: c.name,
                    state: state.status.to_string(),
                    what: "stop it first, or remove it with --force".into(),
                });
            }
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
