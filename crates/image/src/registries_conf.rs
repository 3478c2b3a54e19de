//! `registries.conf` (containers-registries.conf(5), version 2): search
//! registries for short names, and per-prefix rewrites, mirrors, insecure
//! and blocked flags.

use crate::error::{Error, Result};
use crate::reference::{ParsedName, Reference};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// berth's own registries.conf, read before the one shared with podman.
pub const BERTH_REGISTRIES_CONF: &str = "/etc/berth/registries.conf";
/// The file podman, skopeo and buildah read.
pub const CONTAINERS_REGISTRIES_CONF: &str = "/etc/containers/registries.conf";

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
    pub aliases: std::collections::BTreeMap<String, String>,
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

impl RegistriesConf {
    /// Parse TOML text; `path` is named in errors.
    pub fn parse(text: &str, path: &Path) -> Result<RegistriesConf> {
        let mut conf: RegistriesConf = toml::from_str(text).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        for r in &mut conf.registry {
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
        Ok(conf)
    }

    /// Load `explicit` if given, else the first of berth's and the shared
    /// path that exists, else the defaults (search docker.io).
    pub fn load(explicit: Option<&Path>) -> Result<RegistriesConf> {
        let candidates: Vec<PathBuf> = match explicit {
            Some(p) => vec![p.to_path_buf()],
            None => vec![
                BERTH_REGISTRIES_CONF.into(),
                CONTAINERS_REGISTRIES_CONF.into(),
            ],
        };
        for path in candidates {
            match std::fs::read_to_string(&path) {
                Ok(text) => return RegistriesConf::parse(&text, &path),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && explicit.is_none() => {}
                Err(source) => {
                    return Err(Error::Io {
                        op: "read",
                        path,
                        source,
                    })
                }
            }
        }
        Ok(RegistriesConf::default())
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
}
