//! `pause`, `resume`, `events` and `update`.

use anyhow::{bail, Context, Result};
use berth_runtime::container::manage;
use berth_runtime::state::StateRoot;
use clap::Args;
use oci_spec::runtime::LinuxResources;
use serde_json::{json, Map, Value};
use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

/// `events`: statistics as runc prints them.
pub fn events(root: &StateRoot, id: &str, once: bool, interval: &str) -> Result<()> {
    let every = humantime::parse_duration(interval)
        .with_context(|| format!("bad --interval {interval:?}"))?;
    loop {
        let Some(stats) = manage::stats(root, id)? else {
            return Ok(());
        };
        println!("{}", json!({"type": "stats", "id": id, "data": stats}));
        if once {
            return Ok(());
        }
        std::thread::sleep(every.max(Duration::from_millis(100)));
    }
}

#[derive(Args)]
pub struct UpdateArgs {
    /// A JSON file (or - for stdin) with the linux.resources to set.
    #[arg(short, long)]
    resources: Option<PathBuf>,
    /// Block IO weight (10-1000).
    #[arg(long)]
    blkio_weight: Option<u16>,
    /// CPU CFS period in microseconds.
    #[arg(long)]
    cpu_period: Option<u64>,
    /// CPU CFS quota in microseconds.
    #[arg(long)]
    cpu_quota: Option<i64>,
    /// CPU realtime period in microseconds.
    #[arg(long)]
    cpu_rt_period: Option<u64>,
    /// CPU realtime runtime in microseconds.
    #[arg(long)]
    cpu_rt_runtime: Option<i64>,
    /// CPU shares (relative weight).
    #[arg(long)]
    cpu_share: Option<u64>,
    /// CPUs the container may use (0-3, 0,1).
    #[arg(long)]
    cpuset_cpus: Option<String>,
    /// Memory nodes the container may use.
    #[arg(long)]
    cpuset_mems: Option<String>,
    /// Memory limit (bytes, or with a k/m/g suffix).
    #[arg(long)]
    memory: Option<String>,
    /// Memory soft limit.
    #[arg(long)]
    memory_reservation: Option<String>,
    /// Memory plus swap limit (-1 for unlimited).
    #[arg(long)]
    memory_swap: Option<String>,
    /// Maximum number of processes.
    #[arg(long)]
    pids_limit: Option<i64>,
    /// The container id.
    id: String,
}

/// `update`.
pub fn update(root: &StateRoot, a: UpdateArgs) -> Result<()> {
    let change: LinuxResources = match &a.resources {
        Some(path) => {
            let mut text = String::new();
            if path.as_os_str() == "-" {
                std::io::stdin().read_to_string(&mut text)?;
            } else {
                text = std::fs::read_to_string(path)
                    .with_context(|| format!("read {}", path.display()))?;
            }
            serde_json::from_str(&text)
                .context("--resources is not a valid linux.resources object")?
        }
        None => serde_json::from_value(from_flags(&a)?).context("invalid resources")?,
    };
    manage::update(root, &a.id, &change)?;
    Ok(())
}

fn from_flags(a: &UpdateArgs) -> Result<Value> {
    let mut memory = Map::new();
    let mut cpu = Map::new();
    let mut out = Map::new();
    for (key, val) in [
        ("limit", &a.memory),
        ("reservation", &a.memory_reservation),
        ("swap", &a.memory_swap),
    ] {
        if let Some(v) = val {
            memory.insert(key.into(), json!(parse_bytes(v)?));
        }
    }
    if let Some(v) = a.cpu_share {
        cpu.insert("shares".into(), json!(v));
    }
    if let Some(v) = a.cpu_quota {
        cpu.insert("quota".into(), json!(v));
    }
    if let Some(v) = a.cpu_period {
        cpu.insert("period".into(), json!(v));
    }
    if let Some(v) = a.cpu_rt_runtime {
        cpu.insert("realtimeRuntime".into(), json!(v));
    }
    if let Some(v) = a.cpu_rt_period {
        cpu.insert("realtimePeriod".into(), json!(v));
    }
    if let Some(v) = &a.cpuset_cpus {
        cpu.insert("cpus".into(), json!(v));
    }
    if let Some(v) = &a.cpuset_mems {
        cpu.insert("mems".into(), json!(v));
    }
    if !memory.is_empty() {
        out.insert("memory".into(), Value::Object(memory));
    }
    if !cpu.is_empty() {
        out.insert("cpu".into(), Value::Object(cpu));
    }
    if let Some(v) = a.pids_limit {
        out.insert("pids".into(), json!({"limit": v}));
    }
    if let Some(v) = a.blkio_weight {
        out.insert("blockIO".into(), json!({"weight": v}));
    }
    if out.is_empty() {
        bail!("update needs --resources or at least one resource flag");
    }
    Ok(Value::Object(out))
}

/// `1024`, `64k`, `512m`, `2g`, `1t` (binary units, an optional trailing
/// `b`, fractions allowed, as docker and runc read them); `-1` means
/// unlimited. The engine's `--memory` follows the same rules.
fn parse_bytes(text: &str) -> Result<i64> {
    let t = text.trim().to_ascii_lowercase();
    if t == "-1" {
        return Ok(-1);
    }
    let t = t.strip_suffix('b').unwrap_or(&t);
    let (num, mult) = match t.chars().last() {
        Some('k') => (&t[..t.len() - 1], 1i64 << 10),
        Some('m') => (&t[..t.len() - 1], 1 << 20),
        Some('g') => (&t[..t.len() - 1], 1 << 30),
        Some('t') => (&t[..t.len() - 1], 1 << 40),
        _ => (t, 1),
    };
    let n: f64 = num
        .trim()
        .parse()
        .with_context(|| format!("invalid size {text:?}"))?;
    if !n.is_finite() || n < 0.0 {
        bail!("invalid size {text:?}");
    }
    Ok((n * mult as f64) as i64)
}

#[cfg(test)]
mod tests {
    use super::parse_bytes;

    #[test]
    fn sizes() {
        assert_eq!(parse_bytes("1024").unwrap(), 1024);
        assert_eq!(parse_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(parse_bytes("1.5g").unwrap(), 3 << 29);
        assert_eq!(parse_bytes("-1").unwrap(), -1);
        assert!(parse_bytes("lots").is_err());
        assert!(parse_bytes("inf").is_err() && parse_bytes("nan").is_err());
    }
}
