//! `berth sbom IMAGE|CONTAINER --format spdx-json|cyclonedx-json [-o FILE]`:
//! the scan's inventory as an SPDX 2.3 or CycloneDX 1.5 document, the image
//! as its root with its digest. Written whole to a temporary file beside
//! FILE and renamed, so a failed run never leaves half a document.

use crate::scan_cmd::warning_line;
use crate::Cli;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct SbomArgs {
    /// spdx-json (SPDX 2.3) or cyclonedx-json (CycloneDX 1.5).
    #[arg(long, default_value = "spdx-json")]
    pub format: String,
    /// Write the document to FILE instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// An image, else a container.
    pub name: String,
}

pub fn sbom(cli: &Cli, a: &SbomArgs) -> anyhow::Result<()> {
    let write: fn(&berth_scan::Inventory) -> serde_json::Value = match a.format.as_str() {
        "spdx-json" => berth_scan::sbom::spdx_json,
        "cyclonedx-json" => berth_scan::sbom::cyclonedx_json,
        f => anyhow::bail!("unknown format {f:?}: sbom writes spdx-json or cyclonedx-json"),
    };
    let engine = cli.engine()?;
    let inv = berth_scan::scan(&engine, &a.name)?;
    for w in &inv.warnings {
        eprintln!("warning: {}", warning_line(w));
    }
    let mut doc = serde_json::to_vec_pretty(&write(&inv))?;
    doc.push(b'\n');
    match &a.output {
        None => std::io::stdout().lock().write_all(&doc)?,
        Some(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => std::path::Path::new("."),
            };
            let mut tmp = tempfile::NamedTempFile::new_in(dir)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
            tmp.write_all(&doc)?;
            tmp.persist(path)
                .map_err(|e| anyhow::anyhow!("writing {}: {}", path.display(), e.error))?;
        }
    }
    Ok(())
}
