//! npm: `node_modules/**/package.json` and `package-lock.json` /
//! `npm-shrinkwrap.json` (lockfileVersion 1, 2 and 3).

use serde_json::{Map, Value};

use super::{package, warning};
use crate::model::{Ecosystem, Package, ScanWarning};

/// The package one installed `package.json` describes.
pub(crate) fn read_package_json(path: &str, data: &[u8]) -> Result<Package, ScanWarning> {
    let doc = parse_object(path, data)?;
    let name =
        str_field(&doc, "name").ok_or_else(|| warning(path, None, "package.json has no name"))?;
    let version = str_field(&doc, "version")
        .ok_or_else(|| warning(path, None, "package.json has no version"))?;
    let mut pkg = package(Ecosystem::Npm, name, version, path);
    pkg.licenses = licenses(&doc);
    Ok(pkg)
}

/// The packages a lockfile pins. v2/v3 list them under `packages` keyed by
/// install path; v1 nests them under `dependencies`.
pub(crate) fn read_package_lock(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    let doc = parse_object(path, data)?;
    let mut out = Vec::new();
    if let Some(packages) = doc.get("packages") {
        let packages = packages
            .as_object()
            .ok_or_else(|| warning(path, None, "lockfile: `packages` is not an object"))?;
        for (key, entry) in packages {
            // "" is the project itself; links point at a workspace folder
            // whose own entry is listed apart.
            let Some(entry) = entry.as_object() else {
                return Err(warning(
                    path,
                    None,
                    format!("lockfile: entry {key:?} is not an object"),
                ));
            };
            if key.is_empty() || entry.get("link").and_then(Value::as_bool) == Some(true) {
                continue;
            }
            let name = match str_field(entry, "name") {
                Some(n) => n,
                None => match key.rsplit_once("node_modules/") {
                    Some((_, n)) => n,
                    // A workspace package outside node_modules without a name.
                    None => continue,
                },
            };
            let Some(version) = str_field(entry, "version") else {
                return Err(warning(
                    path,
                    None,
                    format!("lockfile: entry {key:?} has no version"),
                ));
            };
            let mut pkg = package(Ecosystem::Npm, name, version, path);
            pkg.licenses = licenses(entry);
            out.push(pkg);
        }
    } else if let Some(deps) = doc.get("dependencies") {
        walk_v1(path, deps, 0, &mut out)?;
    }
    Ok(out)
}

/// Deeper than any real tree; stops a hostile lockfile from recursing forever.
const MAX_DEPTH: usize = 64;

fn walk_v1(
    path: &str,
    deps: &Value,
    depth: usize,
    out: &mut Vec<Package>,
) -> Result<(), ScanWarning> {
    if depth > MAX_DEPTH {
        return Err(warning(
            path,
            None,
            "lockfile: dependencies nested too deep",
        ));
    }
    let deps = deps
        .as_object()
        .ok_or_else(|| warning(path, None, "lockfile: `dependencies` is not an object"))?;
    for (name, entry) in deps {
        let Some(entry) = entry.as_object() else {
            return Err(warning(
                path,
                None,
                format!("lockfile: dependency {name:?} is not an object"),
            ));
        };
        let Some(version) = str_field(entry, "version") else {
            return Err(warning(
                path,
                None,
                format!("lockfile: dependency {name:?} has no version"),
            ));
        };
        // `file:` and git dependencies are not registry versions.
        if !version.contains(':') {
            out.push(package(Ecosystem::Npm, name, version, path));
        }
        if let Some(nested) = entry.get("dependencies") {
            walk_v1(path, nested, depth + 1, out)?;
        }
    }
    Ok(())
}

fn parse_object(path: &str, data: &[u8]) -> Result<Map<String, Value>, ScanWarning> {
    match serde_json::from_slice::<Value>(data) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(warning(path, None, "not a JSON object")),
        Err(e) => Err(warning(path, Some(e.line()), format!("bad JSON: {e}"))),
    }
}

fn str_field<'a>(doc: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    doc.get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `license` as a string (SPDX expression) or the legacy `{type}` object,
/// or the older `licenses: [{type}]` list.
fn licenses(doc: &Map<String, Value>) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Object(o) => o.get("type").and_then(Value::as_str).map(str::to_string),
        _ => None,
    };
    if let Some(l) = doc.get("license").and_then(one) {
        return vec![l];
    }
    match doc.get("licenses") {
        Some(Value::Array(list)) => list.iter().filter_map(one).collect(),
        _ => Vec::new(),
    }
}
