//! `berth scan IMAGE|CONTAINER [--format table|json]`: what an image (or a
//! container's tree) holds, read from its mounted tree without running
//! anything in it (berth-scan): the OS, its packages and language
//! packages, and which layer added each. What could not be read is listed
//! as warnings on stderr; the scan still reports the rest.

use crate::Cli;
use berth_scan::{Inventory, ScanWarning};
use clap::Args;

#[derive(Args)]
pub struct ScanArgs {
    /// Output format: table (default) or json.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// A container, else an image.
    pub name: String,
}

pub fn scan(cli: &Cli, a: &ScanArgs) -> anyhow::Result<()> {
    let json = match a.format.as_str() {
        "table" => false,
        "json" => true,
        f => anyhow::bail!("unknown format {f:?}: scan knows table and json"),
    };
    let engine = cli.engine()?;
    let inv = berth_scan::scan(&engine, &a.name)?;
    for w in &inv.warnings {
        eprintln!("warning: {}", warning_line(w));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&inv)?);
    } else {
        print!("{}", table(&inv));
    }
    Ok(())
}

/// `PATH[:LINE]: message`.
pub fn warning_line(w: &ScanWarning) -> String {
    match w.line {
        Some(l) => format!("{}:{l}: {}", w.path, w.message),
        None => format!("{}: {}", w.path, w.message),
    }
}

/// The OS line, then one row per package: name, version, type, arch, and
/// the short diff id of the layer that added it.
fn table(inv: &Inventory) -> String {
    let mut out = String::new();
    if let Some(img) = &inv.image {
        out.push_str(&format!("IMAGE  {} ({})\n", img.reference, short(&img.id)));
    }
    if let Some(os) = &inv.os {
        let name = os.pretty_name.clone().unwrap_or_else(|| os.id.clone());
        out.push_str(&format!("OS     {name}\n"));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    let mut rows = vec![["NAME", "VERSION", "TYPE", "ARCH", "LAYER"].map(String::from)];
    for p in &inv.packages {
        let kind = serde_json::to_value(p.ecosystem)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        rows.push([
            p.name.clone(),
            p.version.clone(),
            kind,
            p.arch.clone().unwrap_or_default(),
            p.layer.as_deref().map(short).unwrap_or_default(),
        ]);
    }
    out.push_str(&columns(&rows));
    out
}

/// `sha256:0123456789ab…` → `0123456789ab`.
fn short(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.chars().take(12).collect()
}

/// Rows padded to aligned columns, the last unpadded.
pub fn columns<const N: usize>(rows: &[[String; N]]) -> String {
    let widths: Vec<usize> = (0..N)
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (i, cell) in r.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
