//! The parts of the OSV schema (ossf.github.io/osv-schema) the matcher reads.

use serde::Deserialize;
use serde_json::Value;

/// One advisory.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Record {
    pub id: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub summary: Option<String>,
    /// Set when the advisory was retracted: it matches nothing.
    #[serde(default)]
    pub withdrawn: Option<String>,
    #[serde(default)]
    pub severity: Vec<SeverityEntry>,
    #[serde(default)]
    pub affected: Vec<Affected>,
    #[serde(default)]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct SeverityEntry {
    #[serde(rename = "type")]
    pub kind: String,
    pub score: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Affected {
    #[serde(default)]
    pub package: Option<AffectedPackage>,
    #[serde(default)]
    pub ranges: Vec<Range>,
    #[serde(default)]
    pub versions: Vec<String>,
    #[serde(default)]
    pub severity: Vec<SeverityEntry>,
    #[serde(default)]
    pub ecosystem_specific: Option<Value>,
    #[serde(default)]
    pub database_specific: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AffectedPackage {
    pub ecosystem: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Range {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub events: Vec<Event>,
}

/// Exactly one of the fields is set (checked at load).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Event {
    #[serde(default)]
    pub introduced: Option<String>,
    #[serde(default)]
    pub fixed: Option<String>,
    #[serde(default)]
    pub last_affected: Option<String>,
    #[serde(default)]
    pub limit: Option<String>,
}

impl Record {
    /// Parses one record and checks what serde cannot: a non-empty id and
    /// one kind per range event.
    pub(crate) fn parse(data: &[u8]) -> Result<Self, String> {
        let record: Record =
            serde_json::from_slice(data).map_err(|e| format!("line {}: {e}", e.line()))?;
        if record.id.trim().is_empty() {
            return Err("empty `id`".to_string());
        }
        for (i, affected) in record.affected.iter().enumerate() {
            for range in &affected.ranges {
                for event in &range.events {
                    let set = [
                        &event.introduced,
                        &event.fixed,
                        &event.last_affected,
                        &event.limit,
                    ]
                    .iter()
                    .filter(|f| f.is_some())
                    .count();
                    if set != 1 {
                        return Err(format!(
                            "affected[{i}]: a range event must have exactly one of introduced, fixed, last_affected, limit"
                        ));
                    }
                }
            }
        }
        Ok(record)
    }
}
