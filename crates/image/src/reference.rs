//! Image references as the ecosystem parses them (docker/distribution's
//! grammar): `busybox`, `library/busybox:1.36`, `host:5000/team/app@sha256:…`.
//!
//! A name without a registry is a *short name*; it becomes a full
//! [`Reference`] only through the search registries of
//! [`RegistriesConf`](crate::RegistriesConf). `docker.io` names get the
//! `library/` namespace when they have one component, as docker does.

use crate::error::{Error, Result};
use berth_storage::Digest;
use std::fmt;

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";

/// A fully qualified image reference: registry, repository, and a tag
/// and/or digest. Displays as `registry/repository[:tag][@digest]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    /// Registry host, with port when given (`docker.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// Repository path (`library/busybox`).
    pub repository: String,
    /// Tag, if any.
    pub tag: Option<String>,
    /// Digest, if any.
    pub digest: Option<Digest>,
}

/// A parsed name that may lack its registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedName {
    /// The registry when the name has one (its first component has a `.`
    /// or `:` or is `localhost`).
    pub registry: Option<String>,
    /// The repository path as written (no `library/` added yet).
    pub repository: String,
    /// Tag, if any.
    pub tag: Option<String>,
    /// Digest, if any.
    pub digest: Option<Digest>,
}

impl ParsedName {
    /// Parse `text`. Fails on characters or shapes docker would refuse.
    pub fn parse(text: &str) -> Result<ParsedName> {
        let bad = |reason: &str| Error::InvalidReference {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(bad("empty"));
        }
        if text.len() > 4096 {
            return Err(bad("too long"));
        }
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) => (
                r,
                Some(
                    d.parse::<Digest>()
                        .map_err(|_| bad("digest must be sha256:<64 hex digits>"))?,
                ),
            ),
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
            None => (rest, None),
        };
        if let Some(t) = tag {
            if !valid_tag(t) {
                return Err(bad("tag must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                if !valid_host(first) {
                    return Err(bad("invalid registry host"));
                }
                (Some(first.to_string()), path)
            }
            _ => (None, name),
        };
        if repository.is_empty() {
            return Err(bad("empty repository"));
        }
        for comp in repository.split('/') {
            if !valid_component(comp) {
                return Err(bad(
                    "repository components must be lowercase letters, digits and separators . _ __ -",
                ));
            }
        }
        Ok(ParsedName {
            registry,
            repository: repository.to_string(),
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// Qualify with `registry` (used for short names and search registries).
    pub fn with_registry(&self, registry: &str) -> Reference {
        Reference::new(
            registry,
            &self.repository,
            self.tag.clone(),
            self.digest.clone(),
        )
    }

    /// The reference when the name is already fully qualified.
    pub fn qualified(&self) -> Option<Reference> {
        self.registry.as_deref().map(|r| self.with_registry(r))
    }
}

impl Reference {
    /// Build a reference, normalising Docker Hub's names (`index.docker.io`
    /// → `docker.io`, `busybox` → `library/busybox`) and defaulting the tag
    /// to `latest` when there is neither tag nor digest.
    pub fn new(
        registry: &str,
        repository: &str,
        tag: Option<String>,
        digest: Option<Digest>,
    ) -> Reference {
        let registry = match registry {
            "index.docker.io" | "registry-1.docker.io" => DOCKER_HUB,
            r => r,
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository.to_string()
        };
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
        }
    }

    /// Parse a fully qualified reference; short names are an error.
    pub fn parse_qualified(text: &str) -> Result<Reference> {
        let parsed = ParsedName::parse(text)?;
        parsed.qualified().ok_or_else(|| Error::ShortName {
            name: text.to_string(),
            reason: "needs a registry here (e.g. docker.io/library/busybox)".into(),
        })
    }

    /// `registry/repository`, without tag or digest.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// `registry/repository:tag` when there is a tag.
    pub fn tagged_name(&self) -> Option<String> {
        self.tag.as_ref().map(|t| format!("{}:{t}", self.name()))
    }

    /// What to ask the registry's manifests endpoint for: the digest when
    /// given (it pins the content), else the tag.
    pub fn manifest_ref(&self) -> String {
        match (&self.digest, &self.tag) {
            (Some(d), _) => d.to_string(),
            (None, Some(t)) => t.clone(),
            (None, None) => "latest".to_string(),
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

fn valid_tag(t: &str) -> bool {
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

fn valid_host(h: &str) -> bool {
    let (host, port) = match h.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || h.starts_with('[') => (host, Some(port)),
        _ => (h, None),
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    !host.is_empty()
        && host
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'[' | b']' | b':'))
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !is_alnum(b[0]) || !is_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !is_alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|s| s == b'-');
        if !ok {
            return false;
        }
    }
    true
}

fn is_alnum(c: u8) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_name_has_no_registry() {
        let p = ParsedName::parse("busybox").unwrap();
        assert_eq!(p.registry, None);
        assert_eq!(
            p.with_registry("docker.io").to_string(),
            "docker.io/library/busybox:latest"
        );
    }

    #[test]
    fn host_port_tag_and_digest() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = Reference::parse_qualified(&format!("127.0.0.1:5000/team/app:v1@{d}")).unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "team/app");
        assert_eq!(r.tag.as_deref(), Some("v1"));
        assert_eq!(r.digest.as_ref().unwrap().as_str(), d);
        assert_eq!(r.manifest_ref(), d);
        let r = Reference::parse_qualified(&format!("localhost/app@{d}")).unwrap();
        assert_eq!(r.tag, None);
    }

    #[test]
    fn docker_hub_names_are_normalised() {
        let r = Reference::parse_qualified("index.docker.io/busybox").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/busybox:latest");
        let r = Reference::parse_qualified("docker.io/bitnami/redis:7").unwrap();
        assert_eq!(r.to_string(), "docker.io/bitnami/redis:7");
    }

    #[test]
    fn bad_references_are_refused() {
        for bad in [
            "",
            "Busybox",
            "busybox:",
            "busybox@sha256:abc",
            "a//b",
            "host:port/x",
            "x:-tag",
            "-a",
        ] {
            assert!(ParsedName::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Reference::parse_qualified("busybox").is_err());
    }
}
