//! From a parsed Containerfile to its stages: where each starts (an image,
//! an earlier stage, or `scratch`), its instructions, the global ARGs, and
//! which stages the `--target` needs (the others are skipped, as BuildKit
//! and podman skip them).

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::args::{ArgScope, Platform};
use crate::containerfile::substitute::{expand, SubstituteError};
use crate::containerfile::{Containerfile, Instruction, Step};

/// What a stage starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StageBase {
    /// An empty root.
    Scratch,
    /// The result of an earlier stage (by index).
    Stage(usize),
    /// An image, by name or id.
    Image(String),
}

/// One `FROM ...` and the instructions up to the next.
#[derive(Debug, Clone)]
pub struct Stage {
    /// 0-based position.
    pub index: usize,
    /// `AS name`, lower-cased.
    pub name: Option<String>,
    /// What it starts from (FROM's argument expanded with global args).
    pub base: StageBase,
    /// The FROM step.
    pub from: Step,
    /// The instructions after FROM.
    pub steps: Vec<Step>,
}

/// Stages in order, and which are built.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The Containerfile, for error messages.
    pub file: PathBuf,
    /// The escape character of the file.
    pub escape: char,
    /// Every stage.
    pub stages: Vec<Stage>,
    /// The ARGs before the first FROM.
    pub globals: ArgScope,
    /// The stage whose result is the image (`--target` or the last).
    pub target: usize,
    /// Indices of the stages the target needs, in order; the others are
    /// not built.
    pub needed: Vec<usize>,
}

/// A Containerfile whose stages do not fit together.
#[derive(Debug, thiserror::Error)]
#[error("{}:{line}: {kind}", file.display())]
pub struct PlanError {
    /// The Containerfile.
    pub file: PathBuf,
    /// The line of the faulty instruction (0: the file as a whole).
    pub line: usize,
    /// What is wrong.
    pub kind: PlanErrorKind,
}

/// What is wrong with the stages.
#[derive(Debug, thiserror::Error)]
pub enum PlanErrorKind {
    /// No FROM at all.
    #[error("no FROM instruction: nothing to build")]
    NoFrom,
    /// An instruction other than ARG before the first FROM.
    #[error("{0} before the first FROM: only ARG may come before it")]
    BeforeFrom(&'static str),
    /// Two stages with one name.
    #[error("the stage name {0:?} is used twice")]
    DuplicateName(String),
    /// `--target` names no stage.
    #[error("--target {0:?} names no stage of the file")]
    UnknownTarget(String),
    /// `FROM` or `--from` of the stage itself or of a later one.
    #[error("{0:?} refers to a stage that is not built before this one")]
    StageOrder(String),
    /// A `--platform` other than the host's.
    #[error("--platform={0}: berth builds for the host's platform ({1}) only")]
    Platform(String, String),
    /// A FROM line that cannot be expanded.
    #[error(transparent)]
    Substitute(#[from] SubstituteError),
}

impl Plan {
    /// Splits `cf` into stages, with `build_args` for the global ARGs and
    /// `target` (a stage name or index) for the result.
    pub fn new(
        cf: &Containerfile,
        build_args: &BTreeMap<String, String>,
        target: Option<&str>,
        platform: &Platform,
    ) -> Result<Plan, PlanError> {
        let err = |line, kind| PlanError {
            file: cf.path.clone(),
            line,
            kind,
        };
        let escape = cf.directives.escape;
        let predefined = platform.predefined_args();
        let mut globals = ArgScope::default();
        let mut stages: Vec<Stage> = Vec::new();
        for step in &cf.steps {
            match &step.instruction {
                Instruction::Arg(pairs) if stages.is_empty() => {
                    for (name, default) in pairs {
                        let default = match default {
                            Some(raw) => Some(
                                expand(raw, escape, &|n| global_value(&globals, &predefined, n))
                                    .map_err(|e| err(step.line, e.into()))?,
                            ),
                            None => None,
                        };
                        let empty = ArgScope::default();
                        globals.declare(name, default, build_args, &empty);
                    }
                }
                Instruction::From {
                    image,
                    name,
                    platform: wanted,
                } => {
                    let lookup = |n: &str| global_value(&globals, &predefined, n);
                    if let Some(p) = wanted {
                        let p = expand(p, escape, &lookup).map_err(|e| err(step.line, e.into()))?;
                        if !platform.accepts(&p) {
                            return Err(err(
                                step.line,
                                PlanErrorKind::Platform(p, platform.spec()),
                            ));
                        }
                    }
                    let image =
                        expand(image, escape, &lookup).map_err(|e| err(step.line, e.into()))?;
                    if let Some(n) = name {
                        if stages.iter().any(|s| s.name.as_deref() == Some(n)) {
                            return Err(err(step.line, PlanErrorKind::DuplicateName(n.clone())));
                        }
                    }
                    let base = if image.eq_ignore_ascii_case("scratch") {
                        StageBase::Scratch
                    } else if let Some(i) = find_stage(&stages, &image) {
                        StageBase::Stage(i)
                    } else if name.as_deref() == Some(image.to_ascii_lowercase().as_str()) {
                        return Err(err(step.line, PlanErrorKind::StageOrder(image)));
                    } else {
                        StageBase::Image(image)
                    };
                    stages.push(Stage {
                        index: stages.len(),
                        name: name.clone(),
                        base,
                        from: step.clone(),
                        steps: Vec::new(),
                    });
                }
                other => match stages.last_mut() {
                    Some(stage) => stage.steps.push(step.clone()),
                    None => return Err(err(step.line, PlanErrorKind::BeforeFrom(other.keyword()))),
                },
            }
        }
        if stages.is_empty() {
            return Err(err(0, PlanErrorKind::NoFrom));
        }
        let target_index = match target {
            None => stages.len() - 1,
            Some(t) => find_stage(&stages, t)
                .ok_or_else(|| err(0, PlanErrorKind::UnknownTarget(t.to_string())))?,
        };
        let mut plan = Plan {
            file: cf.path.clone(),
            escape,
            stages,
            globals,
            target: target_index,
            needed: Vec::new(),
        };
        plan.needed = plan.dependencies(target_index)?;
        Ok(plan)
    }

    /// The stage a `--from=` / `from=` value names, if it names one; a
    /// number is a stage index, as in Docker.
    pub fn stage_named(&self, name: &str) -> Option<usize> {
        find_stage(&self.stages, name)
    }

    /// Every stage `target` needs, itself included, in build order.
    fn dependencies(&self, target: usize) -> Result<Vec<usize>, PlanError> {
        let mut needed = vec![false; self.stages.len()];
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if needed[i] {
                continue;
            }
            needed[i] = true;
            let stage = &self.stages[i];
            if let StageBase::Stage(j) = stage.base {
                todo.push(j);
            }
            for step in &stage.steps {
                for reference in stage_references(&step.instruction) {
                    // A reference with variables is resolved when it runs;
                    // an image name is no stage.
                    let Some(j) = self.stage_named(&reference) else {
                        continue;
                    };
                    if j >= i {
                        return Err(PlanError {
                            file: self.file.clone(),
                            line: step.line,
                            kind: PlanErrorKind::StageOrder(reference),
                        });
                    }
                    todo.push(j);
                }
            }
        }
        Ok((0..self.stages.len()).filter(|i| needed[*i]).collect())
    }
}

fn global_value(
    globals: &ArgScope,
    predefined: &BTreeMap<String, String>,
    name: &str,
) -> Option<String> {
    globals
        .get(name)
        .map(str::to_string)
        .or_else(|| predefined.get(name).cloned())
}

fn find_stage(stages: &[Stage], name: &str) -> Option<usize> {
    let lower = name.to_ascii_lowercase();
    if let Some(i) = stages
        .iter()
        .position(|s| s.name.as_deref() == Some(lower.as_str()))
    {
        return Some(i);
    }
    name.parse::<usize>().ok().filter(|i| *i < stages.len())
}

/// The stages or images an instruction reads from: `COPY --from`, and
/// `RUN --mount=from=`.
fn stage_references(instruction: &Instruction) -> Vec<String> {
    match instruction {
        Instruction::Copy(c) => c.from.iter().cloned().collect(),
        Instruction::Run { mounts, .. } => mounts.iter().filter_map(|m| m.from.clone()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn plan(text: &str, target: Option<&str>) -> Result<Plan, PlanError> {
        let cf = Containerfile::parse(Path::new("Containerfile"), text).unwrap();
        let args: BTreeMap<String, String> = [("V".to_string(), "9".to_string())].into();
        Plan::new(&cf, &args, target, &Platform::host())
    }

    #[test]
    fn stages_and_bases() {
        let p = plan(
            "ARG V=1\nARG IMG=busybox:$V\nFROM $IMG AS build\nRUN x\nFROM scratch\nCOPY --from=build /a /a\nFROM build AS other\nFROM 1\n",
            None,
        )
        .unwrap();
        assert_eq!(p.stages.len(), 4);
        assert_eq!(p.stages[0].base, StageBase::Image("busybox:9".into()));
        assert_eq!(p.stages[1].base, StageBase::Scratch);
        assert_eq!(p.stages[2].base, StageBase::Stage(0));
        assert_eq!(p.stages[3].base, StageBase::Stage(1));
        // The last stage needs stage 1, which needs stage 0 (COPY --from);
        // stage 2 is skipped.
        assert_eq!(p.needed, vec![0, 1, 3]);
        let p = plan("FROM a AS one\nFROM b AS two\n", Some("one")).unwrap();
        assert_eq!((p.target, p.needed.clone()), (0, vec![0]));
    }

    #[test]
    fn platform_args_in_from() {
        let p = plan("FROM img-$TARGETARCH\n", None).unwrap();
        assert_eq!(
            p.stages[0].base,
            StageBase::Image(format!("img-{}", Platform::host().arch))
        );
        let spec = Platform::host().spec();
        assert!(plan(&format!("FROM --platform={spec} a\n"), None).is_ok());
        assert!(plan("FROM --platform=$BUILDPLATFORM a\n", None).is_ok());
    }

    #[test]
    fn bad_plans() {
        let cases: &[(&str, Option<&str>, &str)] = &[
            (
                "RUN x\nFROM a",
                None,
                "Containerfile:1: RUN before the first FROM",
            ),
            ("ARG A\n", None, "Containerfile:0: no FROM"),
            (
                "FROM a AS x\nFROM b AS x\n",
                None,
                "Containerfile:2: the stage name \"x\" is used twice",
            ),
            ("FROM a AS x\n", Some("y"), "--target \"y\" names no stage"),
            (
                "FROM a AS x\nCOPY --from=x /a /b\n",
                None,
                "Containerfile:2: \"x\" refers to a stage",
            ),
            (
                "FROM a AS x\nFROM b\nCOPY --from=1 /a /b\n",
                None,
                "Containerfile:3:",
            ),
            (
                "FROM x AS x\n",
                None,
                "Containerfile:1: \"x\" refers to a stage",
            ),
            (
                "FROM --platform=windows/arm a\n",
                None,
                "Containerfile:1: --platform=windows/arm",
            ),
            ("FROM ${A:?needed}\n", None, "Containerfile:1: A: needed"),
        ];
        for (text, target, want) in cases {
            let e = plan(text, *target).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }
}
