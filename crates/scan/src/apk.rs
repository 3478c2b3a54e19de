//! apk's database, `/lib/apk/db/installed` (Alpine, Wolfi): one paragraph
//! per package of `X:value` lines — `P` name, `V` version, `A` arch, `o`
//! origin (source package), `L` licence, `F` a directory and the `R` files
//! in it that follow.

use crate::found::{Findings, Found};
use crate::model::{Ecosystem, Package};
use crate::tree::Tree;

const INSTALLED: &str = "/lib/apk/db/installed";

/// Read the database into `out`.
pub fn read(tree: &Tree, out: &mut Findings) {
    match tree.read(INSTALLED) {
        Ok(Some(bytes)) => parse(&String::from_utf8_lossy(&bytes), out),
        Ok(None) => {}
        Err(w) => out.warnings.push(w),
    }
}

#[derive(Default)]
struct Record {
    line: usize,
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    origin: Option<String>,
    license: Option<String>,
    dir: String,
    files: Vec<String>,
}

/// The packages of an `installed` file's text.
pub fn parse(text: &str, out: &mut Findings) {
    let mut cur: Option<Record> = None;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.is_empty() {
            if let Some(r) = cur.take() {
                finish(r, out);
            }
            continue;
        }
        let r = cur.get_or_insert_with(|| Record {
            line: n,
            ..Record::default()
        });
        let Some((key, value)) = line.split_once(':').filter(|(k, _)| k.len() == 1) else {
            out.warn(
                INSTALLED,
                Some(n),
                format!("not a `X:value` line: {line:?}"),
            );
            continue;
        };
        match key {
            "P" => r.name = Some(value.to_string()),
            "V" => r.version = Some(value.to_string()),
            "A" => r.arch = Some(value.to_string()),
            "o" => r.origin = Some(value.to_string()),
            "L" => r.license = Some(value.to_string()),
            "F" => r.dir = value.trim_matches('/').to_string(),
            "R" if r.dir.is_empty() => r.files.push(format!("/{value}")),
            "R" => r.files.push(format!("/{}/{value}", r.dir)),
            _ => {}
        }
    }
    if let Some(r) = cur {
        finish(r, out);
    }
}

fn finish(r: Record, out: &mut Findings) {
    let (Some(name), Some(version)) = (r.name, r.version) else {
        return out.warn(INSTALLED, Some(r.line), "package without P: or V:");
    };
    let record = r.files.first().cloned();
    out.found.push(Found {
        package: Package {
            name,
            version,
            ecosystem: Ecosystem::Alpine,
            arch: r.arch,
            source: r.origin,
            source_version: None,
            licenses: r.license.into_iter().collect(),
            files: r.files,
            location: INSTALLED.to_string(),
            layer: None,
        },
        record,
    });
}
