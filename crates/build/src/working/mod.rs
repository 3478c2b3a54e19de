//! buildah's working containers: made from an image or from `scratch`,
//! changed by [`Builder::run`], [`Builder::copy`] and host tools through
//! [`Builder::mount`], configured ([`Builder::configure`]) and committed to
//! an image ([`Builder::commit`]).
//!
//! Each is a storage container the engine marks as a working one (so
//! `berth ps` never lists it); what it holds besides its layer (the base
//! image, the config being built) is kept with it in storage as a
//! [`WorkingContainer`], so every call works from any process. Changes to
//! that record are read-modify-write without a lock of their own: two
//! processes configuring one working container at once may lose one's
//! change (buildah locks each container; berth does not yet).

mod commit;
mod config;
mod copy;
pub(crate) mod in_root;
mod naming;
mod run;

pub use commit::CommitOptions;
pub use config::{Healthcheck, WorkingConfig};
pub use copy::CopyOptions;
pub use run::{RunMount, RunOptions};

use crate::error::{Error, Result};
use berth_engine::Engine;
use berth_image::{Context, PullPolicy};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The base image name that starts from an empty root.
pub const SCRATCH: &str = "scratch";

/// How [`Builder::from`] makes a working container.
#[derive(Debug, Clone, Default)]
pub struct FromOptions {
    /// The base image (name, id or prefix), or `scratch`.
    pub image: String,
    /// Its name; default `<image>-working-container[-N]` as buildah's.
    pub name: Option<String>,
    /// When to pull the base image (default: when it is missing, as
    /// `berth run`'s `--pull=missing`).
    pub pull: PullPolicy,
    /// The config to start with instead of the image's (a Containerfile
    /// stage has it in hand already; reading and parsing the image's again
    /// would be wasted).
    pub config: Option<WorkingConfig>,
}

/// A working container as its builder keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorkingContainer {
    /// 64 hex digits (storage's container id).
    #[serde(skip)]
    pub id: String,
    /// Its unique name.
    #[serde(skip)]
    pub name: String,
    /// The base image as given (`scratch` for none).
    pub from: String,
    /// The base image's id; None for `scratch`.
    pub from_id: Option<String>,
    /// The image config being built.
    pub config: WorkingConfig,
    /// What changed the root since the last commit (`/bin/sh -c …`,
    /// `COPY …`): the next commit's history entry.
    #[serde(default)]
    pub steps: Vec<String>,
    /// Creation time, seconds since the epoch.
    #[serde(skip)]
    pub created: u64,
}

/// buildah's primitives over an engine. Holds no state of its own: every
/// working container lives in storage.
pub struct Builder<'a> {
    engine: &'a Engine,
    ctx: &'a Context,
}

impl<'a> Builder<'a> {
    /// A builder over `engine`, finding and pulling base images as `ctx`
    /// says.
    pub fn new(engine: &'a Engine, ctx: &'a Context) -> Builder<'a> {
        Builder { engine, ctx }
    }

    /// The engine it works through.
    pub fn engine(&self) -> &Engine {
        self.engine
    }

    /// Make a working container from `opts.image` (pulled first as
    /// `opts.pull` says) or from `scratch`. On error nothing is left.
    pub fn from(&self, opts: &FromOptions) -> Result<WorkingContainer> {
        let scratch = opts.image == SCRATCH;
        let (from_id, config) = if scratch {
            let config = match &opts.config {
                Some(c) => c.clone(),
                None => WorkingConfig::scratch()?,
            };
            (None, config)
        } else {
            let image = berth_image::image_for_container(
                self.ctx,
                self.engine.store(),
                &opts.image,
                opts.pull,
                &berth_image::progress::NoProgress,
            )?;
            let config = match &opts.config {
                Some(c) => c.clone(),
                None => {
                    let bytes = self.engine.store().image_config(&image.id)?;
                    WorkingConfig::from_image(&image.id, &bytes)?
                }
            };
            (Some(image.id.clone()), config)
        };
        let name = match &opts.name {
            Some(n) => n.clone(),
            None => naming::free_name(&opts.image, &self.engine.store().containers()?),
        };
        let mut wc = WorkingContainer {
            id: String::new(),
            name: name.clone(),
            from: opts.image.clone(),
            from_id: from_id.clone(),
            config,
            steps: Vec::new(),
            created: 0,
        };
        let c = self
            .engine
            .create_working(from_id.as_deref(), &name, wc.to_value()?)?;
        wc.id = c.id;
        wc.created = c.created;
        Ok(wc)
    }

    /// Every working container, oldest first.
    pub fn containers(&self) -> Result<Vec<WorkingContainer>> {
        self.engine
            .working_containers()?
            .iter()
            .map(WorkingContainer::of)
            .collect()
    }

    /// Working container `key` (id, id prefix or name).
    pub fn container(&self, key: &str) -> Result<WorkingContainer> {
        match self.engine.working_container(key) {
            Ok(c) => WorkingContainer::of(&c),
            Err(berth_engine::Error::NotFound(_)) => Err(Error::NotFound(key.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// Change working container `key`'s config with `change`, and keep it.
    pub fn configure(
        &self,
        key: &str,
        change: impl FnOnce(&mut WorkingConfig) -> Result<()>,
    ) -> Result<WorkingContainer> {
        let mut wc = self.container(key)?;
        change(&mut wc.config)?;
        self.engine.set_working_record(&wc.id, wc.to_value()?)?;
        Ok(wc)
    }

    /// Mount working container `key`'s root for host tools; each mount
    /// needs an [`Builder::unmount`] (storage counts them).
    pub fn mount(&self, key: &str) -> Result<PathBuf> {
        let wc = self.container(key)?;
        Ok(self.engine.mount_working(&wc.id)?)
    }

    /// Undo one [`Builder::mount`]. Returns the mounts left.
    pub fn unmount(&self, key: &str) -> Result<u32> {
        let wc = self.container(key)?;
        Ok(self.engine.unmount_working(&wc.id, false)?)
    }

    /// Remove working container `key` and its layer (unmounting it).
    pub fn remove(&self, key: &str) -> Result<()> {
        let wc = self.container(key)?;
        Ok(self.engine.remove_working(&wc.id)?)
    }
}

impl WorkingContainer {
    /// The working container storage record `c` holds.
    fn of(c: &berth_storage::Container) -> Result<WorkingContainer> {
        let value = c
            .metadata
            .get(berth_engine::WORKING_CONTAINER_KEY)
            .cloned()
            .unwrap_or_default();
        let mut wc: WorkingContainer =
            serde_json::from_value(value).map_err(|source| Error::Record {
                id: c.id.clone(),
                source,
            })?;
        wc.id = c.id.clone();
        wc.name = c.name.clone();
        wc.created = c.created;
        Ok(wc)
    }

    pub(crate) fn to_value(&self) -> Result<serde_json::Value> {
        serde_json::to_value(self).map_err(|source| Error::Record {
            id: self.id.clone(),
            source,
        })
    }
}
