//! RUN, COPY and ADD: the instructions that change the root. Each is first
//! prepared (variables expanded, sources resolved, mounts found, the cache
//! key's description and content hash made), then executed over the
//! stage's working container.

use std::path::PathBuf;

use berth_engine::NetworkMode;

use super::context::BuildContext;
use super::error::StepError;
use super::executor::{Build, StageRun};
use crate::containerfile::substitute::{expand, expand_heredoc};
use crate::containerfile::{cache_id_of, CommandForm, CopyArgs, Instruction, MountType, Step};
use crate::working::in_root::{fd_path, Root};
use crate::working::{CopyOptions, RunMount, RunOptions};

/// A `RUN --mount=type=bind,from=STAGE|IMAGE,source=S,target=T`.
struct FromBind {
    /// The stage's result or the image (its id).
    image: String,
    /// The path in it (resolved inside its root).
    source: String,
    /// Where it appears in the RUN.
    target: String,
}

/// A layer step ready to run.
pub(super) struct Prepared {
    /// The step with everything that decides its result, for the cache key.
    pub description: String,
    /// Hash of the files it reads.
    pub content: String,
    action: Action,
}

enum Action {
    Run {
        opts: RunOptions,
        /// Holds the heredoc program it runs.
        _script: Option<tempfile::TempDir>,
        /// `--mount=type=bind,from=`: mounted read-only in `execute` only.
        from_binds: Vec<FromBind>,
    },
    Copy {
        opts: CopyOptions,
        /// Holds heredoc files and filtered copies until the copy is done.
        _files: Option<tempfile::TempDir>,
        /// The `--from` image (its id), mounted read-only for the copy
        /// in `execute` only, so a cache hit mounts nothing.
        from_image: Option<String>,
    },
}

impl Build<'_> {
    pub(super) fn prepare(&mut self, st: &StageRun, step: &Step) -> Result<Prepared, StepError> {
        match &step.instruction {
            Instruction::Run {
                command,
                mounts,
                network,
                heredocs,
                ..
            } => {
                let escape = self.plan.escape;
                let x = |w: &str| expand(w, escape, &|n| st.lookup(n));
                let shell = st
                    .config
                    .shell
                    .clone()
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                let mut run_mounts = Vec::new();
                let mut from_binds = Vec::new();
                let mut described = Vec::new();
                let whole = |s: &str| !s.trim().contains(char::is_whitespace);
                let mut script_dir = None;
                let argv = match command {
                    CommandForm::Exec(v) => v.clone(),
                    // `RUN <<EOF` whose body starts with `#!`: the body is
                    // a program run by the interpreter it names, as
                    // BuildKit runs it; bound in read-only, never a file
                    // in the root.
                    CommandForm::Shell(s)
                        if heredocs.len() == 1
                            && whole(s)
                            && heredocs[0].content.starts_with("#!") =>
                    {
                        let doc = &heredocs[0];
                        let dir = self.temp_dir()?;
                        let path = dir.path().join("script");
                        let io = |source| StepError::Io {
                            op: format!("write heredoc {}", doc.name),
                            source,
                        };
                        std::fs::write(&path, &doc.content).map_err(io)?;
                        std::fs::set_permissions(
                            &path,
                            std::os::unix::fs::PermissionsExt::from_mode(0o755),
                        )
                        .map_err(io)?;
                        let target = format!("/run/berth-heredoc-{}", cache_id_of(&doc.name));
                        script_dir = Some((dir, path, target.clone()));
                        described.push(doc.content.clone());
                        // The engine looks the program up in the root, where
                        // the bound script is not yet: run its interpreter,
                        // as the kernel would (one optional argument).
                        let line = doc.content[2..].lines().next().unwrap_or_default().trim();
                        let (interp, arg) = match line.split_once(char::is_whitespace) {
                            Some((i, a)) => (i.to_string(), Some(a.trim().to_string())),
                            None => (line.to_string(), None),
                        };
                        let mut v = vec![interp];
                        v.extend(arg);
                        v.push(target);
                        v
                    }
                    CommandForm::Shell(s) => {
                        let script = match heredocs.as_slice() {
                            // `RUN <<EOF`: the body is the script.
                            [one] if whole(s) => one.content.clone(),
                            [] => s.clone(),
                            docs => {
                                let mut full = format!("{s}\n");
                                for d in docs {
                                    full.push_str(&d.content);
                                    full.push_str(&d.name);
                                    full.push('\n');
                                }
                                full
                            }
                        };
                        let mut v = shell;
                        v.push(script);
                        v
                    }
                };
                for m in mounts {
                    let target = x(&m.target)?;
                    described.push(format!("{:?}:{target}:{:?}", m.kind, m.id));
                    match m.kind {
                        MountType::Bind if m.from.is_some() => {
                            let from = x(m.from.as_deref().unwrap_or_default())?;
                            if m.readonly == Some(false) {
                                return Err(StepError::Unsupported(format!(
                                    "RUN --mount=type=bind,from={from},rw: a bind from a stage \
                                     or image is read-only here"
                                )));
                            }
                            let image = self.image_of_from(&from)?;
                            let source = x(m.source.as_deref().unwrap_or("/"))?;
                            // The image id names its content.
                            described.push(format!("from={image}:{source}"));
                            from_binds.push(FromBind {
                                image,
                                source,
                                target,
                            });
                        }
                        MountType::Bind => {
                            let source = x(m.source.as_deref().unwrap_or("."))?;
                            let rels = self.context.resolve(&source)?;
                            let digest = self.context.digest(&rels)?;
                            described.push(digest);
                            let rel = rels.into_iter().next().unwrap_or_default();
                            run_mounts.push(RunMount::Bind {
                                source: self.context.root().join(rel),
                                target,
                                readonly: m.readonly.unwrap_or(true),
                            });
                        }
                        MountType::Cache => {
                            let id = match &m.id {
                                Some(id) => x(id)?,
                                None => cache_id_of(&target),
                            };
                            run_mounts.push(RunMount::Cache { id, target });
                        }
                        MountType::Tmpfs => run_mounts.push(RunMount::Tmpfs {
                            target,
                            size: m.size,
                        }),
                        MountType::Secret => {
                            let id = x(m.id.as_deref().unwrap_or_default())?;
                            match self.opts.secrets.get(&id) {
                                Some(src) => run_mounts.push(RunMount::Secret {
                                    source: absolute(src),
                                    target,
                                }),
                                None if m.required => return Err(StepError::MissingSecret(id)),
                                // Docker skips a secret not given unless it
                                // is required.
                                None => {}
                            }
                        }
                    }
                }
                let mut keep = None;
                if let Some((dir, path, target)) = script_dir {
                    run_mounts.push(RunMount::Bind {
                        source: path,
                        target,
                        readonly: true,
                    });
                    keep = Some(dir);
                }
                for (src, target, readonly) in &self.opts.volumes {
                    run_mounts.push(RunMount::Bind {
                        source: absolute(src),
                        target: target.clone(),
                        readonly: *readonly,
                    });
                }
                let network = match network.as_deref() {
                    None | Some("default") => self.opts.network,
                    Some("none") => NetworkMode::None,
                    Some("host") => NetworkMode::Host,
                    Some(other) => {
                        return Err(StepError::Invalid(format!(
                            "RUN --network={other}: default, none or host"
                        )))
                    }
                };
                let description = format!("RUN {argv:?} {described:?} {network:?}");
                Ok(Prepared {
                    description,
                    content: String::new(),
                    action: Action::Run {
                        opts: RunOptions {
                            command: argv,
                            env: st.args.run_env(&self.opts.build_args),
                            user: None,
                            workdir: None,
                            network,
                            cap_add: self.opts.cap_add.clone(),
                            cap_drop: self.opts.cap_drop.clone(),
                            mounts: run_mounts,
                            hostname: None,
                        },
                        _script: keep,
                        from_binds,
                    },
                })
            }
            Instruction::Copy(c) => self.prepare_copy(st, c, false),
            Instruction::Add(c) => self.prepare_copy(st, c, true),
            other => Err(StepError::Unsupported(format!(
                "{} changes no files",
                other.keyword()
            ))),
        }
    }

    fn prepare_copy(
        &mut self,
        st: &StageRun,
        c: &CopyArgs,
        add: bool,
    ) -> Result<Prepared, StepError> {
        let escape = self.plan.escape;
        // Refused rather than ignored: each would change what is copied.
        for (given, flag) in [
            (!c.exclude.is_empty(), "--exclude"),
            (c.parents, "--parents"),
            (c.checksum.is_some(), "--checksum"),
            (c.keep_git_dir, "--keep-git-dir"),
        ] {
            if given {
                return Err(StepError::Unsupported(format!(
                    "{flag} is not supported yet"
                )));
            }
        }
        let x = |w: &str| expand(w, escape, &|n| st.lookup(n));
        let sources = c
            .sources
            .iter()
            .map(|s| x(s))
            .collect::<Result<Vec<_>, _>>()?;
        let dest = x(&c.dest)?;
        let chown = c.chown.as_deref().map(x).transpose()?;
        let chmod = match c.chmod.as_deref().map(x).transpose()? {
            Some(m) => Some(u32::from_str_radix(&m, 8).map_err(|_| {
                StepError::Invalid(format!("--chmod={m}: an octal mode such as 0644 is needed"))
            })?),
            None => None,
        };
        let from = c.from.as_deref().map(x).transpose()?;
        let keyword = if add { "ADD" } else { "COPY" };
        let mut description =
            format!("{keyword} from={from:?} chown={chown:?} chmod={chmod:?} {sources:?} {dest}");
        let mut files = None;
        let mut host_sources = Vec::new();
        let content;
        if let Some(from) = from {
            let image = self.image_of_from(&from)?;
            for s in &sources {
                host_sources.push(s.trim_start_matches('/').to_string());
            }
            content = image.clone();
            let opts = CopyOptions {
                sources: host_sources,
                dest,
                context: None,
                chown,
                chmod,
                add,
            };
            return Ok(Prepared {
                description,
                content,
                action: Action::Copy {
                    opts,
                    _files: None,
                    from_image: Some(image),
                },
            });
        }
        let mut rels_all = Vec::new();
        for s in &sources {
            if add && (s.starts_with("http://") || s.starts_with("https://")) {
                host_sources.push(s.clone());
                description.push_str(&format!(" checksum={:?}", c.checksum));
                continue;
            }
            for rel in self.context.resolve(s)? {
                if self.context.excludes_under(&rel)? {
                    let dir = files.get_or_insert(self.temp_dir()?);
                    let staged = self
                        .context
                        .stage_filtered(&rel, &dir.path().join(rels_all.len().to_string()))?;
                    host_sources.push(staged.to_string_lossy().into_owned());
                } else {
                    host_sources.push(
                        self.context
                            .root()
                            .join(&rel)
                            .to_string_lossy()
                            .into_owned(),
                    );
                }
                rels_all.push(rel);
            }
        }
        let mut heredoc_text = String::new();
        for h in &c.heredocs {
            let body = if h.expand {
                expand_heredoc(&h.content, escape, &|n| st.lookup(n))?
            } else {
                h.content.clone()
            };
            heredoc_text.push_str(&body);
            let dir = files.get_or_insert(self.temp_dir()?);
            let path = dir.path().join(&h.name);
            std::fs::write(&path, &body).map_err(|source| StepError::Io {
                op: format!("write heredoc {}", h.name),
                source,
            })?;
            host_sources.push(path.to_string_lossy().into_owned());
        }
        content = format!("{}{heredoc_text}", self.context.digest(&rels_all)?);
        Ok(Prepared {
            description,
            content,
            action: Action::Copy {
                opts: CopyOptions {
                    sources: host_sources,
                    dest,
                    context: None,
                    chown,
                    chmod,
                    add,
                },
                _files: files,
                from_image: None,
            },
        })
    }

    pub(super) fn execute(
        &mut self,
        st: &mut StageRun,
        prepared: Prepared,
    ) -> Result<(), StepError> {
        let wc = self.with_wc(st)?;
        match prepared.action {
            Action::Run {
                mut opts,
                _script,
                from_binds,
            } => {
                let mut mounted = Vec::new();
                let run = (|| {
                    for b in &from_binds {
                        let source = self.mount_from(&b.image, &b.source, &mut mounted)?;
                        opts.mounts.push(RunMount::Bind {
                            source,
                            target: b.target.clone(),
                            readonly: true,
                        });
                    }
                    Ok::<_, StepError>(self.builder.run(&wc, &opts)?)
                })();
                for image in mounted {
                    let _ = self.engine.store().unmount_image(&image, false);
                }
                run?
            }
            Action::Copy {
                mut opts,
                _files,
                from_image,
            } => match from_image {
                None => self.builder.copy(&wc, &opts)?,
                Some(image) => {
                    let store = self.engine.store();
                    let root = store
                        .mount_image(&image)
                        .map_err(|e| StepError::Working(e.into()))?;
                    let copied = expand_in(&root, &opts.sources).and_then(|sources| {
                        opts.sources = sources;
                        opts.context = Some(root.clone());
                        Ok(self.builder.copy(&wc, &opts)?)
                    });
                    let _ = store.unmount_image(&image, false);
                    copied?;
                }
            },
        }
        Ok(())
    }

    /// The image a `--from=` names: a stage built already, else an image
    /// (pulled as `--pull` says).
    fn image_of_from(&self, from: &str) -> Result<String, StepError> {
        match self.plan.stage_named(from) {
            Some(j) => {
                self.results.get(&j).cloned().ok_or_else(|| {
                    StepError::Invalid(format!("--from={from}: stage not built yet"))
                })
            }
            None => Ok(berth_image::image_for_container(
                self.ctx,
                self.engine.store(),
                from,
                self.opts.pull,
                &berth_image::progress::NoProgress,
            )
            .map_err(|e| StepError::Working(e.into()))?
            .id),
        }
    }

    /// Mounts `image` read-only (noted in `mounted` for the caller to
    /// unmount) and returns the host path of `source` in it, resolved
    /// inside its root: a symlink in the image cannot lead to the host.
    fn mount_from(
        &self,
        image: &str,
        source: &str,
        mounted: &mut Vec<String>,
    ) -> Result<PathBuf, StepError> {
        let root = self
            .engine
            .store()
            .mount_image(image)
            .map_err(|e| StepError::Working(e.into()))?;
        mounted.push(image.to_string());
        let io = |e| StepError::Io {
            op: format!("open {source} in {image}"),
            source: e,
        };
        let fd = Root::at(&root)
            .and_then(|r| r.open(source, nix::fcntl::OFlag::O_PATH))
            .map_err(io)?;
        // The kernel's name for what was opened: a path under the mount.
        let host = std::fs::read_link(fd_path(&fd)).map_err(io)?;
        if !host.starts_with(&root) {
            return Err(StepError::Invalid(format!(
                "{source} in {image} is not inside its root"
            )));
        }
        Ok(host)
    }
}

/// Sources of a `COPY --from`, wildcards matched in the mounted `root`
/// (others as given: the copy resolves them).
fn expand_in(root: &std::path::Path, sources: &[String]) -> Result<Vec<String>, StepError> {
    let mut out = Vec::new();
    let mut tree = None;
    for s in sources {
        if !s.contains(['*', '?', '[']) {
            out.push(s.clone());
            continue;
        }
        if tree.is_none() {
            tree = Some(BuildContext::tree(root).map_err(StepError::Context)?);
        }
        if let Some(t) = &tree {
            out.extend(t.resolve(s).map_err(StepError::Context)?);
        }
    }
    Ok(out)
}

fn absolute(p: &std::path::Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}
