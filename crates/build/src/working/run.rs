//! `builder run`: a command in a working container's root through the
//! engine ([`berth_engine::Engine::run_working`]), with the build's
//! mounts. Bind, cache, secret and tmpfs mounts are mounts, never files in
//! the root: their contents cannot reach the layer, and the engine takes
//! back out the mountpoints it had to make.

use super::{Builder, WorkingContainer};
use crate::error::{Error, Result};
use berth_engine::{NetworkMode, Volume, WorkingRun};
use std::path::PathBuf;

/// A mount for one RUN (`RUN --mount=…`, `-v`, `--secret`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunMount {
    /// A host path bound at `target`.
    Bind {
        /// The host path (absolute, must exist).
        source: PathBuf,
        /// The path in the container.
        target: String,
        /// Mounted read-only.
        readonly: bool,
    },
    /// A persistent directory kept between builds under the store's
    /// `build-cache/<id>`, bound read-write at `target`.
    Cache {
        /// Its name (letters, digits, `.`, `_`, `-`).
        id: String,
        /// The path in the container.
        target: String,
    },
    /// A file with a secret, bound read-only at `target`
    /// (`/run/secrets/<id>` by docker's rule; the caller decides).
    Secret {
        /// The host file.
        source: PathBuf,
        /// The path in the container.
        target: String,
    },
    /// An empty tmpfs at `target`.
    Tmpfs {
        /// The path in the container.
        target: String,
        /// Its size in bytes (the kernel's default when None).
        size: Option<u64>,
    },
}

impl RunMount {
    /// One `builder run --mount` (buildah's keys), read by the
    /// Containerfile's parser, so a cache mount gets the id `berth build`
    /// gives the same mount. A bind is read-write unless `ro`, as
    /// buildah's; its source and a secret's are host paths.
    pub fn parse(spec: &str) -> Result<RunMount> {
        use crate::containerfile::MountType;
        let invalid = |reason: &str| Error::InvalidOption {
            option: "--mount",
            value: spec.into(),
            reason: reason.into(),
        };
        let m = crate::containerfile::RunMount::parse(spec).map_err(|r| invalid(&r))?;
        if m.from.is_some() {
            return Err(invalid(
                "from= names a build stage or image: only RUN in a Containerfile has it",
            ));
        }
        let id = m.cache_id();
        Ok(match m.kind {
            MountType::Bind => RunMount::Bind {
                source: m.source.ok_or_else(|| invalid("no source="))?.into(),
                target: m.target,
                readonly: m.readonly.unwrap_or(false),
            },
            MountType::Cache => RunMount::Cache {
                id,
                target: m.target,
            },
            MountType::Tmpfs => RunMount::Tmpfs {
                target: m.target,
                size: m.size,
            },
            MountType::Secret => RunMount::Secret {
                source: m
                    .source
                    .ok_or_else(|| invalid("no src= (the host file)"))?
                    .into(),
                target: m.target,
            },
        })
    }
}

/// How a command is run in a working container.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// The argv (wrap a shell form in the config's shell first).
    pub command: Vec<String>,
    /// `NAME=VALUE` over the config's Env (build args in scope, `--env`).
    pub env: Vec<String>,
    /// Over the config's User.
    pub user: Option<String>,
    /// Over the config's WorkingDir; made when missing, as buildah does.
    pub workdir: Option<String>,
    /// `none` (default), `host`, or `bridge`.
    pub network: NetworkMode,
    /// Capabilities added to the default set.
    pub cap_add: Vec<String>,
    /// Capabilities dropped from it.
    pub cap_drop: Vec<String>,
    /// The run's mounts.
    pub mounts: Vec<RunMount>,
    /// The hostname inside.
    pub hostname: Option<String>,
}

impl Builder<'_> {
    /// Run `opts.command` in working container `key`, with our stdio. A
    /// non-zero exit is [`Error::RunFailed`] with the code; a command that
    /// is not in the root is one with code 127, as a shell says.
    pub fn run(&self, key: &str, opts: &RunOptions) -> Result<()> {
        let wc = self.container(key)?;
        let config = wc.config.exec();
        let workdir = opts
            .workdir
            .clone()
            .or_else(|| config.working_dir().clone())
            .filter(|w| !w.is_empty());
        let mut binds = Vec::new();
        let mut tmpfs = Vec::new();
        for m in &opts.mounts {
            match m {
                RunMount::Bind {
                    source,
                    target,
                    readonly,
                } => binds.push(volume(source.clone(), target, *readonly)?),
                RunMount::Secret { source, target } => {
                    binds.push(volume(source.clone(), target, true)?)
                }
                RunMount::Cache { id, target } => {
                    binds.push(volume(self.cache_dir(id)?, target, false)?)
                }
                RunMount::Tmpfs { target, size } => tmpfs.push(match size {
                    Some(s) => format!("{target}:size={s}"),
                    None => target.clone(),
                }),
            }
        }
        let run = WorkingRun {
            command: opts.command.clone(),
            config,
            env: opts.env.clone(),
            user: opts.user.clone(),
            workdir,
            network: opts.network,
            cap_add: opts.cap_add.clone(),
            cap_drop: opts.cap_drop.clone(),
            binds,
            tmpfs,
            hostname: opts.hostname.clone(),
        };
        let failed = |code, detail| Error::RunFailed {
            container: wc.name.clone(),
            command: opts.command.clone(),
            code,
            detail,
        };
        // The working directory is made when missing, in the run's own
        // mount of the root.
        let make_workdir = |rootfs: &std::path::Path| match &run.workdir {
            Some(dir) => super::in_root::Root::at(rootfs)
                .and_then(|r| r.mkdir_all(dir))
                .map(|_| ()),
            None => Ok(()),
        };
        match self.engine.run_working_prepared(&wc.id, &run, make_workdir) {
            Ok(0) => {}
            Ok(code) => return Err(failed(code, None)),
            Err(e @ berth_engine::Error::CommandNotFound(_)) => {
                return Err(failed(127, Some(e.to_string())))
            }
            Err(e) => return Err(e.into()),
        }
        self.note_step(&wc, format!("/bin/sh -c {}", opts.command.join(" ")))
    }

    /// The host directory of cache `id`, made when missing.
    fn cache_dir(&self, id: &str) -> Result<PathBuf> {
        let ok = !id.is_empty()
            && !id.starts_with('.')
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if !ok {
            return Err(Error::InvalidOption {
                option: "cache id",
                value: id.into(),
                reason: "letters, digits, '.', '_' and '-' only, not starting with '.'".into(),
            });
        }
        let dir = self.engine.store().root().join("build-cache").join(id);
        std::fs::create_dir_all(&dir).map_err(|source| Error::Io {
            op: "create cache directory",
            path: dir.clone(),
            source,
        })?;
        Ok(dir)
    }

    /// Remember `step` for the next commit's history entry.
    pub(crate) fn note_step(&self, wc: &WorkingContainer, step: String) -> Result<()> {
        let mut wc = wc.clone();
        wc.steps.push(step);
        self.engine.set_working_record(&wc.id, wc.to_value()?)?;
        Ok(())
    }
}

fn volume(source: PathBuf, target: &str, readonly: bool) -> Result<Volume> {
    if !target.starts_with('/') {
        return Err(Error::InvalidOption {
            option: "mount target",
            value: target.into(),
            reason: "must be an absolute path".into(),
        });
    }
    if !source.is_absolute() || !source.exists() {
        return Err(Error::InvalidOption {
            option: "mount source",
            value: source.display().to_string(),
            reason: "must be an absolute path that exists".into(),
        });
    }
    Ok(Volume {
        source: source.to_string_lossy().into_owned(),
        destination: target.into(),
        readonly,
        anonymous: false,
        options: Default::default(),
    })
}
