//! Health checks: `--health-cmd` and its companions kept with the
//! container (in inspect's `Config.Healthcheck` shape), the results kept
//! in the run's record as `health.json` (inspect's `State.Health`), and
//! `healthcheck run`, which runs the check once through exec — what podman
//! does when no systemd timer drives it, as on this machine.

use crate::clock::now_rfc3339;
use crate::engine::Engine;
use crate::error::{IoContext, Result};
use crate::exec_process::ExecOptions;
use crate::life_options::LifeOptionError;
use crate::meta::Meta;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The check, as podman's inspect shows it (durations in nanoseconds,
/// zero ones left out).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Healthcheck {
    /// `["CMD", arg…]`, `["CMD-SHELL", command]` or `["NONE"]`.
    pub test: Vec<String>,
    /// Between checks (0: no timer).
    #[serde(skip_serializing_if = "is_zero")]
    pub interval: i64,
    /// Most a check may take.
    #[serde(skip_serializing_if = "is_zero")]
    pub timeout: i64,
    /// Failures in this time after the start do not count (podman's).
    #[serde(skip_serializing_if = "is_zero")]
    pub start_period: i64,
    /// Failures in a row that make the container unhealthy.
    #[serde(skip_serializing_if = "is_zero_u32")]
    pub retries: u32,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// The `--health-*` flags as given (durations in Go's syntax).
#[derive(Debug, Clone)]
pub struct HealthFlags<'a> {
    /// `--health-cmd`: a shell command, or a JSON array (`CMD` form).
    pub cmd: Option<&'a str>,
    /// `--health-interval` (`disable`: none).
    pub interval: &'a str,
    /// `--health-timeout`.
    pub timeout: &'a str,
    /// `--health-start-period`.
    pub start_period: &'a str,
    /// `--health-retries`.
    pub retries: i64,
    /// `--no-healthcheck`.
    pub none: bool,
}

/// Parse a Go duration (`1m30s`, `500ms`, `0`); nanoseconds.
pub fn parse_go_duration(s: &str) -> Option<i64> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
        rest = &rest[unit_end..];
    }
    let total = if neg { -total } else { total };
    Some(total as i64)
}

impl Healthcheck {
    /// The check the flags ask for (None: no `--health-cmd`), with
    /// podman 4.3's checks and words.
    pub fn from_flags(
        f: &HealthFlags<'_>,
    ) -> std::result::Result<Option<Healthcheck>, LifeOptionError> {
        if f.none {
            return Ok(Some(Healthcheck {
                test: vec!["NONE".into()],
                ..Default::default()
            }));
        }
        let Some(cmd) = f.cmd.filter(|c| !c.trim().is_empty()) else {
            return Ok(None);
        };
        let test = if cmd.trim_start().starts_with('[') {
            let mut v: Vec<String> = serde_json::from_str(cmd)
                .map_err(|e| LifeOptionError::HealthCmd(cmd.into(), e.to_string()))?;
            if !matches!(
                v.first().map(String::as_str),
                Some("CMD" | "CMD-SHELL" | "NONE")
            ) {
                v.insert(0, "CMD".into());
            }
            v
        } else {
            vec!["CMD-SHELL".into(), cmd.into()]
        };
        let duration = |what: &'static str, v: &str| {
            parse_go_duration(v).ok_or(LifeOptionError::HealthDuration {
                what,
                value: v.into(),
            })
        };
        let interval = match f.interval {
            "disable" => 0,
            v => duration("interval", v)?,
        };
        if f.retries < 1 {
            return Err(LifeOptionError::HealthRetries);
        }
        let timeout = duration("timeout", f.timeout)?;
        if timeout < 1_000_000_000 {
            return Err(LifeOptionError::HealthTimeout);
        }
        let start_period = duration("start-period", f.start_period)?;
        if start_period < 0 {
            return Err(LifeOptionError::HealthStartPeriod);
        }
        Ok(Some(Healthcheck {
            test,
            interval,
            timeout,
            start_period,
            retries: u32::try_from(f.retries).unwrap_or(u32::MAX),
        }))
    }

    /// Whether there is a check to run (not none, not `NONE`).
    pub(crate) fn defined(&self) -> bool {
        !matches!(self.test.first().map(String::as_str), None | Some("NONE"))
    }

    /// The argv the check runs in the container.
    fn argv(&self) -> Vec<String> {
        match self.test.first().map(String::as_str) {
            Some("CMD") => self.test[1..].to_vec(),
            Some("CMD-SHELL") => vec!["/bin/sh".into(), "-c".into(), self.test[1..].join(" ")],
            _ => self.test.clone(),
        }
    }
}

/// One check's result, as in inspect's `State.Health.Log`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthLogEntry {
    /// RFC 3339 start.
    pub start: String,
    /// RFC 3339 end.
    pub end: String,
    /// The check's exit code.
    pub exit_code: i32,
    /// What it printed (both streams).
    pub output: String,
}

/// inspect's `State.Health`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthState {
    /// `starting`, `healthy` or `unhealthy`.
    pub status: String,
    /// Failed checks in a row.
    pub failing_streak: u32,
    /// The last checks (podman keeps 5).
    pub log: Option<Vec<HealthLogEntry>>,
}

impl Default for HealthState {
    fn default() -> Self {
        HealthState {
            status: "starting".into(),
            failing_streak: 0,
            log: None,
        }
    }
}

/// How many results `health.json` keeps, as podman.
const KEPT: usize = 5;
/// At most this much of a check's output is kept, as podman.
const MAX_OUTPUT: usize = 4096;

impl Engine {
    /// The health of container `id` whose options are `meta`: None when
    /// it has no check.
    pub fn health(&self, id: &str, meta: &Meta) -> Option<HealthState> {
        if !meta
            .options
            .life
            .healthcheck
            .as_ref()
            .is_some_and(Healthcheck::defined)
        {
            return None;
        }
        let path = self.record(id).path().join("health.json");
        let kept = std::fs::read(path).ok();
        Some(
            kept.and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default(),
        )
    }

    /// Run the check of running container `key` once and record the
    /// result; whether it passed.
    pub fn healthcheck_run(&self, key: &str) -> Result<bool> {
        let c = self.container(key)?;
        let life = Meta::of(&c)?.options.life;
        let check = life
            .healthcheck
            .filter(Healthcheck::defined)
            .ok_or(LifeOptionError::NoHealthcheck)?;
        let record = self.record(&c.id);
        let start = now_rfc3339();
        let opts = ExecOptions {
            command: check.argv(),
            ..Default::default()
        };
        // `--health-timeout`: a check still running then is killed and
        // fails, as podman's does.
        let timeout = (check.timeout > 0).then(|| Duration::from_nanos(check.timeout as u64));
        let ran = self.exec_output(&c.id, &opts, timeout);
        let end = now_rfc3339();
        let (exit_code, output) = match ran {
            Ok(o) if o.timed_out => (
                1,
                format!(
                    "healthcheck command exceeded timeout of {}s",
                    check.timeout / 1_000_000_000
                )
                .into_bytes(),
            ),
            Ok(o) => (o.exit_code, [o.stdout, o.stderr].concat()),
            // A check that can't run at all (no such command) failed.
            Err(
                crate::error::Error::CommandNotFound(_) | crate::error::Error::NotExecutable { .. },
            ) => (127, Vec::new()),
            Err(e) => return Err(e),
        };
        let mut output = String::from_utf8_lossy(&output).into_owned();
        if output.len() > MAX_OUTPUT {
            let mut cut = MAX_OUTPUT;
            while !output.is_char_boundary(cut) {
                cut -= 1;
            }
            output.truncate(cut);
        }
        let lock = record.lock()?;
        let path = record.path().join("health.json");
        let mut health: HealthState = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        let passed = exit_code == 0;
        if passed {
            health.failing_streak = 0;
            health.status = "healthy".into();
        } else if in_start_period(&record, check.start_period) {
            // podman: a failure while the container starts up doesn't count.
        } else {
            health.failing_streak += 1;
            if health.failing_streak >= check.retries.max(1) {
                health.status = "unhealthy".into();
            }
        }
        let log = health.log.get_or_insert_with(Vec::new);
        log.push(HealthLogEntry {
            start,
            end,
            exit_code,
            output,
        });
        if log.len() > KEPT {
            log.drain(..log.len() - KEPT);
        }
        let bytes = serde_json::to_vec(&health).map_err(|source| crate::error::Error::Record {
            path: path.clone(),
            source,
        })?;
        std::fs::write(&path, bytes).ctx("write", &path)?;
        drop(lock);
        if !passed && health.status == "unhealthy" {
            self.on_unhealthy(&c.id, life.health_on_failure)?;
        }
        Ok(passed)
    }
}

/// Whether the container's process started less than `period` ns ago.
fn in_start_period(record: &crate::records::RecordDir, period: i64) -> bool {
    if period <= 0 {
        return false;
    }
    let Some(process) = record.load().ok().and_then(|s| s.process) else {
        return false;
    };
    // Its start in clock ticks after boot (field 22 of its stat), against
    // the time since boot now.
    let uptime = std::fs::read_to_string("/proc/uptime").ok();
    let Some(up) = uptime.and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok()) else {
        return false;
    };
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let ran = up - process.start as f64 / ticks;
    ran * 1e9 < period as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(cmd: &str) -> HealthFlags<'_> {
        HealthFlags {
            cmd: Some(cmd),
            interval: "30s",
            timeout: "30s",
            start_period: "0s",
            retries: 3,
            none: false,
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_go_duration("30s"), Some(30_000_000_000));
        assert_eq!(parse_go_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_go_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_go_duration("0"), Some(0));
        for bad in ["bogus", "", "10", "5x"] {
            assert_eq!(parse_go_duration(bad), None, "{bad}");
        }
    }

    #[test]
    fn checks_as_podman_keeps_them() {
        let h = Healthcheck::from_flags(&flags("test -e /x"))
            .unwrap()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"Test":["CMD-SHELL","test -e /x"],"Interval":30000000000,"Timeout":30000000000,"Retries":3}"#
        );
        let mut f = flags(r#"["test","-e","/x"]"#);
        f.interval = "disable";
        let h = Healthcheck::from_flags(&f).unwrap().unwrap();
        assert_eq!(
            serde_json::to_string(&h).unwrap(),
            r#"{"Test":["CMD","test","-e","/x"],"Timeout":30000000000,"Retries":3}"#
        );
        f.none = true;
        let h = Healthcheck::from_flags(&f).unwrap().unwrap();
        assert_eq!(serde_json::to_string(&h).unwrap(), r#"{"Test":["NONE"]}"#);
        let mut f = flags("true");
        f.interval = "bogus";
        assert_eq!(
            Healthcheck::from_flags(&f).unwrap_err().to_string(),
            "invalid healthcheck-interval: time: invalid duration \"bogus\""
        );
        let mut f = flags("true");
        f.retries = 0;
        assert_eq!(
            Healthcheck::from_flags(&f).unwrap_err().to_string(),
            "healthcheck-retries must be greater than 0"
        );
        let mut f = flags("true");
        f.timeout = "0s";
        assert_eq!(
            Healthcheck::from_flags(&f).unwrap_err().to_string(),
            "healthcheck-timeout must be at least 1 second"
        );
    }
}
