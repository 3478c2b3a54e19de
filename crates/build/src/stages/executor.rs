//! The build loop: each needed stage gets a working container (made only
//! when a step has work for it: a cached step needs none), each
//! instruction is run over it (see the `step_*` files), RUN/COPY/ADD are
//! cached as images when `--layers`, and the target stage is committed and
//! tagged. On error the stage's working containers are removed.

use std::collections::BTreeMap;
use std::io::Write;

use berth_engine::Engine;
use berth_image::Context;

use super::args::{env_lookup, ArgScope, Platform};
use super::cache::{next_key, CacheIndex};
use super::context::BuildContext;
use super::error::{BuildError, StepError};
use super::options::BuildOptions;
use super::plan::{Plan, StageBase};
use crate::containerfile::substitute::expand;
use crate::containerfile::{Containerfile, Instruction, Step};
use crate::working::{Builder, CommitOptions, FromOptions, WorkingConfig, WorkingContainer};

/// Builds the image `opts` describe; returns its id.
pub fn build(
    engine: &Engine,
    ctx: &Context,
    opts: &BuildOptions,
    out: &mut dyn Write,
) -> Result<String, BuildError> {
    let cf = Containerfile::read(&opts.containerfile)?;
    let platform = Platform::host();
    let plan = Plan::new(&cf, &opts.build_args, opts.target.as_deref(), &platform)?;
    let context = BuildContext::open(&opts.context).map_err(BuildError::Context)?;
    let builder = Builder::new(engine, ctx);
    let mut run = Build {
        engine,
        ctx,
        builder: &builder,
        opts,
        plan: &plan,
        context: &context,
        cache: CacheIndex::at(engine.store().root()),
        results: BTreeMap::new(),
        scratch_images: Vec::new(),
        out,
    };
    let result = run.all_stages();
    // Without --layers, images of stages other than the target are only
    // means to an end.
    for id in std::mem::take(&mut run.scratch_images) {
        if result.as_ref().ok() != Some(&id) {
            let _ = engine.store().remove_image(&id, false);
        }
    }
    result
}

pub(super) struct Build<'a> {
    pub engine: &'a Engine,
    pub ctx: &'a Context,
    pub builder: &'a Builder<'a>,
    pub opts: &'a BuildOptions,
    pub plan: &'a Plan,
    pub context: &'a BuildContext,
    cache: CacheIndex,
    /// Image id of each stage built so far.
    pub results: BTreeMap<usize, String>,
    /// Stage results to remove at the end (no --layers).
    scratch_images: Vec<String>,
    out: &'a mut dyn Write,
}

/// One stage being built.
pub(super) struct StageRun {
    /// The image the next working container starts from (None: scratch).
    pub image: Option<String>,
    /// The working container, once a step needed one.
    pub wc: Option<WorkingContainer>,
    /// The config as it stands.
    pub config: WorkingConfig,
    /// Cache key of the state so far.
    pub key: String,
    /// Args declared in the stage.
    pub args: ArgScope,
    /// The working container holds changes not yet in `image`.
    pub dirty: bool,
    /// The working container's record holds `config` as it stands. Config
    /// instructions change `config` only; it is written to the record once,
    /// when a RUN, COPY, ADD or the commit needs the working container.
    pub synced: bool,
    /// CMD was set in this stage (ENTRYPOINT then keeps it).
    pub cmd_set: bool,
}

impl StageRun {
    /// Looks a name up as Docker expands: the stage's ENV first, then its
    /// ARGs.
    pub fn lookup(&self, name: &str) -> Option<String> {
        let env = self.config.exec().env().clone().unwrap_or_default();
        env_lookup(&env, name)
            .map(str::to_string)
            .or_else(|| self.args.get(name).map(str::to_string))
    }
}

impl Build<'_> {
    fn all_stages(&mut self) -> Result<String, BuildError> {
        let needed = self.plan.needed.clone();
        let mut last = String::new();
        for (n, &i) in needed.iter().enumerate() {
            let prefix = if needed.len() > 1 {
                format!("[{}/{}] ", n + 1, needed.len())
            } else {
                String::new()
            };
            let mut stage = StageRun {
                image: None,
                wc: None,
                config: WorkingConfig::scratch().map_err(|e| {
                    step_error(self.plan, &self.plan.stages[i].from, StepError::Working(e))
                })?,
                key: String::new(),
                args: ArgScope::default(),
                dirty: false,
                synced: false,
                cmd_set: false,
            };
            let built = self.stage(i, &prefix, &mut stage);
            if built.is_err() {
                if let Some(wc) = stage.wc.take() {
                    let _ = self.builder.remove(&wc.id);
                }
            }
            last = built?;
            self.results.insert(i, last.clone());
        }
        Ok(last)
    }

    fn stage(
        &mut self,
        index: usize,
        prefix: &str,
        st: &mut StageRun,
    ) -> Result<String, BuildError> {
        let plan = self.plan;
        let stage = &plan.stages[index];
        let total = stage.steps.len() + 1;
        self.say(&format!("{prefix}STEP 1/{total}: {}", stage.from.text));
        let from_err = |kind: StepError| step_error(plan, &stage.from, kind);
        match &stage.base {
            StageBase::Scratch => st.key = next_key("", "scratch", &[], ""),
            StageBase::Stage(j) => {
                let id = self.results.get(j).cloned().ok_or_else(|| {
                    from_err(StepError::Invalid(format!("stage {j} was not built")))
                })?;
                st.load_image(self, &id).map_err(from_err)?;
            }
            StageBase::Image(name) => {
                let image = berth_image::image_for_container(
                    self.ctx,
                    self.engine.store(),
                    name,
                    self.opts.pull,
                    &berth_image::progress::NoProgress,
                )
                .map_err(|e| from_err(StepError::Working(e.into())))?;
                st.load_image(self, &image.id).map_err(from_err)?;
            }
        }
        // ONBUILD triggers of the base run first, and are not inherited.
        let triggers = std::mem::take(&mut st.config.onbuild);
        if !triggers.is_empty() {
            self.configure(st, |c| {
                c.onbuild.clear();
                Ok(())
            })
            .map_err(from_err)?;
            for text in triggers {
                let trigger =
                    Containerfile::parse_trigger(&text, self.plan.escape).map_err(|k| {
                        from_err(StepError::Invalid(format!(
                            "ONBUILD trigger {text:?} of the base image: {k}"
                        )))
                    })?;
                let step = Step {
                    line: stage.from.line,
                    text: text.clone(),
                    instruction: trigger,
                };
                self.instruction(st, &step)?;
            }
        }
        for (n, step) in stage.steps.iter().enumerate() {
            self.say(&format!("{prefix}STEP {}/{total}: {}", n + 2, step.text));
            self.instruction(st, step)?;
        }
        self.finish_stage(index, st)
            .map_err(|kind| step_error(plan, stage.steps.last().unwrap_or(&stage.from), kind))
    }

    fn instruction(&mut self, st: &mut StageRun, step: &Step) -> Result<(), BuildError> {
        let result = match &step.instruction {
            Instruction::Run { .. } | Instruction::Copy(_) | Instruction::Add(_) => {
                self.layer_step(st, step)
            }
            Instruction::Arg(pairs) => self.arg_step(st, pairs),
            _ => self.config_step(st, step),
        };
        result.map_err(|kind| step_error(self.plan, step, kind))
    }

    /// ARG: declared in the stage from here on; its value (a build arg,
    /// its default, a global's) is part of the cache key.
    fn arg_step(
        &mut self,
        st: &mut StageRun,
        pairs: &[(String, Option<String>)],
    ) -> Result<(), StepError> {
        let escape = self.plan.escape;
        let mut declared = Vec::new();
        for (name, default) in pairs {
            let default = match default {
                Some(raw) => Some(expand(raw, escape, &|n| st.lookup(n))?),
                None => None,
            };
            st.args
                .declare(name, default, &self.opts.build_args, &self.plan.globals);
            declared.push(format!("{name}={}", st.args.get(name).unwrap_or("")));
        }
        st.key = next_key(&st.key, &format!("ARG {}", declared.join(" ")), &[], "");
        Ok(())
    }

    /// RUN, COPY, ADD: reused from the cache, or run and (with --layers)
    /// committed to a cache image.
    fn layer_step(&mut self, st: &mut StageRun, step: &Step) -> Result<(), StepError> {
        let prepared = self.prepare(st, step)?;
        let (description, content) = (prepared.description.clone(), prepared.content.clone());
        let args: Vec<(String, String)> = st
            .args
            .pairs()
            .map(|(k, v)| (k.clone(), v.clone().unwrap_or_default()))
            .collect();
        let key = next_key(&st.key, &description, &args, &content);
        if self.opts.layers && !self.opts.no_cache {
            if let Some(id) = self.cached(&key) {
                self.say(&format!("--> Using cache {id}"));
                if let Some(wc) = st.wc.take() {
                    self.builder.remove(&wc.id)?;
                }
                st.load_image(self, &id)?;
                st.key = key;
                return Ok(());
            }
        }
        self.with_wc(st)?;
        self.execute(st, prepared)?;
        st.key = key.clone();
        st.dirty = true;
        if self.opts.layers {
            let id = self.commit(st, None, false)?;
            self.say(&format!("--> {}", &id[..id.len().min(12)]));
            // The index is a hint: failing to write it costs a rebuild.
            let _ = self.cache.put(&key, &id);
            st.image = Some(id);
            st.dirty = false;
        }
        Ok(())
    }

    fn cached(&self, key: &str) -> Option<String> {
        let id = self.cache.get(key)?;
        match self.engine.store().image(&id) {
            Ok(img) => Some(img.id),
            Err(_) => {
                self.cache.forget(key);
                None
            }
        }
    }

    /// Commits the stage's working container; returns the image id. The
    /// target's result (`target`) gets `--squash` and `--annotation`.
    pub(super) fn commit(
        &self,
        st: &mut StageRun,
        name: Option<String>,
        target: bool,
    ) -> Result<String, StepError> {
        let wc = self.with_wc(st)?;
        let squash = target && self.opts.squash;
        let annotations = match target {
            true => self.opts.annotations.clone(),
            false => Vec::new(),
        };
        let id = self.builder.commit(
            &wc,
            &CommitOptions {
                name,
                format: self.opts.format,
                squash,
                rm: false,
                timestamp: self.opts.timestamp,
                created_by: None,
                message: None,
                annotations,
            },
        )?;
        Ok(id)
    }

    fn finish_stage(&mut self, index: usize, st: &mut StageRun) -> Result<String, StepError> {
        let target = index == self.plan.target;
        if target && !self.opts.labels.is_empty() {
            let labels = self.opts.labels.clone();
            self.configure(st, |c| {
                for (k, v) in &labels {
                    c.set_label(k, v);
                }
                Ok(())
            })?;
        }
        let needs_commit = st.dirty
            || st.image.is_none()
            || (target && (self.opts.squash || !self.opts.annotations.is_empty()));
        let name = if target {
            self.opts.tags.first().cloned()
        } else {
            None
        };
        // The stage's end state is cached too, so a fully cached rebuild
        // commits nothing and gives the same image.
        let final_key = next_key(
            &st.key,
            "COMMIT",
            &[
                ("squash".into(), (target && self.opts.squash).to_string()),
                ("format".into(), format!("{:?}", self.opts.format)),
                ("labels".into(), format!("{:?}", self.opts.labels)),
                (
                    "annotations".into(),
                    format!("{:?}", target.then_some(&self.opts.annotations)),
                ),
                ("timestamp".into(), format!("{:?}", self.opts.timestamp)),
            ],
            "",
        );
        let cached = if needs_commit && self.opts.layers && !self.opts.no_cache {
            self.cached(&final_key)
        } else {
            None
        };
        if target {
            self.say(&format!("COMMIT {}", name.as_deref().unwrap_or("")));
        }
        let id = if let Some(id) = cached {
            self.say(&format!("--> Using cache {id}"));
            if let Some(n) = &name {
                self.tag(&id, n)?;
            }
            id
        } else if needs_commit {
            let id = self.commit(st, name.clone(), target)?;
            if !self.opts.layers && !target {
                self.scratch_images.push(id.clone());
            }
            if self.opts.layers {
                let _ = self.cache.put(&final_key, &id);
            }
            id
        } else {
            let id = st.image.clone().unwrap_or_default();
            if let Some(n) = &name {
                self.tag(&id, n)?;
            }
            id
        };
        if let Some(wc) = st.wc.take() {
            self.builder.remove(&wc.id)?;
        }
        if target {
            for extra in self.opts.tags.iter().skip(1) {
                self.tag(&id, extra)?;
            }
            self.say(&format!("--> {}", &id[..id.len().min(12)]));
            for t in &self.opts.tags {
                // podman prints the name as stored (`localhost/x:latest`).
                let shown = berth_image::local_name(t).unwrap_or_else(|_| t.clone());
                self.say(&format!("Successfully tagged {shown}"));
            }
        }
        Ok(id)
    }

    fn tag(&self, id: &str, name: &str) -> Result<(), StepError> {
        let local = berth_image::local_name(name).map_err(|e| StepError::Working(e.into()))?;
        self.engine
            .store()
            .add_image_name(id, &local)
            .map_err(|e| StepError::Working(e.into()))?;
        Ok(())
    }

    /// The stage's working container, made from its image when it has
    /// none yet, its record holding the stage's config.
    pub(super) fn with_wc(&self, st: &mut StageRun) -> Result<String, StepError> {
        if let Some(wc) = &st.wc {
            let id = wc.id.clone();
            if !st.synced {
                let config = st.config.clone();
                let wc = self.builder.configure(&id, |c| {
                    *c = config;
                    Ok(())
                })?;
                st.wc = Some(wc);
                st.synced = true;
            }
            return Ok(id);
        }
        // The config as the stage has it so far (ONBUILD cleared, ...).
        let wc = self.builder.from(&FromOptions {
            image: st
                .image
                .clone()
                .unwrap_or_else(|| crate::working::SCRATCH.to_string()),
            name: None,
            pull: berth_image::PullPolicy::Never,
            config: Some(st.config.clone()),
        })?;
        let id = wc.id.clone();
        st.wc = Some(wc);
        st.synced = true;
        Ok(id)
    }

    /// Changes the stage's config; its working container's record gets it
    /// when next used ([`Build::with_wc`]).
    pub(super) fn configure(
        &self,
        st: &mut StageRun,
        change: impl FnOnce(&mut WorkingConfig) -> crate::Result<()>,
    ) -> Result<(), StepError> {
        change(&mut st.config)?;
        st.dirty = true;
        st.synced = false;
        Ok(())
    }

    pub(super) fn say(&mut self, line: &str) {
        if !self.opts.quiet {
            let _ = writeln!(self.out, "{line}");
        }
    }

    /// A scratch directory for a step's host files.
    pub(super) fn temp_dir(&self) -> Result<tempfile::TempDir, StepError> {
        tempfile::Builder::new()
            .prefix("berth-build-")
            .tempdir()
            .map_err(|source| StepError::Io {
                op: "create a temporary directory".into(),
                source,
            })
    }
}

impl StageRun {
    /// Starts over from image `id` (a base, a stage result, a cache hit).
    fn load_image(&mut self, build: &Build<'_>, id: &str) -> Result<(), StepError> {
        let bytes = build
            .engine
            .store()
            .image_config(id)
            .map_err(|e| StepError::Working(e.into()))?;
        self.config = WorkingConfig::from_image(id, &bytes)?;
        if self.key.is_empty() {
            self.key = next_key("", id, &[], "");
        }
        self.image = Some(id.to_string());
        self.dirty = false;
        self.synced = false;
        Ok(())
    }
}

fn step_error(plan: &Plan, step: &Step, kind: StepError) -> BuildError {
    BuildError::Step {
        file: plan.file.clone(),
        line: step.line,
        step: step.text.clone(),
        kind: Box::new(kind),
    }
}
