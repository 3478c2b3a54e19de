//! `berth stats`: podman 4.3's columns, JSON keys and template fields over
//! the engine's samples. Rates (CPU %) come from two samples: the first
//! one against the container's start, the next ones against the previous.

use crate::report::{print_list, Rows};
use crate::Cli;
use berth_engine::{ContainerStats, Status};
use clap::Args;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

#[derive(Args)]
pub struct StatsArgs {
    /// Every container, stopped ones too (shown as zeros).
    #[arg(short, long)]
    pub all: bool,
    /// `json`, or a Go template (`table …` for a header).
    #[arg(long)]
    pub format: Option<String>,
    /// Seconds between samples when streaming.
    #[arg(short, long, default_value_t = 5)]
    pub interval: u64,
    /// Print one sample and exit.
    #[arg(long)]
    pub no_stream: bool,
    /// Keep earlier samples on screen instead of clearing it each time.
    #[arg(long)]
    pub no_reset: bool,
    /// Containers (default: every running one).
    pub containers: Vec<String>,
}

const DEFAULT: &str = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDS}}\t{{.UpTime}}\t{{.AVGCPU}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "ID"),
    ("UpTime", "CPU TIME"),
    ("CPUPerc", "CPU %"),
    ("AVGCPU", "AVG CPU %"),
    ("MemUsage", "MEM USAGE / LIMIT"),
    ("MemUsageBytes", "MEM USAGE / LIMIT"),
    ("MemPerc", "MEM %"),
    ("NetIO", "NET IO"),
    ("BlockIO", "BLOCK IO"),
    ("PIDS", "PIDS"),
];

/// One row of `stats --format json`, podman's keys in podman's order.
#[derive(Serialize)]
struct StatsEntry {
    id: String,
    name: String,
    cpu_time: String,
    cpu_percent: String,
    avg_cpu: String,
    mem_usage: String,
    mem_percent: String,
    net_io: String,
    block_io: String,
    pids: String,
}

pub fn stats(cli: &Cli, a: &StatsArgs) -> anyhow::Result<()> {
    if a.all && !a.containers.is_empty() {
        anyhow::bail!("--all, --latest and containers cannot be used together");
    }
    let engine = cli.engine()?;
    // Named ones must all be there, as podman checks before printing.
    for n in &a.containers {
        engine.inspect(n)?;
    }
    let mut previous: HashMap<String, (u64, u64)> = HashMap::new();
    loop {
        let samples = sample(&engine, a)?;
        let mut json = Vec::new();
        let mut views = Vec::new();
        for s in &samples {
            let last = previous.get(&s.id).copied();
            let (entry, view) = row(s, last);
            json.push(entry);
            views.push(view);
        }
        previous = samples
            .iter()
            .map(|s| (s.id.clone(), (s.cpu_nanos, s.sampled_nanos)))
            .collect();
        if !a.no_stream && !a.no_reset {
            // goterm's clear and home, as podman prints between samples.
            print!("\x1b[2J\x1b[1;1H");
        }
        let rows = Rows { json, views };
        let format = a.format.as_deref().map(|f| match f.trim() {
            "{{json .}}" | "{{ json . }}" => "json",
            _ => f,
        });
        print_list(format, DEFAULT, HEADERS, true, &rows)?;
        if a.no_stream {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(a.interval.max(1)));
    }
}

/// One sample of every container asked for, in id order as podman's;
/// a stopped one (named, or with --all) is all zeros.
fn sample(engine: &berth_engine::Engine, a: &StatsArgs) -> anyhow::Result<Vec<ContainerStats>> {
    let infos = if a.containers.is_empty() {
        engine
            .list()?
            .into_iter()
            .filter(|i| a.all || i.state.status == Status::Running)
            .collect()
    } else {
        let mut v = Vec::new();
        for n in &a.containers {
            v.push(engine.inspect(n)?);
        }
        v
    };
    let mut out = Vec::new();
    for i in infos {
        let zero = || ContainerStats {
            id: i.id.clone(),
            name: i.name.clone(),
            ..Default::default()
        };
        let s = if i.state.status == Status::Running {
            match engine.stats(&i.id) {
                Ok(s) => s,
                // Exited between the listing and the sample.
                Err(berth_engine::Error::State { .. } | berth_engine::Error::NotFound(_)) => zero(),
                Err(e) => return Err(e.into()),
            }
        } else {
            zero()
        };
        out.push(s);
    }
    out.sort_by(|x, y| x.id.cmp(&y.id));
    Ok(out)
}

/// The JSON row and the template view of a sample; `last` is the
/// previous sample's (CPU time, time taken).
fn row(s: &ContainerStats, last: Option<(u64, u64)>) -> (StatsEntry, Value) {
    let started = s
        .started_at
        .as_deref()
        .and_then(|t| humantime::parse_rfc3339(t).ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as u64);
    let up = s.sampled_nanos.saturating_sub(started);
    let avg = percent(s.cpu_nanos, if started == 0 { 0 } else { up });
    let cpu = match last {
        Some((cpu, at)) => percent(
            s.cpu_nanos.saturating_sub(cpu),
            s.sampled_nanos.saturating_sub(at),
        ),
        None => avg,
    };
    let mem_percent = percent(s.mem_usage, s.mem_limit);
    let id = s.id.chars().take(12).collect::<String>();
    let pair = |a: u64, b: u64, f: fn(u64) -> String| format!("{} / {}", f(a), f(b));
    let entry = StatsEntry {
        id: id.clone(),
        name: s.name.clone(),
        cpu_time: go_duration(s.cpu_nanos),
        cpu_percent: format!("{cpu:.2}%"),
        avg_cpu: format!("{avg:.2}%"),
        mem_usage: pair(s.mem_usage, s.mem_limit, human_size),
        mem_percent: format!("{mem_percent:.2}%"),
        net_io: pair(s.net_input, s.net_output, human_size),
        block_io: pair(s.block_input, s.block_output, human_size),
        pids: s.pids.to_string(),
    };
    let view = json!({
        "ID": id,
        "ContainerID": s.id,
        "Name": s.name,
        "CPUPerc": entry.cpu_percent,
        "AVGCPU": entry.avg_cpu,
        "CPU": cpu,
        "CPUNano": s.cpu_nanos,
        "SystemNano": s.sampled_nanos,
        "MemUsage": entry.mem_usage,
        "MemUsageBytes": pair(s.mem_usage, s.mem_limit, bytes_size),
        "MemLimit": s.mem_limit,
        "MemPerc": entry.mem_percent,
        "NetIO": entry.net_io,
        "NetInput": s.net_input,
        "NetOutput": s.net_output,
        "BlockIO": entry.block_io,
        "BlockInput": s.block_input,
        "BlockOutput": s.block_output,
        "PIDS": entry.pids,
        "PIDs": s.pids,
        "UpTime": entry.cpu_time,
        "Duration": s.cpu_nanos,
    });
    (entry, view)
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        return 0.0;
    }
    part as f64 / whole as f64 * 100.0
}

/// go-units' HumanSize: decimal units, four significant digits.
fn human_size(n: u64) -> String {
    scaled(
        n,
        1000.0,
        &["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"],
    )
}

/// go-units' BytesSize: binary units, four significant digits.
fn bytes_size(n: u64) -> String {
    scaled(
        n,
        1024.0,
        &["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"],
    )
}

fn scaled(n: u64, base: f64, units: &[&str]) -> String {
    let mut v = n as f64;
    let mut i = 0;
    while v >= base && i < units.len() - 1 {
        v /= base;
        i += 1;
    }
    format!("{}{}", g4(v), units[i])
}

/// Go's `%.4g` for 0 ≤ v < 10000: four significant digits, trailing
/// zeros dropped.
fn g4(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.log10().floor() as i32;
    let decimals = (3 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Go's `time.Duration.String()`: `0s`, `850ns`, `1.5µs`, `63.251743ms`,
/// `2m3.5s`, `1h0m0s`.
fn go_duration(ns: u64) -> String {
    const S: u64 = 1_000_000_000;
    match ns {
        0 => "0s".into(),
        n if n < 1_000 => format!("{n}ns"),
        n if n < 1_000_000 => fraction(n, 1_000, "µs"),
        n if n < S => fraction(n, 1_000_000, "ms"),
        n => {
            let (h, m) = (n / S / 3600, n / S / 60 % 60);
            let mut out = String::new();
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            if h > 0 || m > 0 {
                out.push_str(&format!("{m}m"));
            }
            out + &fraction(n % (60 * S), S, "s")
        }
    }
}

/// `v / unit` with the remainder as decimals, trailing zeros dropped.
fn fraction(v: u64, unit: u64, suffix: &str) -> String {
    let (whole, rem) = (v / unit, v % unit);
    if rem == 0 {
        return format!("{whole}{suffix}");
    }
    let width = unit.ilog10() as usize;
    let digits = format!("{rem:0width$}");
    format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_prints_them() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(340_000), "340kB");
        assert_eq!(human_size(434_176), "434.2kB");
        assert_eq!(human_size(25_283_000_000), "25.28GB");
        assert_eq!(human_size(999), "999B");
        assert_eq!(bytes_size(339_968), "332KiB");
        assert_eq!(bytes_size(25_283_000_000), "23.55GiB");
    }

    #[test]
    fn durations_as_go_prints_them() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(850), "850ns");
        assert_eq!(go_duration(1_500), "1.5µs");
        assert_eq!(go_duration(63_251_743), "63.251743ms");
        assert_eq!(go_duration(2_000_000_000), "2s");
        assert_eq!(go_duration(123_500_000_000), "2m3.5s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
    }
}
