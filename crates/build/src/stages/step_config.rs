//! The instructions that only change the image config: ENV, LABEL,
//! EXPOSE, VOLUME, USER, WORKDIR, STOPSIGNAL, CMD, ENTRYPOINT, SHELL,
//! HEALTHCHECK, ONBUILD, MAINTAINER. Each is expanded with the values in
//! scope before it, chained into the cache key, and kept as an
//! empty-layer history entry, as Docker keeps them.

use super::cache::next_key;
use super::error::StepError;
use super::executor::{Build, StageRun};
use crate::containerfile::substitute::expand;
use crate::containerfile::{CommandForm, Healthcheck, Instruction, Step};
use crate::working::Healthcheck as ConfigHealthcheck;

impl Build<'_> {
    pub(super) fn config_step(&mut self, st: &mut StageRun, step: &Step) -> Result<(), StepError> {
        let escape = self.plan.escape;
        let x = |st: &StageRun, w: &str| expand(w, escape, &|n| st.lookup(n));
        let shell = st
            .config
            .shell
            .clone()
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
        let argv = |form: &CommandForm| match form {
            CommandForm::Exec(v) => v.clone(),
            CommandForm::Shell(s) => {
                let mut v = shell.clone();
                v.push(s.clone());
                v
            }
        };
        let history = format!("/bin/sh -c #(nop) {}", step.text);
        let description: String;
        match &step.instruction {
            Instruction::Env(pairs) => {
                let mut expanded = Vec::new();
                for (k, v) in pairs {
                    expanded.push((x(st, k)?, x(st, v)?));
                }
                description = format!("ENV {expanded:?}");
                self.configure(st, |c| {
                    for (k, v) in &expanded {
                        c.set_env(k, v);
                    }
                    Ok(())
                })?;
            }
            Instruction::Label(pairs) => {
                let mut expanded = Vec::new();
                for (k, v) in pairs {
                    expanded.push((x(st, k)?, x(st, v)?));
                }
                description = format!("LABEL {expanded:?}");
                self.configure(st, |c| {
                    for (k, v) in &expanded {
                        c.set_label(k, v);
                    }
                    Ok(())
                })?;
            }
            Instruction::Expose(ports) => {
                let ports = ports
                    .iter()
                    .map(|p| x(st, p))
                    .collect::<Result<Vec<_>, _>>()?;
                description = format!("EXPOSE {ports:?}");
                self.configure(st, |c| ports.iter().try_for_each(|p| c.add_port(p)))?;
            }
            Instruction::Volume(paths) => {
                let paths = paths
                    .iter()
                    .map(|p| x(st, p))
                    .collect::<Result<Vec<_>, _>>()?;
                description = format!("VOLUME {paths:?}");
                self.configure(st, |c| paths.iter().try_for_each(|p| c.add_volume(p)))?;
            }
            Instruction::User(u) => {
                let u = x(st, u)?;
                description = format!("USER {u}");
                self.configure(st, |c| {
                    c.set_user(&u);
                    Ok(())
                })?;
            }
            Instruction::Workdir(w) => {
                let w = x(st, w)?;
                description = format!("WORKDIR {w}");
                self.configure(st, |c| {
                    c.set_workdir(&w);
                    Ok(())
                })?;
            }
            Instruction::StopSignal(s) => {
                let s = x(st, s)?;
                description = format!("STOPSIGNAL {s}");
                self.configure(st, |c| {
                    c.set_stop_signal(&s);
                    Ok(())
                })?;
            }
            Instruction::Maintainer(m) => {
                description = format!("MAINTAINER {m}");
                let m = m.clone();
                self.configure(st, |c| {
                    c.set_author(&m);
                    Ok(())
                })?;
            }
            Instruction::Cmd(form) => {
                let v = argv(form);
                description = format!("CMD {v:?}");
                st.cmd_set = true;
                self.configure(st, |c| {
                    c.set_cmd(v);
                    Ok(())
                })?;
            }
            Instruction::Entrypoint(form) => {
                let v = argv(form);
                description = format!("ENTRYPOINT {v:?}");
                // Docker: an ENTRYPOINT resets a CMD inherited from the
                // base image; one set in this stage stays.
                let reset_cmd = !st.cmd_set;
                self.configure(st, |c| {
                    c.set_entrypoint(v);
                    if reset_cmd {
                        c.edit_exec(|e| {
                            e.set_cmd(None);
                        });
                    }
                    Ok(())
                })?;
            }
            Instruction::Shell(v) => {
                description = format!("SHELL {v:?}");
                let v = v.clone();
                self.configure(st, |c| {
                    c.shell = Some(v);
                    Ok(())
                })?;
            }
            Instruction::Healthcheck(h) => {
                let hc = match h {
                    Healthcheck::None => ConfigHealthcheck {
                        test: vec!["NONE".into()],
                        ..Default::default()
                    },
                    Healthcheck::Check {
                        start_interval: Some(_),
                        ..
                    } => {
                        return Err(StepError::Unsupported(
                            "HEALTHCHECK --start-interval is not supported yet".into(),
                        ))
                    }
                    Healthcheck::Check {
                        command,
                        interval,
                        timeout,
                        start_period,
                        retries,
                        ..
                    } => ConfigHealthcheck {
                        test: match command {
                            CommandForm::Exec(v) => std::iter::once("CMD".to_string())
                                .chain(v.iter().cloned())
                                .collect(),
                            CommandForm::Shell(s) => vec!["CMD-SHELL".into(), s.clone()],
                        },
                        interval: nanos(*interval),
                        timeout: nanos(*timeout),
                        start_period: nanos(*start_period),
                        retries: retries.map(i64::from).unwrap_or(0),
                    },
                };
                description = format!("HEALTHCHECK {hc:?}");
                self.configure(st, |c| {
                    c.healthcheck = Some(hc);
                    Ok(())
                })?;
            }
            Instruction::Onbuild { text, .. } => {
                description = format!("ONBUILD {text}");
                let text = text.clone();
                self.configure(st, |c| {
                    c.onbuild.push(text);
                    Ok(())
                })?;
            }
            other => {
                return Err(StepError::Unsupported(format!(
                    "{} is not a config instruction",
                    other.keyword()
                )))
            }
        }
        self.configure(st, |c| {
            c.add_history(&history, true);
            Ok(())
        })?;
        st.key = next_key(&st.key, &description, &[], "");
        Ok(())
    }
}

fn nanos(v: Option<u64>) -> i64 {
    v.map(|n| i64::try_from(n).unwrap_or(i64::MAX)).unwrap_or(0)
}
