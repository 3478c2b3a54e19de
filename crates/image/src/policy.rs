//! The signature policy, `policy.json` (containers-policy.json(5)): which
//! images may be pulled or copied from where. Checked on the source of
//! every pull and copy (see [`crate::pull`] and [`crate::copy`]) before
//! anything is fetched from it or written anywhere, so every tool built on
//! this crate gets the same answer.
//!
//! The policy has a `default` list of requirements and, per transport
//! (`docker`, `oci`, `dir`, ...), lists for scopes. The most specific scope
//! that matches the image wins: for `docker`, the reference itself
//! (`host/ns/repo:tag` or `@digest`), then the repository, its parent
//! namespaces and the host, then `*.domain` wildcards of the host, then the
//! transport's `""` scope, then `default`. Every requirement of the list
//! must accept the image.
//!
//! berth enforces `insecureAcceptAnything` and `reject`. It cannot verify
//! signatures yet, so an image whose requirements include `signedBy`,
//! `sigstoreSigned` or `signedBaseLayer` is refused with an error saying
//! so — never accepted unverified.

use crate::config_paths;
use crate::error::{Error, Result};
use crate::reference::Reference;
use crate::transport::ImageRef;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The system-wide policy file podman, skopeo and buildah read.
pub const CONTAINERS_POLICY: &str = "/etc/containers/policy.json";

/// One requirement of a scope's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `insecureAcceptAnything`: no check.
    InsecureAcceptAnything,
    /// `reject`: never.
    Reject,
    /// A requirement on signatures (`signedBy`, `sigstoreSigned`,
    /// `signedBaseLayer`), named by its type; berth cannot check these.
    Signature(String),
}

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The file it was read from; `None` for the built-in policy used when
    /// no file exists.
    pub source: Option<PathBuf>,
    default: Vec<Requirement>,
    transports: BTreeMap<String, BTreeMap<String, Vec<Requirement>>>,
}

impl Default for Policy {
    /// Accept anything: what berth does when no policy.json exists.
    fn default() -> Self {
        Policy {
            source: None,
            default: vec![Requirement::InsecureAcceptAnything],
            transports: BTreeMap::new(),
        }
    }
}

/// How an image presents itself to the policy: its transport's name, its
/// most specific scope, and the less specific ones in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyImage {
    /// The transport's name as policy.json spells it.
    pub transport: &'static str,
    /// The most specific scope (`host/repo:tag`, an absolute path, or `""`
    /// where the transport has only its default).
    pub identity: String,
    /// Less specific scopes, most specific first.
    pub namespaces: Vec<String>,
    /// The image as messages name it.
    pub display: String,
}

impl PolicyImage {
    /// A registry image (`docker://`).
    pub fn docker(r: &Reference) -> PolicyImage {
        let name = r.name();
        let identity = match (&r.digest, &r.tag) {
            (Some(d), _) => format!("{name}@{d}"),
            (None, Some(t)) => format!("{name}:{t}"),
            (None, None) => name.clone(),
        };
        let mut namespaces = Vec::new();
        let mut n = name.as_str();
        loop {
            namespaces.push(n.to_string());
            match n.rfind('/') {
                Some(i) => n = &n[..i],
                None => break,
            }
        }
        // `*.example.com`, `*.com` for host `reg.example.com[:port]`.
        let mut host = n.split(':').next().unwrap_or(n);
        while let Some(i) = host.find('.') {
            host = &host[i + 1..];
            namespaces.push(format!("*.{host}"));
        }
        PolicyImage {
            transport: "docker",
            identity,
            namespaces,
            display: format!("docker://{r}"),
        }
    }

    /// Any other transport's image; `None` for `docker://`, whose short
    /// names are resolved first and checked one candidate at a time with
    /// [`PolicyImage::docker`].
    pub fn for_ref(r: &ImageRef) -> Option<PolicyImage> {
        let by_path = |transport: &'static str, path: &Path, display: String| {
            let resolved = resolve_path(path);
            let mut namespaces = Vec::new();
            let mut p = resolved.as_path();
            // Parent directories, not `/` itself (containers/image leaves
            // that to the transport's `""` scope).
            while let Some(parent) = p.parent().filter(|q| q != &Path::new("/")) {
                namespaces.push(parent.display().to_string());
                p = parent;
            }
            PolicyImage {
                transport,
                identity: resolved.display().to_string(),
                namespaces,
                display,
            }
        };
        // Transports containers/image gives no scopes but `""`.
        let unscoped = |transport: &'static str, display: String| PolicyImage {
            transport,
            identity: String::new(),
            namespaces: Vec::new(),
            display,
        };
        Some(match r {
            ImageRef::Docker(_) => return None,
            ImageRef::Oci { path, reference } => by_path(
                "oci",
                path,
                format!(
                    "oci:{}{}",
                    path.display(),
                    reference
                        .as_deref()
                        .map(|r| format!(":{r}"))
                        .unwrap_or_default()
                ),
            ),
            ImageRef::OciArchive { path, .. } => by_path(
                "oci-archive",
                path,
                format!("oci-archive:{}", path.display()),
            ),
            ImageRef::Dir(path) => by_path("dir", path, format!("dir:{}", path.display())),
            ImageRef::DockerArchive { path, .. } => unscoped(
                "docker-archive",
                format!("docker-archive:{}", path.display()),
            ),
            // berth's storage answers to containers-storage's name, the
            // name users' policies already have.
            ImageRef::Storage(name) => unscoped("containers-storage", format!("berth:{name}")),
        })
    }
}

/// `path` absolute with symlinks resolved as far as it exists, as
/// containers/image resolves paths before matching scopes.
fn resolve_path(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    match (abs.parent(), abs.file_name()) {
        (Some(parent), Some(name)) => std::fs::canonicalize(parent)
            .map(|p| p.join(name))
            .unwrap_or(abs),
        _ => abs,
    }
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Config {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn parse_requirement(v: &Value, path: &Path, at: &str) -> Result<Requirement> {
    let obj = v
        .as_object()
        .ok_or_else(|| bad(path, format!("{at}: a requirement must be an object")))?;
    let kind = obj
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(path, format!("{at}: a requirement needs a \"type\" string")))?;
    let only_type = |r: Requirement| match obj.keys().find(|k| *k != "type") {
        Some(k) => Err(bad(
            path,
            format!("{at}: unknown key {k:?} in a {kind:?} requirement"),
        )),
        None => Ok(r),
    };
    match kind {
        "insecureAcceptAnything" => only_type(Requirement::InsecureAcceptAnything),
        "reject" => only_type(Requirement::Reject),
        "signedBy" | "sigstoreSigned" | "signedBaseLayer" => {
            Ok(Requirement::Signature(kind.to_string()))
        }
        other => Err(bad(
            path,
            format!("{at}: unknown requirement type {other:?}"),
        )),
    }
}

fn parse_list(v: &Value, path: &Path, at: &str) -> Result<Vec<Requirement>> {
    let list = v
        .as_array()
        .ok_or_else(|| bad(path, format!("{at}: expected a list of requirements")))?;
    if list.is_empty() {
        // containers/image refuses an empty list: it would accept
        // anything by accident.
        return Err(bad(
            path,
            format!("{at}: the list of requirements is empty"),
        ));
    }
    list.iter()
        .map(|r| parse_requirement(r, path, at))
        .collect()
}

fn check_scope(transport: &str, scope: &str, path: &Path) -> Result<()> {
    let wrong = |why: &str| {
        Err(bad(
            path,
            format!("transports.{transport}: scope {scope:?} {why}"),
        ))
    };
    if scope.is_empty() {
        return Ok(());
    }
    match transport {
        "docker" if scope.contains("://") => {
            wrong("must be a reference without a transport (host/repo[:tag])")
        }
        "oci" | "oci-archive" | "dir" if !scope.starts_with('/') => {
            wrong("must be an absolute path")
        }
        _ => Ok(()),
    }
}

impl Policy {
    /// Parse policy.json text; `path` is named in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Policy> {
        let v: Value = serde_json::from_str(text).map_err(|e| bad(path, e.to_string()))?;
        let Value::Object(top) = v else {
            return Err(bad(path, "not a JSON object"));
        };
        if let Some(k) = top.keys().find(|k| *k != "default" && *k != "transports") {
            return Err(bad(path, format!("unknown key {k:?}")));
        }
        let default = match top.get("default") {
            Some(d) => parse_list(d, path, "default")?,
            None => return Err(bad(path, "no \"default\" requirements")),
        };
        let mut transports = BTreeMap::new();
        let empty = Map::new();
        let by_transport = match top.get("transports") {
            None => &empty,
            Some(Value::Object(m)) => m,
            Some(_) => return Err(bad(path, "\"transports\" must be an object")),
        };
        for (transport, scopes) in by_transport {
            let Value::Object(scopes) = scopes else {
                return Err(bad(
                    path,
                    format!("transports.{transport} must be an object of scopes"),
                ));
            };
            let mut parsed = BTreeMap::new();
            for (scope, list) in scopes {
                check_scope(transport, scope, path)?;
                let at = format!("transports.{transport}.{scope:?}");
                parsed.insert(scope.clone(), parse_list(list, path, &at)?);
            }
            transports.insert(transport.clone(), parsed);
        }
        Ok(Policy {
            source: Some(path.to_path_buf()),
            default,
            transports,
        })
    }

    /// The files looked for, first found wins: the user's
    /// `$HOME/.config/containers/policy.json`, then
    /// `/etc/containers/policy.json`.
    pub fn default_files() -> Vec<PathBuf> {
        let mut files = Vec::new();
        if let Some(p) = config_paths::home_config("containers/policy.json") {
            files.push(p);
        }
        files.push(config_paths::system(CONTAINERS_POLICY));
        files
    }

    /// Read `explicit` (it must exist), else the first of
    /// [`default_files`](Self::default_files) that exists, else the
    /// built-in policy that accepts anything.
    pub fn load(explicit: Option<&Path>) -> Result<Policy> {
        if let Some(p) = explicit {
            return match config_paths::read_optional(p)? {
                Some(text) => Policy::parse(&text, p),
                None => Err(bad(p, "no such file")),
            };
        }
        for p in Policy::default_files() {
            if let Some(text) = config_paths::read_optional(&p)? {
                return Policy::parse(&text, &p);
            }
        }
        tracing::debug!("no policy.json found; accepting any image");
        Ok(Policy::default())
    }

    /// The requirements for `image` and which scope they come from.
    pub fn requirements_for(&self, image: &PolicyImage) -> (&[Requirement], String) {
        if let Some(scopes) = self.transports.get(image.transport) {
            let specific = std::iter::once(&image.identity)
                .filter(|i| !i.is_empty())
                .chain(&image.namespaces);
            for scope in specific {
                if let Some(reqs) = scopes.get(scope) {
                    return (
                        reqs,
                        format!("scope {scope:?} of transport {:?}", image.transport),
                    );
                }
            }
            if let Some(reqs) = scopes.get("") {
                return (
                    reqs,
                    format!("the default (\"\") of transport {:?}", image.transport),
                );
            }
        }
        (&self.default, "the policy's \"default\"".to_string())
    }

    /// Whether `image` may be used as a source: every requirement of its
    /// scope must accept it.
    pub fn check(&self, image: &PolicyImage) -> Result<()> {
        let (reqs, scope) = self.requirements_for(image);
        let policy = match &self.source {
            Some(p) => p.display().to_string(),
            None => "the built-in policy".to_string(),
        };
        if reqs.contains(&Requirement::Reject) {
            return Err(Error::PolicyRejected {
                image: image.display.clone(),
                scope,
                policy,
            });
        }
        if let Some(Requirement::Signature(kind)) =
            reqs.iter().find(|r| matches!(r, Requirement::Signature(_)))
        {
            return Err(Error::SignatureUnverifiable {
                image: image.display.clone(),
                requirement: kind.clone(),
                scope,
                policy,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{
        "default": [{"type": "reject"}],
        "transports": {
            "docker": {
                "": [{"type": "reject"}],
                "reg.example:5000": [{"type": "insecureAcceptAnything"}],
                "reg.example:5000/secret": [{"type": "reject"}],
                "reg.example:5000/secret/ok:v1": [{"type": "insecureAcceptAnything"}],
                "*.trusted.example": [{"type": "insecureAcceptAnything"}],
                "quay.io/signed": [{"type": "signedBy", "keyType": "GPGKeys", "keyPath": "/k.gpg"}]
            },
            "oci": {"/srv/layouts": [{"type": "insecureAcceptAnything"}]},
            "docker-daemon": {"": [{"type": "insecureAcceptAnything"}]}
        }
    }"#;

    fn policy() -> Policy {
        Policy::parse(POLICY, Path::new("/p/policy.json")).unwrap()
    }

    fn docker(s: &str) -> PolicyImage {
        PolicyImage::docker(&Reference::parse_qualified(s).unwrap())
    }

    #[test]
    fn docker_scopes_most_specific_first() {
        let i = docker("reg.example.com:5000/ns/repo:v1");
        assert_eq!(i.identity, "reg.example.com:5000/ns/repo:v1");
        assert_eq!(
            i.namespaces,
            [
                "reg.example.com:5000/ns/repo",
                "reg.example.com:5000/ns",
                "reg.example.com:5000",
                "*.example.com",
                "*.com"
            ]
        );
    }

    #[test]
    fn the_most_specific_scope_wins() {
        let p = policy();
        assert!(p.check(&docker("reg.example:5000/a/b:1")).is_ok());
        assert!(matches!(
            p.check(&docker("reg.example:5000/secret/x:1")),
            Err(Error::PolicyRejected { .. })
        ));
        assert!(p.check(&docker("reg.example:5000/secret/ok:v1")).is_ok());
        assert!(p.check(&docker("mirror.trusted.example/x:1")).is_ok());
        let e = p.check(&docker("docker.io/library/busybox:1")).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains("docker://docker.io/library/busybox:1")
                && msg.contains("/p/policy.json")
                && msg.contains("reject"),
            "{msg}"
        );
    }

    #[test]
    fn signatures_are_refused_not_accepted() {
        let e = policy().check(&docker("quay.io/signed:1")).unwrap_err();
        assert!(matches!(e, Error::SignatureUnverifiable { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("signedBy") && msg.contains("cannot verify"),
            "{msg}"
        );
    }

    #[test]
    fn path_transports_match_parent_directories() {
        let p = policy();
        let ok = ImageRef::Oci {
            path: "/srv/layouts/app".into(),
            reference: Some("v1".into()),
        };
        assert!(p.check(&PolicyImage::for_ref(&ok).unwrap()).is_ok());
        let other = ImageRef::Oci {
            path: "/srv/elsewhere".into(),
            reference: None,
        };
        assert!(p.check(&PolicyImage::for_ref(&other).unwrap()).is_err());
        // Transports without their own scopes fall to the default.
        let st = PolicyImage::for_ref(&ImageRef::Storage("x".into())).unwrap();
        assert!(p.check(&st).is_err());
        assert!(PolicyImage::for_ref(&ImageRef::Docker("x".into())).is_none());
    }

    #[test]
    fn no_file_accepts_anything() {
        assert!(Policy::default().check(&docker("docker.io/x/y:1")).is_ok());
    }

    #[test]
    fn malformed_policies_name_the_file() {
        for (text, want) in [
            ("{", "EOF"),
            ("[]", "not a JSON object"),
            (r#"{"transports": {}}"#, "default"),
            (r#"{"default": []}"#, "empty"),
            (r#"{"default": [{"type": "acceptAll"}]}"#, "acceptAll"),
            (r#"{"default": [{"type": "reject", "x": 1}]}"#, "\"x\""),
            (r#"{"default": [{"type": "reject"}], "extra": 1}"#, "extra"),
            (
                r#"{"default": [{"type": "reject"}], "transports": {"docker": {"docker://x": [{"type": "reject"}]}}}"#,
                "without a transport",
            ),
            (
                r#"{"default": [{"type": "reject"}], "transports": {"oci": {"rel/dir": [{"type": "reject"}]}}}"#,
                "absolute",
            ),
        ] {
            let e = Policy::parse(text, Path::new("/etc/x/policy.json")).unwrap_err();
            let msg = e.to_string();
            assert!(
                msg.contains("/etc/x/policy.json") && msg.contains(want),
                "{text}: {msg}"
            );
        }
    }

    #[test]
    fn an_explicit_file_must_exist() {
        let e = Policy::load(Some(Path::new("/nonexistent/policy.json"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/policy.json"), "{e}");
    }
}
