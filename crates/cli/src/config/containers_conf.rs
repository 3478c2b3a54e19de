//! `containers.conf` (containers.conf(5)): the `[containers]` keys
//! `default_capabilities`, `default_ulimits` and `env`, the defaults of
//! `berth run`/`create`. They sit below the image's settings and the
//! command line's (podman's order: containers.conf env < image Env <
//! `--env`; `--ulimit` replaces a default limit of the same name;
//! `--cap-add`/`--cap-drop` apply to the default capabilities).
//!
//! Files, each overriding the keys it sets in the ones before (an array
//! ending in `{append = true}` extends the earlier value instead):
//! 1. `$CONTAINERS_CONF` alone if set; else `/usr/share/containers/containers.conf`,
//!    `/etc/containers/containers.conf`, `/etc/containers/containers.conf.d/*.conf`,
//!    and for a non-root user `$XDG_CONFIG_HOME/containers/containers.conf`
//!    and its `containers.conf.d/*.conf` (podman reads those only rootless);
//! 2. berth's own `/etc/berth/containers.conf` (`$BERTH_CONTAINERS_CONF`);
//! 3. `$CONTAINERS_CONF_OVERRIDE`, which podman loads last.

use berth_engine::options::{expand_env, ContainerDefaults, Ulimit};
use berth_image::config_paths;
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where packages put the containers ecosystem's defaults.
pub const CONTAINERS_CONF_SHARE: &str = "/usr/share/containers/containers.conf";
/// The administrator's containers.conf.
pub const CONTAINERS_CONF: &str = "/etc/containers/containers.conf";
/// Its drop-in directory.
pub const CONTAINERS_CONF_D: &str = "/etc/containers/containers.conf.d";
/// berth's own containers.conf.
pub const BERTH_CONTAINERS_CONF: &str = "/etc/berth/containers.conf";

#[derive(Debug, Default, Deserialize)]
struct FileFormat {
    #[serde(default)]
    containers: Section,
}

#[derive(Debug, Default, Deserialize)]
struct Section {
    default_capabilities: Option<Vec<toml::Value>>,
    default_ulimits: Option<Vec<toml::Value>>,
    env: Option<Vec<toml::Value>>,
}

/// The files to read, in order, each with whether it must exist.
pub fn files() -> anyhow::Result<Vec<(PathBuf, bool)>> {
    let mut out = Vec::new();
    match config_paths::env_path("CONTAINERS_CONF") {
        Some(p) => out.push((p, true)),
        None => {
            out.push((config_paths::system(CONTAINERS_CONF_SHARE), false));
            out.push((config_paths::system(CONTAINERS_CONF), false));
            for p in config_paths::drop_ins(&config_paths::system(CONTAINERS_CONF_D))? {
                out.push((p, false));
            }
            if !super::running_as_root() {
                if let Some(p) = config_paths::xdg_config("containers/containers.conf") {
                    out.push((p, false));
                }
                if let Some(d) = config_paths::xdg_config("containers/containers.conf.d") {
                    for p in config_paths::drop_ins(&d)? {
                        out.push((p, false));
                    }
                }
            }
        }
    }
    match config_paths::env_path("BERTH_CONTAINERS_CONF") {
        Some(p) => out.push((p, true)),
        None => out.push((config_paths::system(BERTH_CONTAINERS_CONF), false)),
    }
    if let Some(p) = config_paths::env_path("CONTAINERS_CONF_OVERRIDE") {
        out.push((p, true));
    }
    Ok(out)
}

/// The [`files`] that exist, read once: `run`/`create` take their
/// defaults, network mode and pull policy from the same texts, each reader
/// parsing the tables it knows (errors still name the file and line).
pub struct ContainersConf {
    texts: Vec<(PathBuf, String)>,
}

impl ContainersConf {
    /// Read every file of [`files`] that exists (one that must exist and
    /// does not is an error naming it).
    pub fn load() -> anyhow::Result<ContainersConf> {
        let mut texts = Vec::new();
        for (path, must_exist) in files()? {
            if let Some(text) = super::read_text(&path, must_exist)? {
                texts.push((path, text));
            }
        }
        Ok(ContainersConf { texts })
    }

    /// Each file parsed as `T`, in order, with its path.
    pub fn each<T: serde::de::DeserializeOwned>(&self) -> anyhow::Result<Vec<(T, &Path)>> {
        self.texts
            .iter()
            .map(|(path, text)| Ok((super::parse_toml(text, path)?, path.as_path())))
            .collect()
    }
}

/// The defaults for new containers from the files of `conf`.
pub fn container_defaults(conf: &ContainersConf) -> anyhow::Result<ContainerDefaults> {
    let mut d = ContainerDefaults::default();
    for (f, path) in conf.each::<FileFormat>()? {
        merge(&mut d, f, path)?;
    }
    Ok(d)
}

/// Parse containers.conf text read from `path` over `d`.
#[cfg(test)]
fn merge_text(d: &mut ContainerDefaults, text: &str, path: &Path) -> anyhow::Result<()> {
    merge(d, super::parse_toml(text, path)?, path)
}

fn merge(d: &mut ContainerDefaults, f: FileFormat, path: &Path) -> anyhow::Result<()> {
    let c = f.containers;
    if let Some(list) = c.default_capabilities {
        let (items, append) = strings(list, path, "default_capabilities")?;
        let caps = items
            .iter()
            .map(|c| berth_engine::confinement::parse_capability(c))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("{}: default_capabilities: {e}", path.display()))?;
        match (&mut d.capabilities, append) {
            (Some(existing), true) => existing.extend(caps),
            // Appending to nothing configured appends to podman's set.
            (None, true) => {
                let mut base: Vec<String> = berth_engine::confinement::DEFAULT_CAPABILITIES
                    .iter()
                    .map(|c| c.to_string())
                    .collect();
                base.extend(caps);
                d.capabilities = Some(base);
            }
            (slot, false) => *slot = Some(caps),
        }
        if let Some(caps) = &mut d.capabilities {
            let mut seen = std::collections::HashSet::new();
            caps.retain(|c| seen.insert(c.clone()));
        }
    }
    if let Some(list) = c.default_ulimits {
        let (items, append) = strings(list, path, "default_ulimits")?;
        let limits = items
            .iter()
            .map(|u| Ulimit::parse(u))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("{}: default_ulimits: {e}", path.display()))?;
        if !append {
            d.ulimits.clear();
        }
        for u in limits {
            d.ulimits.retain(|l| l.name != u.name);
            d.ulimits.push(u);
        }
    }
    if let Some(list) = c.env {
        let (items, append) = strings(list, path, "env")?;
        if let Some(bad) = items.iter().find(|e| e.is_empty() || e.starts_with('=')) {
            anyhow::bail!("{}: env: {bad:?} is not NAME=VALUE or NAME", path.display());
        }
        if !append {
            d.env.clear();
        }
        // A bare NAME takes berth's own value, as `--env NAME` does.
        d.env.extend(items.iter().filter_map(|e| expand_env(e)));
    }
    Ok(())
}

/// The strings of a containers.conf array, and whether it ended in
/// `{append = true}`.
fn strings(list: Vec<toml::Value>, path: &Path, key: &str) -> anyhow::Result<(Vec<String>, bool)> {
    let mut out = Vec::new();
    let mut append = false;
    let last = list.len().saturating_sub(1);
    for (i, v) in list.into_iter().enumerate() {
        match v {
            toml::Value::String(s) => out.push(s),
            toml::Value::Table(t) => {
                append = match t.get("append") {
                    Some(toml::Value::Boolean(b)) if t.len() == 1 && i == last => *b,
                    _ => anyhow::bail!(
                        "{}: {key}: the only table allowed is a last {{append = true|false}}",
                        path.display()
                    ),
                };
            }
            other => anyhow::bail!(
                "{}: {key}: expected strings, found {}",
                path.display(),
                other.type_str()
            ),
        }
    }
    Ok((out, append))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(layers: &[(&str, &str)]) -> anyhow::Result<ContainerDefaults> {
        let mut d = ContainerDefaults::default();
        for (path, text) in layers {
            merge_text(&mut d, text, Path::new(path))?;
        }
        Ok(d)
    }

    #[test]
    fn reads_the_containers_table() {
        let d = apply(&[(
            "/usr/share/containers/containers.conf",
            "[containers]\ndefault_capabilities = [\"CHOWN\", \"cap_kill\"]\n\
             default_ulimits = [\"nofile=1024:2048\"]\nenv = [\"A=1\", \"B=2\"]\n\
             default_sysctls = [\"net.ipv4.ping_group_range=0 0\"]\n[engine]\nenv = [\"X=engine\"]\n",
        )])
        .unwrap();
        assert_eq!(d.capabilities.unwrap(), ["CAP_CHOWN", "CAP_KILL"]);
        assert_eq!(d.ulimits, [Ulimit::parse("nofile=1024:2048").unwrap()]);
        assert_eq!(d.env, ["A=1", "B=2"]);
    }

    #[test]
    fn later_files_override_key_by_key() {
        let d = apply(&[
            (
                "/a",
                "[containers]\ndefault_capabilities = [\"CHOWN\"]\nenv = [\"A=1\"]\n\
                 default_ulimits = [\"nofile=10\", \"nproc=20\"]\n",
            ),
            // Sets env only: capabilities and ulimits stay.
            ("/b", "[containers]\nenv = [\"B=2\"]\n"),
            // Appends.
            (
                "/c",
                "[containers]\ndefault_ulimits = [\"nofile=30\", {append = true}]\n\
                 default_capabilities = [\"KILL\", {append = true}]\n",
            ),
            // Not a [containers] key at all.
            ("/d", "[network]\ndns_servers = []\n"),
        ])
        .unwrap();
        assert_eq!(d.env, ["B=2"]);
        assert_eq!(d.capabilities.unwrap(), ["CAP_CHOWN", "CAP_KILL"]);
        assert_eq!(
            d.ulimits,
            [
                Ulimit::parse("nproc=20").unwrap(),
                Ulimit::parse("nofile=30").unwrap()
            ]
        );
        // Appending to nothing configured extends podman's set.
        let d = apply(&[(
            "/a",
            "[containers]\ndefault_capabilities = [\"NET_RAW\", {append = true}]\n",
        )])
        .unwrap();
        assert_eq!(d.capabilities.unwrap().len(), 12);
    }

    #[test]
    fn nothing_configured_is_the_builtin() {
        assert_eq!(apply(&[("/a", "")]).unwrap(), ContainerDefaults::default());
    }

    #[test]
    fn malformed_files_are_named() {
        for (text, want) in [
            ("[containers\n", "TOML"),
            ("[containers]\nenv = \"A=1\"\n", "env"),
            ("[containers]\nenv = [1]\n", "expected strings"),
            ("[containers]\nenv = [\"=x\"]\n", "NAME=VALUE"),
            (
                "[containers]\ndefault_capabilities = [\"FLY\"]\n",
                "unknown capability",
            ),
            (
                "[containers]\ndefault_ulimits = [\"nofile=x\"]\n",
                "default_ulimits",
            ),
            ("[containers]\nenv = [{append = true}, \"A=1\"]\n", "append"),
        ] {
            let e = apply(&[("/etc/containers/containers.conf.d/50-x.conf", text)]).unwrap_err();
            let msg = format!("{e:#}");
            assert!(
                msg.contains("/etc/containers/containers.conf.d/50-x.conf") && msg.contains(want),
                "{text}: {msg}"
            );
        }
    }
}
