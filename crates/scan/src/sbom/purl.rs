//! Package URLs (github.com/package-url/purl-spec) for every ecosystem we
//! inventory: `pkg:TYPE/NAMESPACE/NAME@VERSION?QUALIFIERS`.

use crate::model::{Ecosystem, OsRelease, Package};

/// The purl of `pkg` in an image whose OS is `os`.
pub fn purl(pkg: &Package, os: Option<&OsRelease>) -> String {
    let distro = os.map(|o| match &o.version_id {
        Some(v) => format!("{}-{v}", o.id),
        None => o.id.clone(),
    });
    let os_id = os.map(|o| o.id.as_str()).filter(|s| !s.is_empty());
    let mut qualifiers: Vec<(&str, String)> = Vec::new();
    let (kind, namespace, name) = match pkg.ecosystem {
        Ecosystem::Debian | Ecosystem::Alpine | Ecosystem::Rpm => {
            let (kind, default_ns) = match pkg.ecosystem {
                Ecosystem::Debian => ("deb", "debian"),
                Ecosystem::Alpine => ("apk", "alpine"),
                _ => ("rpm", "rpm"),
            };
            if let Some(arch) = &pkg.arch {
                qualifiers.push(("arch", arch.clone()));
            }
            if let Some(d) = distro {
                qualifiers.push(("distro", d));
            }
            if let Some(src) = &pkg.source {
                // purl-spec's deb type calls the source package `upstream`.
                let value = match &pkg.source_version {
                    Some(v) => format!("{src}@{v}"),
                    None => src.clone(),
                };
                qualifiers.push(("upstream", value));
            }
            (
                kind,
                vec![os_id.unwrap_or(default_ns).to_string()],
                pkg.name.clone(),
            )
        }
        Ecosystem::PyPI => ("pypi", vec![], pypi_name(&pkg.name)),
        Ecosystem::Npm => match pkg.name.split_once('/') {
            Some((scope, name)) if scope.starts_with('@') => {
                ("npm", vec![scope.to_string()], name.to_string())
            }
            _ => ("npm", vec![], pkg.name.clone()),
        },
        Ecosystem::CratesIo => ("cargo", vec![], pkg.name.clone()),
        Ecosystem::Go => match pkg.name.rsplit_once('/') {
            Some((ns, name)) => (
                "golang",
                ns.split('/').map(str::to_string).collect(),
                name.to_string(),
            ),
            None => ("golang", vec![], pkg.name.clone()),
        },
        Ecosystem::Maven => match pkg.name.split_once(':') {
            Some((group, artifact)) => ("maven", vec![group.to_string()], artifact.to_string()),
            None => ("maven", vec![], pkg.name.clone()),
        },
    };
    let mut out = format!("pkg:{kind}/");
    for segment in &namespace {
        out.push_str(&encode(segment));
        out.push('/');
    }
    out.push_str(&encode(&name));
    if !pkg.version.is_empty() {
        out.push('@');
        out.push_str(&encode(&pkg.version));
    }
    qualifiers.sort();
    for (i, (k, v)) in qualifiers.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

/// The purl of the image: `pkg:oci/NAME@sha256%3A…?repository_url=…`.
pub fn image_purl(reference: &str, digest: &str) -> String {
    // `registry/ns/name:tag` → name `name`, repository `registry/ns/name`.
    let without_digest = reference.split('@').next().unwrap_or(reference);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    let (name, tag) = match last.split_once(':') {
        Some((n, t)) => (n, Some(t)),
        None => (last, None),
    };
    let repository = match tag {
        Some(t) => &without_digest[..without_digest.len() - t.len() - 1],
        None => without_digest,
    };
    let mut out = format!(
        "pkg:oci/{}@{}",
        encode(&name.to_ascii_lowercase()),
        encode(digest)
    );
    let mut qualifiers = Vec::new();
    if repository.contains('/') {
        qualifiers.push(("repository_url", repository.to_string()));
    }
    if let Some(t) = tag {
        qualifiers.push(("tag", t.to_string()));
    }
    for (i, (k, v)) in qualifiers.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

/// PyPI names in purls are lower case with `_` as `-` (purl-spec, pypi type).
fn pypi_name(name: &str) -> String {
    name.to_ascii_lowercase().replace('_', "-")
}

/// Percent-encodes everything but the unreserved characters (RFC 3986),
/// so `@`, `:`, `+` and `/` inside a component cannot be misread.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
