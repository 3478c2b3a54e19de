//! A build's RUN: one command in a working container's root, in the
//! foreground, through the same bundle writer and runtime as `berth run`,
//! but with no container record (a working container is not a container
//! to run: no log, no state, no monitor). The run's bundle lives in a
//! directory of its own under the runroot and goes when the command ends;
//! what the runtime made in the root for the run's mounts is taken back
//! out ([`crate::working_mounts`]), so mounts leave nothing in the layer.

use crate::bundle::{self, BundleInputs};
use crate::engine::Engine;
use crate::error::{sys, Error, IoContext, Result};
use crate::options::{CreateOptions, NetworkMode, Volume};
use crate::rootfs_reader::RootfsReader;
use std::path::Path;
use std::process::Stdio;

/// What a RUN in a working container is run with.
#[derive(Debug, Clone, Default)]
pub struct WorkingRun {
    /// The argv (a shell form is the caller's to wrap in its shell).
    pub command: Vec<String>,
    /// The working container's image config: its Env, User and
    /// WorkingDir apply; its Entrypoint and Cmd do not.
    pub config: oci_spec::image::Config,
    /// `NAME=VALUE` entries over the config's Env (build args, `--env`).
    pub env: Vec<String>,
    /// Overrides the config's User.
    pub user: Option<String>,
    /// Overrides the config's WorkingDir (it must exist in the root, or
    /// be made by [`Engine::run_working_prepared`]'s `prepare`).
    pub workdir: Option<String>,
    /// `none`, `host`, or `bridge` (attached for the run, detached after).
    pub network: NetworkMode,
    /// Capabilities added to podman's default set.
    pub cap_add: Vec<String>,
    /// Capabilities dropped from it.
    pub cap_drop: Vec<String>,
    /// Host paths bound in (sources absolute and existing): build volumes,
    /// cache directories, secrets, bind mounts. Nothing under them lands
    /// in the layer.
    pub binds: Vec<Volume>,
    /// `PATH[:OPTIONS]` tmpfs mounts.
    pub tmpfs: Vec<String>,
    /// The hostname inside (default: the first 12 digits of the run's id).
    pub hostname: Option<String>,
}

impl Engine {
    /// Run `run.command` in working container `key`'s root with the
    /// caller's stdio, and return its exit code (128+N for a signal). The
    /// root's changes stay in the working container's layer; nothing of
    /// the run's mounts does.
    pub fn run_working(&self, key: &str, run: &WorkingRun) -> Result<i32> {
        self.run_working_prepared(key, run, |_| Ok(()))
    }

    /// [`Engine::run_working`], with `prepare` called on the mounted root
    /// (its host path) before the run's bundle is written: a builder makes
    /// the working directory there, under the run's own mount rather than
    /// one of its own.
    pub fn run_working_prepared(
        &self,
        key: &str,
        run: &WorkingRun,
        prepare: impl FnOnce(&Path) -> std::io::Result<()>,
    ) -> Result<i32> {
        let c = self.working_container(key)?;
        for b in &run.binds {
            if !b.source.starts_with('/') || !Path::new(&b.source).exists() {
                return Err(Error::InvalidOption {
                    option: "--mount",
                    value: format!("{}:{}", b.source, b.destination),
                    reason: "the host path must be absolute and exist".into(),
                });
            }
        }
        crate::confinement::capabilities(false, &run.cap_add, &run.cap_drop)?;
        let run_id = berth_storage::random_hex(32);
        let dir = self.opts.runroot.join("working-runs").join(&run_id);
        let rootfs = self.store.mount_container(&c.id)?;
        let result = prepare(&rootfs)
            .ctx("prepare the root of", &rootfs)
            .and_then(|()| self.run_mounted(&c, &run_id, &dir, &rootfs, run));
        let _ = std::fs::remove_dir_all(&dir);
        let left = self.store.unmount_container(&c.id, false);
        let (code, parents) = result?;
        // Only with nobody else's mount: overlay's upper must not change
        // under one (storage checks again under its lock).
        if matches!(left, Ok(0)) {
            for p in parents {
                self.store.container_layer_drop_empty_dir(&c.id, &p)?;
            }
        }
        Ok(code)
    }

    fn run_mounted(
        &self,
        c: &berth_storage::Container,
        run_id: &str,
        dir: &Path,
        rootfs: &Path,
        run: &WorkingRun,
    ) -> Result<(i32, Vec<String>)> {
        let opts = CreateOptions {
            image: c.name.clone(),
            command: run.command.clone(),
            entrypoint: Some(String::new()),
            env: run.env.clone(),
            user: run.user.clone(),
            workdir: run.workdir.clone(),
            hostname: run.hostname.clone(),
            network: run.network,
            cap_add: run.cap_add.clone(),
            cap_drop: run.cap_drop.clone(),
            volumes: run.binds.clone(),
            tmpfs: run.tmpfs.clone(),
            ..Default::default()
        };
        let mut image = run.config.clone();
        image.set_entrypoint(None);
        image.set_cmd(None);
        let inputs = BundleInputs {
            id: run_id,
            name: &c.name,
            opts: &opts,
            image: &image,
            rootfs,
            dir,
            cgroup_parent: &self.opts.cgroup_parent,
            netns: (run.network == NetworkMode::Bridge).then(|| self.netns_path(run_id)),
            shared_namespaces: Vec::new(),
            pod: None,
            // Goes with the run's bundle directory.
            volume_overlays: dir.join("volume-overlays"),
        };
        let (_, spec) = bundle::write_with_spec(&inputs, |_| Ok(opts.clone()))?;
        let destinations: Vec<String> = spec
            .mounts()
            .iter()
            .flatten()
            .map(|m| m.destination().to_string_lossy().into_owned())
            .collect();
        let root = RootfsReader::open(rootfs)?;
        let in_layer = |p: &str| self.store.container_layer_has(&c.id, p).unwrap_or(true);
        let before = crate::working_mounts::before_run(&root, &destinations, dir, in_layer);
        let code = self.run_bundle_networked(run_id, dir, run.network);
        let restored = crate::working_mounts::after_run(&root, &before);
        let code = code?;
        Ok((code, restored?))
    }

    /// [`Engine::run_bundle`] on the bridge when `network` says so: the
    /// run's namespace is attached before and detached after, whatever
    /// happened in between.
    fn run_bundle_networked(&self, id: &str, dir: &Path, network: NetworkMode) -> Result<i32> {
        if network != NetworkMode::Bridge {
            return self.run_bundle(id, dir);
        }
        self.networks.attach(id, &[])?;
        let code = self.run_bundle(id, dir);
        let detached = self.networks.detach(id);
        let code = code?;
        detached?;
        Ok(code)
    }

    /// Create, start and wait for the runtime's container `id` from bundle
    /// `dir` with our stdio; delete it whatever happens.
    fn run_bundle(&self, id: &str, dir: &Path) -> Result<i32> {
        nix::sys::prctl::set_child_subreaper(true).map_err(sys("PR_SET_CHILD_SUBREAPER"))?;
        let stdio = [Stdio::null(), Stdio::inherit(), Stdio::inherit()];
        let result = (|| {
            let pid = self.runtime.create(id, dir, stdio, None)?;
            self.runtime.start(id)?;
            wait_only(pid).ok_or_else(|| Error::Runtime {
                runtime: self.runtime.path.clone(),
                verb: "wait",
                id: id.into(),
                message: "the command's process vanished before its exit was seen".into(),
            })
        })();
        let deleted = self.runtime.delete(id);
        let code = result?;
        deleted?;
        Ok(code)
    }
}

/// Reap `pid` alone (it is our child once the runtime exits: we are a
/// subreaper). Not every child, as `berth run` does: a library caller may
/// have other children (a server's, a test's threads) whose waits must
/// not lose them. Orphans of the command die with its pid namespace.
fn wait_only(pid: i32) -> Option<i32> {
    loop {
        match nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pid), None) {
            Ok(st) => {
                if let Some(code) = crate::lifecycle::exit_code(st) {
                    return Some(code);
                }
            }
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return None,
        }
    }
}
