//! What an OS package reader hands the scan: the package and the file
//! that records it alone, by which the scan tells which layer added it.

use crate::model::{Package, ScanWarning};

/// One package and its own record file (in-image path).
#[derive(Debug)]
pub struct Found {
    pub package: Package,
    /// A file only this package's installation writes (dpkg's
    /// `info/NAME.list`, a distroless `status.d/NAME`, an owned file).
    pub record: Option<String>,
}

/// What one reader found.
#[derive(Debug, Default)]
pub struct Findings {
    pub found: Vec<Found>,
    pub warnings: Vec<ScanWarning>,
}

impl Findings {
    pub fn warn(&mut self, path: &str, line: Option<usize>, message: impl Into<String>) {
        self.warnings.push(ScanWarning {
            path: path.to_string(),
            line,
            message: message.into(),
        });
    }
}
