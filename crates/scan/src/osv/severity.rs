//! Severity of a finding: the advisory's own label where it gives one, else
//! the band of its CVSS v3 base score.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

use super::record::{Record, SeverityEntry};
use super::Finding;

/// Ordered from the least to the most severe; `Unknown` (no label, no
/// score we can compute) sorts lowest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Unknown,
    Low,
    Medium,
    High,
    Critical,
}

/// A `--fail-on` value that names no severity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown severity {0:?}: expected low, medium, high or critical")]
pub struct BadSeverity(pub String);

impl FromStr for Severity {
    type Err = BadSeverity;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "unknown" => Ok(Severity::Unknown),
            "low" => Ok(Severity::Low),
            "medium" | "moderate" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(BadSeverity(s.to_string())),
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Unknown => "UNKNOWN",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        })
    }
}

impl Severity {
    /// The band of a CVSS base score (CVSS v3.1 specification, table 14);
    /// 0.0 ("None") is reported as Low.
    pub fn from_score(score: f64) -> Self {
        if score >= 9.0 {
            Severity::Critical
        } else if score >= 7.0 {
            Severity::High
        } else if score >= 4.0 {
            Severity::Medium
        } else {
            Severity::Low
        }
    }

    /// Whether `--fail-on self` fails a run with `findings` (see [`fail_on`]).
    pub fn fails(self, findings: &[Finding]) -> bool {
        fail_on(findings, self)
    }

    /// A database's label: GHSA's `MODERATE`, Ubuntu's `negligible`,
    /// Red Hat's `important`...
    fn from_label(label: &str) -> Option<Self> {
        match label.trim().to_ascii_lowercase().as_str() {
            "negligible" | "low" | "unimportant" => Some(Severity::Low),
            "medium" | "moderate" => Some(Severity::Medium),
            "high" | "important" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

/// Whether `--fail-on threshold` fails the run: some finding is at least
/// that severe.
pub fn fail_on(findings: &[Finding], threshold: Severity) -> bool {
    findings.iter().any(|f| f.severity >= threshold)
}

/// The severity of `record` for its `affected` entry `affected`.
pub(crate) fn of_record(record: &Record, affected: usize) -> Severity {
    let label = |v: &Option<Value>| {
        v.as_ref()
            .and_then(|v| v.get("severity"))
            .and_then(Value::as_str)
            .and_then(Severity::from_label)
    };
    let a = record.affected.get(affected);
    label(&record.database_specific)
        .or_else(|| from_entries(&record.severity))
        .or_else(|| a.and_then(|a| from_entries(&a.severity)))
        .or_else(|| a.and_then(|a| label(&a.ecosystem_specific)))
        .or_else(|| a.and_then(|a| label(&a.database_specific)))
        .unwrap_or(Severity::Unknown)
}

fn from_entries(entries: &[SeverityEntry]) -> Option<Severity> {
    entries.iter().find_map(|e| match e.kind.as_str() {
        "CVSS_V3" => cvss3_base_score(&e.score).map(Severity::from_score),
        // Ubuntu's records carry its priority as a severity of their own type.
        _ => Severity::from_label(&e.score),
    })
}

/// The base score of a CVSS v3.0/v3.1 vector
/// (`CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H` → 9.8).
pub fn cvss3_base_score(vector: &str) -> Option<f64> {
    let mut parts = vector.split('/');
    if !matches!(parts.next(), Some("CVSS:3.0") | Some("CVSS:3.1")) {
        return None;
    }
    let mut m = std::collections::HashMap::new();
    for p in parts {
        let (k, v) = p.split_once(':')?;
        m.insert(k, v);
    }
    let changed = match *m.get("S")? {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match *m.get("AV")? {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match *m.get("AC")? {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (*m.get("PR")?, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match *m.get("UI")? {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |k: &str| -> Option<f64> {
        match *m.get(k)? {
            "H" => Some(0.56),
            "L" => Some(0.22),
            "N" => Some(0.0),
            _ => None,
        }
    };
    let (c, i, a) = (cia("C")?, cia("I")?, cia("A")?);
    let iss = 1.0 - (1.0 - c) * (1.0 - i) * (1.0 - a);
    let impact = if changed {
        7.52 * (iss - 0.029) - 3.25 * (iss - 0.02f64).powi(15)
    } else {
        6.42 * iss
    };
    if impact <= 0.0 {
        return Some(0.0);
    }
    let exploitability = 8.22 * av * ac * pr * ui;
    let raw = if changed {
        (1.08 * (impact + exploitability)).min(10.0)
    } else {
        (impact + exploitability).min(10.0)
    };
    Some(round_up(raw))
}

/// CVSS v3.1's Roundup: the smallest one-decimal number >= x, computed on
/// integers so 4.000000001 stays 4.0 rather than 4.1.
fn round_up(x: f64) -> f64 {
    let int = (x * 100_000.0).round() as i64;
    if int % 10_000 == 0 {
        int as f64 / 100_000.0
    } else {
        ((int / 10_000) + 1) as f64 / 10.0
    }
}
