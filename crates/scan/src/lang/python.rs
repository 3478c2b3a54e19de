//! Python distributions: `*.dist-info/METADATA` and `*.egg-info/PKG-INFO`,
//! both in the core-metadata format (RFC 822 headers, then a body).

use super::{package, warning};
use crate::model::{Ecosystem, Package, ScanWarning};

/// The distribution one METADATA / PKG-INFO file describes.
pub(crate) fn read_metadata(path: &str, data: &[u8]) -> Result<Package, ScanWarning> {
    let text = std::str::from_utf8(data).map_err(|e| {
        let line = data[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        warning(path, Some(line), "metadata is not UTF-8")
    })?;
    let headers = parse_headers(path, text)?;
    let get = |key: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    };
    let name = get("Name").ok_or_else(|| warning(path, None, "metadata has no Name header"))?;
    let version =
        get("Version").ok_or_else(|| warning(path, None, "metadata has no Version header"))?;
    let mut pkg = package(Ecosystem::PyPI, name, version, path);
    pkg.licenses = licenses(&headers);
    Ok(pkg)
}

/// Header lines up to the first blank line; a line starting with white
/// space continues the header before it.
fn parse_headers(path: &str, text: &str) -> Result<Vec<(String, String)>, ScanWarning> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            match headers.last_mut() {
                Some((_, value)) => {
                    value.push('\n');
                    value.push_str(line.trim());
                }
                None => {
                    return Err(warning(
                        path,
                        Some(i + 1),
                        "continuation line before any header",
                    ))
                }
            }
            continue;
        }
        match line.split_once(':') {
            Some((key, value)) if !key.is_empty() && !key.contains(' ') => {
                headers.push((key.to_string(), value.trim().to_string()))
            }
            _ => {
                return Err(warning(
                    path,
                    Some(i + 1),
                    format!("not a header line: {line:?}"),
                ))
            }
        }
    }
    Ok(headers)
}

/// License-Expression (PEP 639) wins; then a short License header; then
/// the trove classifiers. A License header holding the whole licence text
/// names nothing and is skipped.
fn licenses(headers: &[(String, String)]) -> Vec<String> {
    fn find<'h>(headers: &'h [(String, String)], key: &'h str) -> impl Iterator<Item = &'h str> {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    }
    if let Some(expr) = find(headers, "License-Expression").find(|v| !v.is_empty()) {
        return vec![expr.to_string()];
    }
    if let Some(l) = find(headers, "License").find(|v| {
        !v.is_empty() && !v.contains('\n') && v.len() <= 80 && !v.eq_ignore_ascii_case("UNKNOWN")
    }) {
        return vec![l.to_string()];
    }
    find(headers, "Classifier")
        .filter_map(|c| c.strip_prefix("License ::"))
        .filter_map(|c| c.rsplit("::").next())
        .map(|c| classifier_license(c.trim()))
        .collect()
}

/// The SPDX id of the trove licence classifiers that name one licence
/// version; the others ("BSD License", "Apache Software License") stay as named.
fn classifier_license(name: &str) -> String {
    let id = match name {
        "MIT License" => "MIT",
        "ISC License (ISCL)" => "ISC",
        "Mozilla Public License 2.0 (MPL 2.0)" => "MPL-2.0",
        "Python Software Foundation License" => "PSF-2.0",
        "GNU General Public License v2 (GPLv2)" => "GPL-2.0-only",
        "GNU General Public License v3 (GPLv3)" => "GPL-3.0-only",
        "GNU Lesser General Public License v3 (LGPLv3)" => "LGPL-3.0-only",
        "The Unlicense (Unlicense)" => "Unlicense",
        other => other,
    };
    id.to_string()
}
