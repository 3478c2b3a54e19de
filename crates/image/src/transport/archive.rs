//! Tar archives of images: `oci-archive:` (a tarred OCI layout) here, and
//! the unpacking and packing that `docker-archive:` (see
//! [`super::docker_archive`]) shares. Archives are unpacked to a temporary
//! directory to read, and packed from one to write; the file appears (by
//! rename) only when complete.

use super::layout::{LayoutDest, LayoutSource};
use crate::error::{Error, IoContext, Result};
use std::path::{Path, PathBuf};

pub(crate) fn unpack(file: &Path, what: &str) -> Result<tempfile::TempDir> {
    let tmp = tempfile::Builder::new()
        .prefix("berth-archive-")
        .tempdir()
        .ctx("create temporary directory for", file)?;
    let f = std::fs::File::open(file).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!("{what} {}", file.display()))
        } else {
            Error::Io {
                op: "open",
                path: file.to_path_buf(),
                source: e,
            }
        }
    })?;
    let mut ar = tar::Archive::new(std::io::BufReader::new(f));
    ar.set_preserve_permissions(false);
    // `unpack` refuses entries that would land outside the directory.
    ar.unpack(tmp.path()).map_err(|e| Error::Malformed {
        image: format!("{what}:{}", file.display()),
        what: "archive",
        reason: e.to_string(),
    })?;
    Ok(tmp)
}

/// Tar the contents of `dir` into `file` (via a temporary file and rename).
pub(crate) fn pack_dir(dir: &Path, file: &Path) -> Result<()> {
    let parent = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).ctx("create", parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(".tmp-archive-")
        .tempfile_in(parent)
        .ctx("create temporary file in", parent)?;
    let mut b = tar::Builder::new(std::io::BufWriter::new(tmp.as_file()));
    b.mode(tar::HeaderMode::Deterministic);
    b.follow_symlinks(false);
    let mut entries: Vec<PathBuf> = Vec::new();
    collect(dir, dir, &mut entries)?;
    entries.sort();
    for rel in entries {
        let full = dir.join(&rel);
        if full.is_dir() {
            b.append_dir(&rel, &full).ctx("archive", &full)?;
        } else {
            let mut f = std::fs::File::open(&full).ctx("open", &full)?;
            b.append_file(&rel, &mut f).ctx("archive", &full)?;
        }
    }
    let w = b.into_inner().ctx("finish", file)?;
    drop(w);
    tmp.persist(file)
        .map_err(|e| e.error)
        .ctx("rename to", file)?;
    Ok(())
}

fn collect(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir).ctx("read directory", dir)? {
        let e = e.ctx("read directory", dir)?;
        let path = e.path();
        let rel = path.strip_prefix(base).unwrap_or(&path).to_path_buf();
        if e.file_type().ctx("stat", &path)?.is_dir() {
            out.push(rel);
            collect(base, &path, out)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Open an `oci-archive:` file.
pub(crate) fn open_oci_archive(file: &Path, reference: Option<&str>) -> Result<LayoutSource> {
    let tmp = unpack(file, "oci-archive")?;
    let mut src = LayoutSource::open(tmp.path(), reference).map_err(|e| match e {
        Error::NotFound(what) => {
            Error::NotFound(format!("{what} in oci-archive:{}", file.display()))
        }
        e => e,
    })?;
    src._tmp = Some(tmp);
    Ok(src)
}

/// Write an `oci-archive:` file.
pub(crate) fn oci_archive_dest(file: &Path, reference: Option<String>) -> Result<LayoutDest> {
    let tmp = tempfile::Builder::new()
        .prefix("berth-archive-")
        .tempdir()
        .ctx("create temporary directory for", file)?;
    let root = tmp.path().to_path_buf();
    LayoutDest::create(&root, reference, Some((file.to_path_buf(), tmp)))
}
