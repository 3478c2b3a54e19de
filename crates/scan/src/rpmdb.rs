//! rpm's database. The sqlite form (`rpmdb.sqlite`, rpm ≥ 4.16: Fedora,
//! RHEL 9, openSUSE) is read: a `Packages(hnum, blob)` table of header
//! blobs ([`rpm_header`](crate::rpm_header)). The ndb (`Packages.db`) and
//! BerkeleyDB (`Packages`) forms have no maintained Rust reader: they are
//! reported as unsupported, naming the file.
//!
//! The database is copied out of the image (read in-root) into a private
//! temporary directory and opened there: sqlite opens files by path, and
//! the image's path may be a symlink aimed at the host.

use crate::found::{Findings, Found};
use crate::model::{Ecosystem, Package};
use crate::rpm_header::{self as h, Header};
use crate::tree::Tree;

const DIRS: [&str; 2] = ["/var/lib/rpm", "/usr/lib/sysimage/rpm"];

/// Read the first rpm database found into `out`.
pub fn read(tree: &Tree, out: &mut Findings) {
    for dir in DIRS {
        let sqlite = format!("{dir}/rpmdb.sqlite");
        match tree.read(&sqlite) {
            Ok(Some(bytes)) => {
                let wal = tree.read(&format!("{sqlite}-wal")).ok().flatten();
                return read_sqlite(&sqlite, &bytes, wal.as_deref(), out);
            }
            Ok(None) => {}
            Err(w) => return out.warnings.push(w),
        }
        for (file, form) in [("Packages.db", "ndb"), ("Packages", "BerkeleyDB")] {
            let path = format!("{dir}/{file}");
            if tree.exists(&path) {
                return out.warn(
                    &path,
                    None,
                    format!("unsupported rpm db format ({form}): only rpmdb.sqlite is read"),
                );
            }
        }
    }
}

fn read_sqlite(path: &str, db: &[u8], wal: Option<&[u8]>, out: &mut Findings) {
    match blobs(db, wal) {
        Ok(blobs) => {
            for (hnum, blob) in blobs {
                match h::parse(&blob, WANTED) {
                    Ok(hdr) => {
                        if let Some(f) = package(path, &hdr) {
                            out.found.push(f);
                        }
                    }
                    Err(e) => out.warn(path, None, format!("package header {hnum}: {e}")),
                }
            }
        }
        Err(e) => out.warn(path, None, format!("unsupported rpm db format: {e}")),
    }
}

const WANTED: &[u32] = &[
    h::NAME,
    h::VERSION,
    h::RELEASE,
    h::EPOCH,
    h::LICENSE,
    h::ARCH,
    h::SOURCERPM,
    h::DIRINDEXES,
    h::BASENAMES,
    h::DIRNAMES,
    h::OLDFILENAMES,
];

/// Every `(hnum, blob)` of the `Packages` table of a copy of the database.
fn blobs(db: &[u8], wal: Option<&[u8]>) -> Result<Vec<(i64, Vec<u8>)>, String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary directory: {e}"))?;
    let file = dir.path().join("rpmdb.sqlite");
    std::fs::write(&file, db).map_err(|e| format!("copy: {e}"))?;
    if let Some(wal) = wal.filter(|w| !w.is_empty()) {
        std::fs::write(dir.path().join("rpmdb.sqlite-wal"), wal)
            .map_err(|e| format!("copy: {e}"))?;
    }
    let conn = rusqlite::Connection::open(&file).map_err(|e| e.to_string())?;
    let mut stmt = conn
        .prepare("SELECT hnum, blob FROM Packages")
        .map_err(|e| e.to_string())?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
        .map_err(|e| e.to_string())?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())
}

fn package(path: &str, hdr: &Header) -> Option<Found> {
    let name = hdr.string(h::NAME)?;
    // rpm keeps imported signing keys as pseudo-packages: not software.
    if name == "gpg-pubkey" {
        return None;
    }
    let version = hdr.string(h::VERSION).unwrap_or_default();
    let release = hdr.string(h::RELEASE).unwrap_or_default();
    let mut full = format!("{version}-{release}");
    if let Some(epoch) = hdr.ints(h::EPOCH).first() {
        full = format!("{epoch}:{full}");
    }
    let (source, source_version) = match hdr.string(h::SOURCERPM).and_then(split_srpm) {
        Some((n, v)) => (Some(n), Some(v)),
        None => (None, None),
    };
    let files = hdr.files();
    Some(Found {
        record: files.first().cloned(),
        package: Package {
            name: name.to_string(),
            version: full,
            ecosystem: Ecosystem::Rpm,
            arch: hdr.string(h::ARCH).map(str::to_string),
            source,
            source_version,
            licenses: hdr
                .string(h::LICENSE)
                .map(str::to_string)
                .into_iter()
                .collect(),
            files,
            location: path.to_string(),
            layer: None,
        },
    })
}

/// `bash-5.1.8-2.fc36.src.rpm` → (`bash`, `5.1.8-2.fc36`).
pub fn split_srpm(srpm: &str) -> Option<(String, String)> {
    let base = srpm
        .strip_suffix(".src.rpm")
        .or_else(|| srpm.strip_suffix(".nosrc.rpm"))?;
    let (rest, release) = base.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    Some((name.to_string(), format!("{version}-{release}")))
}
