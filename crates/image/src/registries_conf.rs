//! `registries.conf` (containers-registries.conf(5), version 2): search
//! registries for short names, and per-prefix rewrites, mirrors, insecure
//! and blocked flags.
//!
//! Files are read as containers/image reads them, then berth's own on top
//! (it extends the shared configuration, never replaces it):
//! 1. `$CONTAINERS_REGISTRIES_CONF`, else `$HOME/.config/containers/registries.conf`
//!    when it exists, else `/etc/containers/registries.conf`;
//! 2. the drop-ins `/etc/containers/registries.conf.d/*.conf` (skipped when
//!    the user's file was chosen, as containers/image does), then
//!    `$HOME/.config/containers/registries.conf.d/*.conf`;
//! 3. `/etc/berth/registries.conf`.
//!
//! A later file overrides an earlier one key by key: a
//! `unqualified-search-registries` it sets replaces the list, a
//! `[[registry]]` with the same prefix replaces the earlier table, aliases
//! are merged name by name. `--registries-conf` (`$BERTH_REGISTRIES_CONF`)
//! names the only file to read instead.

use crate::config_paths;
use crate::error::{Error, Result};
use crate::reference::{ParsedName, Reference};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// berth's own registries.conf, read last.
pub const BERTH_REGISTRIES_CONF: &str = "/etc/berth/registries.conf";
/// The file podman, skopeo and buildah read.
pub const CONTAINERS_REGISTRIES_CONF: &str = "/etc/containers/registries.conf";
/// Their drop-in directory.
pub const CONTAINERS_REGISTRIES_CONF_D: &str = "/etc/containers/registries.conf.d";

/// One `[[registry]]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegistryEntry {
    /// The names this entry applies to: `host[/path]` or `*.domain`.
    /// Defaults to `location`.
    #[serde(default)]
    pub prefix: String,
    /// Where matching names are really fetched from.
    #[serde(default)]
    pub location: String,
    /// Plain HTTP or unverified TLS allowed.
    #[serde(default)]
    pub insecure: bool,
    /// Refuse pulls from it.
    #[serde(default)]
    pub blocked: bool,
    /// Mirrors tried in order before `location`.
    #[serde(default)]
    pub mirror: Vec<Mirror>,
}

/// One `[[registry.mirror]]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct Mirror {
    /// `host[/path]` of the mirror.
    pub location: String,
    /// Plain HTTP or unverified TLS allowed.
    #[serde(default)]
    pub insecure: bool,
}

/// A parsed registries.conf.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct RegistriesConf {
    /// Registries tried, in order, for short names.
    #[serde(default = "default_search")]
    pub unqualified_search_registries: Vec<String>,
    /// The `[[registry]]` tables.
    #[serde(default)]
    pub registry: Vec<RegistryEntry>,
    /// `[aliases]`: short name → fully qualified name.
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// The file whose `unqualified-search-registries` are in force (none:
    /// the built-in default), named in podman's `Resolving …` line.
    #[serde(skip)]
    pub search_origin: Option<PathBuf>,
}

fn default_search() -> Vec<String> {
    vec![crate::reference::DOCKER_HUB.to_string()]
}

impl Default for RegistriesConf {
    fn default() -> Self {
        RegistriesConf {
            unqualified_search_registries: default_search(),
            registry: Vec::new(),
            aliases: Default::default(),
            search_origin: None,
        }
    }
}

/// Where to fetch one reference from: a registry host, the repository
/// there, and whether TLS may be skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The reference rewritten to this endpoint.
    pub reference: Reference,
    /// Plain HTTP / unverified TLS allowed.
    pub insecure: bool,
    /// A mirror (failures fall through to the next endpoint).
    pub mirror: bool,
}

/// One file as written: a key left out must not override an earlier file.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct RawConf {
    unqualified_search_registries: Option<Vec<String>>,
    #[serde(default)]
    registry: Vec<RegistryEntry>,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    /// The version 1 format's table; only detected, to say it is ignored.
    registries: Option<toml::Value>,
}

impl RawConf {
    fn parse(text: &str, path: &Path) -> Result<RawConf> {
        let mut raw: RawConf = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        for r in &mut raw.registry {
            if r.prefix.is_empty() {
                r.prefix = r.location.clone();
            }
            if r.prefix.is_empty() {
                return Err(Error::Config {
                    path: path.to_path_buf(),
                    reason: "[[registry]] needs a prefix or a location".into(),
                });
            }
        }
        if raw.registries.is_some() {
            tracing::warn!(
                file = %path.display(),
                "registries.conf version 1 tables ([registries.search], ...) are not supported; \
                 berth ignores them (use unqualified-search-registries and [[registry]])"
            );
        }
        Ok(raw)
    }
}

impl RegistriesConf {
    /// Parse TOML text; `path` is named in errors.
    pub fn parse(text: &str, path: &Path) -> Result<RegistriesConf> {
        let mut conf = RegistriesConf::default();
        conf.merge(RawConf::parse(text, path)?, path);
        Ok(conf)
    }

    /// Lay `raw` (read from `path`) over `self`, as a later file
    /// overrides an earlier one.
    fn merge(&mut self, raw: RawConf, path: &Path) {
        if let Some(search) = raw.unqualified_search_registries {
            self.unqualified_search_registries = search;
            self.search_origin = Some(path.to_path_buf());
        }
        for entry in raw.registry {
            match self.registry.iter_mut().find(|r| r.prefix == entry.prefix) {
                Some(existing) => *existing = entry,
                None => self.registry.push(entry),
            }
        }
        self.aliases.extend(raw.aliases);
    }

    /// Read and merge `files` in order. With `must_exist`, a missing file
    /// is an error; otherwise it is skipped.
    pub fn load_files(files: &[PathBuf], must_exist: bool) -> Result<RegistriesConf> {
        let mut conf = RegistriesConf::default();
        for path in files {
            match config_paths::read_optional(path)? {
                Some(text) => conf.merge(RawConf::parse(&text, path)?, path),
                None if must_exist => {
                    return Err(Error::Config {
                        path: path.clone(),
                        reason: "no such file".into(),
                    })
                }
                None => {}
            }
        }
        Ok(conf)
    }

    /// The files read when none is given, in the order they are merged
    /// (some may not exist). See the module documentation.
    pub fn default_files() -> Result<Vec<PathBuf>> {
        let user_file = config_paths::home_config("containers/registries.conf");
        let user_dir = config_paths::home_config("containers/registries.conf.d");
        let mut files = Vec::new();
        let mut system_drop_ins = true;
        if let Some(p) = config_paths::env_path("CONTAINERS_REGISTRIES_CONF") {
            files.push(p);
        } else if let Some(p) = user_file.filter(|p| p.is_file()) {
            // containers/image: the user's file stands for the system's,
            // drop-ins included.
            files.push(p);
            system_drop_ins = false;
        } else {
            files.push(config_paths::system(CONTAINERS_REGISTRIES_CONF));
        }
        if system_drop_ins {
            files.extend(config_paths::drop_ins(&config_paths::system(
                CONTAINERS_REGISTRIES_CONF_D,
            ))?);
        }
        if let Some(dir) = user_dir {
            files.extend(config_paths::drop_ins(&dir)?);
        }
        files.push(config_paths::system(BERTH_REGISTRIES_CONF));
        Ok(files)
    }

    /// Load `explicit` alone if given (it must exist), else merge the
    /// [`default_files`](Self::default_files) that exist; with none, the
    /// defaults (search docker.io).
    pub fn load(explicit: Option<&Path>) -> Result<RegistriesConf> {
        match explicit {
            Some(p) => RegistriesConf::load_files(&[p.to_path_buf()], true),
            None => RegistriesConf::load_files(&RegistriesConf::default_files()?, false),
        }
    }

    /// The `[[registry]]` entry with the longest prefix matching `name`
    /// (`registry/repository`).
    pub fn entry_for(&self, name: &str) -> Option<&RegistryEntry> {
        self.registry
            .iter()
            .filter(|r| prefix_matches(&r.prefix, name))
            .max_by_key(|r| r.prefix.len())
    }

    /// Whether `host` is marked insecure (by an entry for the host itself).
    pub fn is_insecure(&self, host: &str) -> bool {
        self.entry_for(host).is_some_and(|e| e.insecure)
    }

    /// podman's line for a name resolved through the search registries
    /// (`Resolving "NAME" using unqualified-search registries (FILE)`);
    /// None for a qualified name, an alias or an unparsable one.
    pub fn resolving_line(&self, text: &str) -> Option<String> {
        let parsed = ParsedName::parse(text).ok()?;
        if parsed.qualified().is_some()
            || self.aliases.contains_key(&parsed.repository)
            || self.unqualified_search_registries.is_empty()
        {
            return None;
        }
        // berth's built-in docker.io default has no file to name, and podman
        // (which has no default) prints nothing like it.
        let origin = self.search_origin.as_ref()?.display().to_string();
        Some(format!(
            "Resolving \"{text}\" using unqualified-search registries ({origin})"
        ))
    }

    /// Turn what the user typed into fully qualified candidates, in the
    /// order to try: aliases first, then each search registry. Pulling
    /// tries them in order; more than one is reported when none works.
    pub fn candidates(&self, text: &str) -> Result<Vec<Reference>> {
        let parsed = ParsedName::parse(text)?;
        if let Some(r) = parsed.qualified() {
            return Ok(vec![r]);
        }
        if let Some(target) = self.aliases.get(&parsed.repository) {
            let base = Reference::parse_qualified(target)?;
            return Ok(vec![Reference::new(
                &base.registry,
                &base.repository,
                parsed.tag.clone().or(base.tag),
                parsed.digest.clone().or(base.digest),
            )]);
        }
        if self.unqualified_search_registries.is_empty() {
            return Err(Error::ShortName {
                name: text.to_string(),
                reason:
                    "cannot be resolved: registries.conf lists no unqualified-search-registries"
                        .into(),
            });
        }
        Ok(self
            .unqualified_search_registries
            .iter()
            .map(|r| parsed.with_registry(r))
            .collect())
    }

    /// The endpoints to pull `reference` from: its mirrors, then its
    /// (possibly rewritten) location. Blocked registries are an error.
    pub fn endpoints(&self, reference: &Reference) -> Result<Vec<Endpoint>> {
        let name = reference.name();
        let Some(entry) = self.entry_for(&name) else {
            return Ok(vec![Endpoint {
                reference: reference.clone(),
                insecure: false,
                mirror: false,
            }]);
        };
        if entry.blocked {
            return Err(Error::Blocked(reference.to_string()));
        }
        let mut out = Vec::new();
        // Mirrors are only for pulls by digest or tag alike here; a
        // `pull-from-mirror` setting is not supported.
        for m in &entry.mirror {
            if let Some(r) = rewrite(reference, &entry.prefix, &m.location) {
                out.push(Endpoint {
                    reference: r,
                    insecure: m.insecure,
                    mirror: true,
                });
            }
        }
        let location = if entry.location.is_empty() {
            &entry.prefix
        } else {
            &entry.location
        };
        let main = rewrite(reference, &entry.prefix, location).unwrap_or_else(|| reference.clone());
        out.push(Endpoint {
            reference: main,
            insecure: entry.insecure,
            mirror: false,
        });
        Ok(out)
    }
}

fn prefix_matches(prefix: &str, name: &str) -> bool {
    if let Some(domain) = prefix.strip_prefix("*.") {
        let host = name.split('/').next().unwrap_or("");
        return host.ends_with(&format!(".{domain}"));
    }
    name == prefix
        || (name.starts_with(prefix)
            && matches!(name.as_bytes().get(prefix.len()), Some(b'/' | b':' | b'@')))
}

/// Replace `prefix` of the reference's name by `location`.
fn rewrite(reference: &Reference, prefix: &str, location: &str) -> Option<Reference> {
    let name = reference.name();
    let rest = if prefix.starts_with("*.") {
        // A wildcard prefix keeps the whole name; only a location without
        // a wildcard would be meaningless here.
        return Some(reference.clone());
    } else {
        name.strip_prefix(prefix)?
    };
    let full = format!("{location}{rest}");
    let (registry, repository) = full.split_once('/')?;
    Some(Reference::new(
        registry,
        repository,
        reference.tag.clone(),
        reference.digest.clone(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolving_line_names_the_file_that_set_the_search_list() {
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("registries.conf");
        std::fs::write(&main, "unqualified-search-registries = [\"a.example\"]\n").unwrap();
        let drop = d.path().join("10-aliases.conf");
        std::fs::write(&drop, "[aliases]\n\"app\" = \"b.example/app\"\n").unwrap();
        let conf = RegistriesConf::load_files(&[main.clone(), drop], true).unwrap();
        assert_eq!(
            conf.resolving_line("box:1").unwrap(),
            format!(
                "Resolving \"box:1\" using unqualified-search registries ({})",
                main.display()
            )
        );
        assert_eq!(conf.resolving_line("a.example/box:1"), None);
        assert_eq!(conf.resolving_line("app"), None);
    }

    const CONF: &str = r#"
unqualified-search-registries = ["registry.example", "docker.io"]

[[registry]]
prefix = "docker.io"
location = "hub.internal:5000"
[[registry.mirror]]
location = "mirror.internal/hub"
insecure = true

[[registry]]
prefix = "registry.k8s.io/pause"
location = "airgap.local/k8s/pause"

[[registry]]
location = "plain.local:5000"
insecure = true

[[registry]]
prefix = "evil.example"
blocked = true

[aliases]
"fedora" = "registry.fedoraproject.org/fedora"
"#;

    fn conf() -> RegistriesConf {
        RegistriesConf::parse(CONF, Path::new("test.conf")).unwrap()
    }

    #[test]
    fn short_names_use_search_registries_then_aliases() {
        let c = conf();
        let cands: Vec<String> = c
            .candidates("busybox")
            .unwrap()
            .iter()
            .map(|r| r.to_string())
            .collect();
        assert_eq!(
            cands,
            [
                "registry.example/busybox:latest",
                "docker.io/library/busybox:latest"
            ]
        );
        assert_eq!(
            c.candidates("fedora:40").unwrap()[0].to_string(),
            "registry.fedoraproject.org/fedora:40"
        );
    }

    #[test]
    fn prefix_rewrites_and_mirrors() {
        let c = conf();
        let r = Reference::parse_qualified("docker.io/library/busybox:1").unwrap();
        let eps = c.endpoints(&r).unwrap();
        assert_eq!(eps.len(), 2);
        assert_eq!(
            eps[0].reference.to_string(),
            "mirror.internal/hub/library/busybox:1"
        );
        assert!(eps[0].insecure && eps[0].mirror);
        assert_eq!(
            eps[1].reference.to_string(),
            "hub.internal:5000/library/busybox:1"
        );
        let r = Reference::parse_qualified("registry.k8s.io/pause:3.9").unwrap();
        assert_eq!(
            c.endpoints(&r).unwrap()[0].reference.to_string(),
            "airgap.local/k8s/pause:3.9"
        );
        // A prefix matches only at a path boundary.
        let r = Reference::parse_qualified("registry.k8s.io/pausex:1").unwrap();
        assert_eq!(c.endpoints(&r).unwrap()[0].reference, r);
    }

    #[test]
    fn insecure_and_blocked() {
        let c = conf();
        assert!(c.is_insecure("plain.local:5000"));
        assert!(!c.is_insecure("docker.io"));
        let r = Reference::parse_qualified("evil.example/x:1").unwrap();
        assert!(matches!(c.endpoints(&r), Err(Error::Blocked(_))));
    }

    #[test]
    fn bad_toml_names_the_file() {
        let e = RegistriesConf::parse("[[registry]\n", Path::new("/x/r.conf")).unwrap_err();
        assert!(e.to_string().contains("/x/r.conf"), "{e}");
    }

    #[test]
    fn later_files_override_key_by_key() {
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("registries.conf");
        let drop = d.path().join("10-mirror.conf");
        let berth = d.path().join("berth.conf");
        std::fs::write(&main, CONF).unwrap();
        // Sets no search list: the main file's stays.
        std::fs::write(
            &drop,
            "[[registry]]\nprefix = \"docker.io\"\nlocation = \"dropin.local\"\n\
             [aliases]\n\"fedora\" = \"quay.io/fedora/fedora\"\n\"alpine\" = \"docker.io/library/alpine\"\n",
        )
        .unwrap();
        std::fs::write(
            &berth,
            "unqualified-search-registries = [\"berth.local\"]\n",
        )
        .unwrap();
        let missing = d.path().join("missing.conf");
        let c = RegistriesConf::load_files(&[main.clone(), drop.clone()], false).unwrap();
        assert_eq!(
            c.unqualified_search_registries,
            ["registry.example", "docker.io"]
        );
        // The same prefix replaced, not duplicated; others kept.
        assert_eq!(
            c.registry
                .iter()
                .filter(|r| r.prefix == "docker.io")
                .count(),
            1
        );
        assert_eq!(c.entry_for("docker.io/x").unwrap().location, "dropin.local");
        assert!(c.entry_for("docker.io/x").unwrap().mirror.is_empty());
        assert!(c.is_insecure("plain.local:5000"));
        assert_eq!(c.aliases["fedora"], "quay.io/fedora/fedora");
        assert_eq!(c.aliases["alpine"], "docker.io/library/alpine");
        let c = RegistriesConf::load_files(&[main.clone(), missing.clone(), berth], false).unwrap();
        assert_eq!(c.unqualified_search_registries, ["berth.local"]);
        // An explicit file must exist.
        let e = RegistriesConf::load_files(&[missing], true).unwrap_err();
        assert!(e.to_string().contains("missing.conf"), "{e}");
    }

    #[test]
    fn a_bad_drop_in_names_itself() {
        let d = tempfile::tempdir().unwrap();
        let main = d.path().join("registries.conf");
        let drop = d.path().join("50-bad.conf");
        std::fs::write(&main, CONF).unwrap();
        std::fs::write(&drop, "[[registry]]\ninsecure = true\n").unwrap();
        let e = RegistriesConf::load_files(&[main, drop], false).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("50-bad.conf") && msg.contains("prefix"),
            "{msg}"
        );
    }
}
