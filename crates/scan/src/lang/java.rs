//! Java archives (`.jar`, `.war`, `.ear`): every
//! `META-INF/maven/GROUP/ARTIFACT/pom.properties`, in the archive and in the
//! archives it nests one level down (`WEB-INF/lib/*.jar`, `BOOT-INF/lib/*.jar`).

use std::io::{Cursor, Read};

use super::{package, warning};
use crate::model::{Ecosystem, Package, ScanWarning};

/// A nested archive is read into memory; larger ones are skipped with a
/// warning rather than let a hostile image exhaust memory.
const MAX_NESTED: u64 = 64 << 20;
const MAX_PROPERTIES: u64 = 64 << 10;

pub(crate) fn read_archive(path: &str, data: &[u8]) -> Result<Vec<Package>, ScanWarning> {
    let mut out = Vec::new();
    read_zip(path, data, true, &mut out)?;
    Ok(out)
}

fn read_zip(
    path: &str,
    data: &[u8],
    nest: bool,
    out: &mut Vec<Package>,
) -> Result<(), ScanWarning> {
    let mut archive = zip::ZipArchive::new(Cursor::new(data))
        .map_err(|e| warning(path, None, format!("not a readable zip archive: {e}")))?;
    for i in 0..archive.len() {
        let mut entry = archive
            .by_index(i)
            .map_err(|e| warning(path, None, format!("zip entry {i}: {e}")))?;
        let name = entry.name().to_string();
        if is_pom_properties(&name) {
            let mut text = String::new();
            (&mut entry)
                .take(MAX_PROPERTIES)
                .read_to_string(&mut text)
                .map_err(|e| warning(path, None, format!("{name}: {e}")))?;
            let location = format!("{path}!/{name}");
            out.push(pom_properties(&location, &text)?);
        } else if nest && is_archive(&name) {
            if entry.size() > MAX_NESTED {
                return Err(warning(
                    path,
                    None,
                    format!("{name}: nested archive over 64 MiB"),
                ));
            }
            let mut inner = Vec::new();
            (&mut entry)
                .take(MAX_NESTED)
                .read_to_end(&mut inner)
                .map_err(|e| warning(path, None, format!("{name}: {e}")))?;
            read_zip(&format!("{path}!/{name}"), &inner, false, out)?;
        }
    }
    Ok(())
}

fn is_pom_properties(name: &str) -> bool {
    let parts: Vec<&str> = name.split('/').collect();
    matches!(parts.as_slice(), ["META-INF", "maven", g, a, "pom.properties"] if !g.is_empty() && !a.is_empty())
}

fn is_archive(name: &str) -> bool {
    name.ends_with(".jar") || name.ends_with(".war")
}

/// `groupId`, `artifactId` and `version` of a Java properties file; the
/// package is named `GROUP:ARTIFACT`, as OSV's Maven ecosystem names it.
fn pom_properties(location: &str, text: &str) -> Result<Package, ScanWarning> {
    let (mut group, mut artifact, mut version) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with('!') {
            continue;
        }
        let Some((k, v)) = line.split_once(['=', ':']) else {
            continue;
        };
        match k.trim() {
            "groupId" => group = Some(v.trim()),
            "artifactId" => artifact = Some(v.trim()),
            "version" => version = Some(v.trim()),
            _ => {}
        }
    }
    match (group, artifact, version) {
        (Some(g), Some(a), Some(v)) if !g.is_empty() && !a.is_empty() && !v.is_empty() => {
            Ok(package(Ecosystem::Maven, &format!("{g}:{a}"), v, location))
        }
        _ => Err(warning(
            location,
            None,
            "pom.properties lacks groupId, artifactId or version",
        )),
    }
}
