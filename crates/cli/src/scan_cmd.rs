//! `berth scan IMAGE|CONTAINER [--format table|json]`: what an image (or a
//! container's tree) holds, read from its mounted tree without running
//! anything in it (berth-scan): the OS, its packages and language
//! packages, and which layer added each. What could not be read is listed
//! as warnings on stderr; the scan still reports the rest. With `--vulns
//! --db DIR` the inventory is matched against an OSV database directory,
//! and `--fail-on SEVERITY` exits 1 when a finding is that severe.

use crate::Cli;
use berth_scan::osv::{Database, Finding, Severity};
use berth_scan::{Inventory, ScanWarning};
use clap::Args;

#[derive(Args)]
pub struct ScanArgs {
    /// Output format: table (default) or json.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Match the packages against the OSV database given with --db.
    #[arg(long, requires = "db")]
    pub vulns: bool,
    /// An OSV database: a directory of OSV JSON records, as osv.dev
    /// exports them per ecosystem.
    #[arg(long, value_name = "DIR")]
    pub db: Option<std::path::PathBuf>,
    /// Exit 1 when a finding is at least this severe (low, medium, high,
    /// critical).
    #[arg(long, value_name = "SEVERITY", requires = "vulns")]
    pub fail_on: Option<Severity>,
    /// A container, else an image.
    pub name: String,
}

pub fn scan(cli: &Cli, a: &ScanArgs) -> anyhow::Result<()> {
    let json = match a.format.as_str() {
        "table" => false,
        "json" => true,
        f => anyhow::bail!("unknown format {f:?}: scan knows table and json"),
    };
    // A bad database is found before the image is mounted.
    let db = match (&a.db, a.vulns) {
        (Some(dir), true) => Some(load_db(dir)?),
        _ => None,
    };
    let engine = cli.engine()?;
    let inv = berth_scan::scan(&engine, &a.name)?;
    for w in &inv.warnings {
        eprintln!("warning: {}", warning_line(w));
    }
    let findings = db.as_ref().map(|db| db.matches(&inv));
    if json {
        let mut doc = serde_json::to_value(&inv)?;
        if let (Some(f), Some(obj)) = (&findings, doc.as_object_mut()) {
            obj.insert("vulnerabilities".into(), serde_json::to_value(f)?);
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print!("{}", table(&inv));
        if let Some(f) = &findings {
            print!("\n{}", findings_table(f));
        }
    }
    if let (Some(f), Some(threshold)) = (&findings, a.fail_on) {
        if berth_scan::osv::fail_on(f, threshold) {
            let n = f.iter().filter(|x| x.severity >= threshold).count();
            eprintln!("{n} vulnerabilities at or above {threshold} (--fail-on)");
            return Err(crate::exit_code::Reported(1).into());
        }
    }
    Ok(())
}

/// The OSV records under `dir`; records that do not parse are named on
/// stderr and the rest are used.
fn load_db(dir: &std::path::Path) -> anyhow::Result<Database> {
    let db = Database::load(dir)
        .map_err(|e| anyhow::anyhow!("reading the OSV database {}: {e}", dir.display()))?;
    for e in db.errors() {
        eprintln!("warning: OSV database: {e}");
    }
    Ok(db)
}

/// ID PACKAGE INSTALLED FIXED SEVERITY, one row per finding.
fn findings_table(findings: &[Finding]) -> String {
    if findings.is_empty() {
        return "No known vulnerabilities.\n".to_string();
    }
    let mut rows = vec![["ID", "PACKAGE", "INSTALLED", "FIXED", "SEVERITY"].map(String::from)];
    for f in findings {
        rows.push([
            f.id.clone(),
            f.package.clone(),
            f.installed.clone(),
            f.fixed.clone().unwrap_or_default(),
            f.severity.to_string(),
        ]);
    }
    columns(&rows)
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
