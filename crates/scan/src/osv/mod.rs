//! Vulnerability matching against an offline OSV database: a directory of
//! OSV JSON records, one advisory per file, as osv.dev exports them per
//! ecosystem (ecosystem subdirectories are walked too).
//!
//! A record that does not parse is kept as a [`LoadError`] naming its file;
//! the others still load and match.

mod ecosystem;
mod matching;
mod record;
mod severity;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::model::{Ecosystem, Inventory};
use record::Record;

pub use severity::{cvss3_base_score, fail_on, BadSeverity, Severity};

/// The database directory itself could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OsvError {
    #[error("reading OSV database directory {path}: {source}")]
    ReadDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// One record file that did not load.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// One vulnerable package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The advisory's id (`DSA-5000-1`, `GHSA-…`).
    pub id: String,
    /// Its aliases (`CVE-…`).
    pub aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    /// The package as the inventory names it.
    pub package: String,
    pub ecosystem: Ecosystem,
    /// The installed version that was matched (the source version for
    /// distribution packages matched through their source package).
    pub installed: String,
    /// The first fixed version above the installed one, when one exists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    pub severity: Severity,
    /// Where the package was found (its record's in-image path).
    pub location: String,
}

/// Deeper than any export; stops a symlink loop in the database tree.
const MAX_DEPTH: usize = 8;

/// Loaded OSV records, indexed by (ecosystem, package name).
#[derive(Debug, Default)]
pub struct Database {
    records: Vec<Record>,
    /// (ecosystem base, normalised name) → (record, affected entry).
    index: HashMap<(String, String), Vec<(usize, usize)>>,
    errors: Vec<LoadError>,
}

impl Database {
    /// Loads every `*.json` under `dir`.
    pub fn load(dir: &Path) -> Result<Self, OsvError> {
        let mut files = Vec::new();
        collect(dir, 0, &mut files)?;
        files.sort();
        let mut db = Database::default();
        for path in files {
            match std::fs::read(&path) {
                Ok(data) => db.add(&path, &data),
                Err(e) => db.errors.push(LoadError {
                    path,
                    message: e.to_string(),
                }),
            }
        }
        Ok(db)
    }

    /// Adds one record read from `path` (also the way tests build a
    /// database from bytes); a malformed one becomes a [`LoadError`].
    pub fn add(&mut self, path: &Path, data: &[u8]) {
        let record = match Record::parse(data) {
            Ok(r) => r,
            Err(message) => {
                self.errors.push(LoadError {
                    path: path.to_path_buf(),
                    message,
                });
                return;
            }
        };
        if record.withdrawn.is_some() {
            return;
        }
        let at = self.records.len();
        for (i, affected) in record.affected.iter().enumerate() {
            if let Some(p) = &affected.package {
                let base = ecosystem::base(&p.ecosystem).to_string();
                let name = ecosystem::normalise(&base, &p.name);
                self.index.entry((base, name)).or_default().push((at, i));
            }
        }
        self.records.push(record);
    }

    /// The records that loaded.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The files that did not load, each with why.
    pub fn errors(&self) -> &[LoadError] {
        &self.errors
    }

    /// The advisories that affect packages of `inventory`, most severe first.
    pub fn matches(&self, inventory: &Inventory) -> Vec<Finding> {
        matching::matches(self, inventory)
    }
}

fn collect(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) -> Result<(), OsvError> {
    let entries = std::fs::read_dir(dir).map_err(|source| OsvError::ReadDir {
        path: dir.to_path_buf(),
        source,
    })?;
    for entry in entries {
        let entry = entry.map_err(|source| OsvError::ReadDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() && depth < MAX_DEPTH {
            collect(&path, depth + 1, out)?;
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}
