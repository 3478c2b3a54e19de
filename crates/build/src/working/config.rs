//! The image config a working container builds: oci-spec's
//! `ImageConfiguration` (as the engine reads images) plus what only the
//! docker format carries (Healthcheck, OnBuild, Shell), kept as docker
//! keeps them in the config's `config` object.

use crate::error::{Error, Result};
use oci_spec::image::{Config, History, ImageConfiguration};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// A docker-format `Healthcheck` (durations in nanoseconds, as docker's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Healthcheck {
    /// `["CMD", args…]`, `["CMD-SHELL", command]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Between checks.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub interval: i64,
    /// How long one check may take.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Failures before the start period ends do not count.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub start_period: i64,
    /// Failures in a row that make it unhealthy.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub retries: i64,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// The image config being built.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkingConfig {
    /// The OCI config: execution parameters, author, history, and the
    /// base image's `rootfs.diff_ids`.
    pub image: ImageConfiguration,
    /// Docker's `Healthcheck`.
    #[serde(default)]
    pub healthcheck: Option<Healthcheck>,
    /// Docker's `OnBuild` triggers (Containerfile instructions).
    #[serde(default)]
    pub onbuild: Vec<String>,
    /// Docker's `Shell` (the shell form's shell; default `/bin/sh -c`).
    #[serde(default)]
    pub shell: Option<Vec<String>>,
}

impl WorkingConfig {
    /// The config of a build from `scratch`: this host's platform, nothing
    /// else.
    pub fn scratch() -> Result<WorkingConfig> {
        let v = json!({
            "architecture": host_arch(),
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": []},
        });
        let image = serde_json::from_value(v).map_err(|source| Error::ImageConfig {
            image: "scratch".into(),
            source,
        })?;
        Ok(WorkingConfig {
            image,
            ..Default::default()
        })
    }

    /// The config of a build from image `id`, whose config is `bytes`.
    pub fn from_image(id: &str, bytes: &[u8]) -> Result<WorkingConfig> {
        let bad = |source| Error::ImageConfig {
            image: id.into(),
            source,
        };
        let raw: Value = serde_json::from_slice(bytes).map_err(bad)?;
        let image: ImageConfiguration = serde_json::from_value(raw.clone()).map_err(bad)?;
        let cfg = &raw["config"];
        let healthcheck = match cfg.get("Healthcheck") {
            Some(h) if !h.is_null() => Some(serde_json::from_value(h.clone()).map_err(bad)?),
            _ => None,
        };
        let strings = |key: &str| -> Result<Option<Vec<String>>> {
            match cfg.get(key) {
                Some(v) if !v.is_null() => {
                    Ok(Some(serde_json::from_value(v.clone()).map_err(bad)?))
                }
                _ => Ok(None),
            }
        };
        Ok(WorkingConfig {
            image,
            healthcheck,
            // A base's triggers fire in the build FROM it, not in later ones.
            onbuild: strings("OnBuild")?.unwrap_or_default(),
            shell: strings("Shell")?,
        })
    }

    /// The execution parameters (empty when the image has none).
    pub fn exec(&self) -> Config {
        self.image.config().clone().unwrap_or_default()
    }

    /// Change the execution parameters with `f` (oci-spec gives them by
    /// value only: taken out, changed, put back).
    pub fn edit_exec<T>(&mut self, f: impl FnOnce(&mut Config) -> T) -> T {
        let mut cfg = self.exec();
        let out = f(&mut cfg);
        self.image.set_config(Some(cfg));
        out
    }

    /// Set `ENTRYPOINT` (empty: none).
    pub fn set_entrypoint(&mut self, argv: Vec<String>) {
        self.edit_exec(|c| {
            c.set_entrypoint((!argv.is_empty()).then_some(argv));
        });
    }

    /// Set `CMD` (empty: none).
    pub fn set_cmd(&mut self, argv: Vec<String>) {
        self.edit_exec(|c| {
            c.set_cmd((!argv.is_empty()).then_some(argv));
        });
    }

    /// Set `NAME=VALUE` in Env, replacing the name's earlier value.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.edit_exec(|cfg| {
            let mut env = cfg.env().clone().unwrap_or_default();
            let prefix = format!("{name}=");
            env.retain(|e| !e.starts_with(&prefix) && e != name);
            env.push(format!("{name}={value}"));
            cfg.set_env(Some(env));
        });
    }

    /// Remove `name` from Env.
    pub fn unset_env(&mut self, name: &str) {
        self.edit_exec(|cfg| {
            let mut env = cfg.env().clone().unwrap_or_default();
            let prefix = format!("{name}=");
            env.retain(|e| !e.starts_with(&prefix) && e != name);
            cfg.set_env(Some(env));
        });
    }

    /// Set label `key` (empty value allowed).
    pub fn set_label(&mut self, key: &str, value: &str) {
        self.edit_exec(|cfg| {
            let mut labels = cfg.labels().clone().unwrap_or_default();
            labels.insert(key.into(), value.into());
            cfg.set_labels(Some(labels));
        });
    }

    /// Remove label `key`.
    pub fn remove_label(&mut self, key: &str) {
        self.edit_exec(|cfg| {
            let mut labels = cfg.labels().clone().unwrap_or_default();
            labels.remove(key);
            cfg.set_labels((!labels.is_empty()).then_some(labels));
        });
    }

    /// Set `USER` (empty: none).
    pub fn set_user(&mut self, user: &str) {
        self.edit_exec(|c| {
            c.set_user((!user.is_empty()).then(|| user.to_string()));
        });
    }

    /// Set `WORKDIR`; a relative one is taken from the current one, as
    /// docker does.
    pub fn set_workdir(&mut self, dir: &str) {
        self.edit_exec(|cfg| {
            let dir = if dir.starts_with('/') {
                dir.to_string()
            } else {
                let cur = cfg.working_dir().clone().unwrap_or_else(|| "/".into());
                format!("{}/{dir}", cur.trim_end_matches('/'))
            };
            cfg.set_working_dir(Some(dir));
        });
    }

    /// Add an exposed port (`80`, `80/tcp`, `53/udp`); `/tcp` is implied.
    pub fn add_port(&mut self, port: &str) -> Result<()> {
        let (num, proto) = port.split_once('/').unwrap_or((port, "tcp"));
        if num.parse::<u16>().is_err() || !matches!(proto, "tcp" | "udp" | "sctp") {
            return Err(Error::InvalidOption {
                option: "port",
                value: port.into(),
                reason: "must be PORT[/tcp|udp|sctp]".into(),
            });
        }
        let key = format!("{num}/{proto}");
        self.edit_exec(|cfg| {
            let mut ports = cfg.exposed_ports().clone().unwrap_or_default();
            if !ports.contains(&key) {
                ports.push(key);
                ports.sort();
            }
            cfg.set_exposed_ports(Some(ports));
        });
        Ok(())
    }

    /// Add a volume (an absolute path).
    pub fn add_volume(&mut self, path: &str) -> Result<()> {
        if !path.starts_with('/') {
            return Err(Error::InvalidOption {
                option: "volume",
                value: path.into(),
                reason: "must be an absolute path".into(),
            });
        }
        self.edit_exec(|cfg| {
            let mut vols = cfg.volumes().clone().unwrap_or_default();
            if !vols.iter().any(|v| v == path) {
                vols.push(path.into());
                vols.sort();
            }
            cfg.set_volumes(Some(vols));
        });
        Ok(())
    }

    /// Set `STOPSIGNAL` (a name like `SIGTERM` or a number).
    pub fn set_stop_signal(&mut self, signal: &str) {
        self.edit_exec(|c| {
            c.set_stop_signal((!signal.is_empty()).then(|| signal.to_string()));
        });
    }

    /// Set the config's author (`MAINTAINER`, `--author`).
    pub fn set_author(&mut self, author: &str) {
        self.image
            .set_author((!author.is_empty()).then(|| author.to_string()));
    }

    /// Add a history entry for a step that made no layer (ENV, LABEL…) or
    /// a comment; `created` is filled at commit when None.
    pub fn add_history(&mut self, created_by: &str, empty_layer: bool) {
        let mut h = History::default();
        h.set_created_by(Some(created_by.to_string()));
        if empty_layer {
            h.set_empty_layer(Some(true));
        }
        let mut all = self.image.history().clone().unwrap_or_default();
        all.push(h);
        self.image.set_history(Some(all));
    }

    /// The config as the committed image carries it (the docker extras in
    /// its `config` object), every history entry without a time given
    /// `created`.
    pub fn to_image_value(&self, created: &str) -> Result<Value> {
        let mut image = self.image.clone();
        if let Some(history) = image.history().clone() {
            let history = history
                .into_iter()
                .map(|mut h| {
                    if h.created().is_none() {
                        h.set_created(Some(created.to_string()));
                    }
                    h
                })
                .collect();
            image.set_history(Some(history));
        }
        let mut v = serde_json::to_value(&image).map_err(|source| Error::Record {
            id: "config".into(),
            source,
        })?;
        let cfg = v
            .as_object_mut()
            .map(|o| o.entry("config").or_insert_with(|| json!({})));
        if let Some(Value::Object(cfg)) = cfg {
            if let Some(h) = &self.healthcheck {
                cfg.insert("Healthcheck".into(), json!(h));
            }
            if !self.onbuild.is_empty() {
                cfg.insert("OnBuild".into(), json!(self.onbuild));
            }
            if let Some(s) = &self.shell {
                cfg.insert("Shell".into(), json!(s));
            }
        }
        Ok(v)
    }
}

/// The OCI architecture name of this host.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "powerpc64" => "ppc64le",
        other => other,
    }
}
