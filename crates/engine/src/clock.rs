//! Times as the records and logs write them.

/// Now as RFC 3339 UTC with nanoseconds (`2026-01-01T00:00:00.000000000Z`),
/// the form podman's inspect and the CRI log format use.
pub fn now_rfc3339() -> String {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    civil(d.as_secs(), d.subsec_nanos())
}

/// `secs` since the epoch as RFC 3339 UTC without fractions
/// (`1970-01-01T00:00:00Z`), as buildah writes a `--timestamp`; a time
/// before the epoch is the epoch.
pub fn rfc3339_of(secs: i64) -> String {
    let t = civil(secs.max(0) as u64, 0);
    format!("{}Z", &t[..19])
}

fn civil(secs: u64, nanos: u32) -> String {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:09}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        nanos
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn format() {
        let t = super::now_rfc3339();
        assert_eq!(t.len(), 30, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
        assert_eq!(super::rfc3339_of(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::rfc3339_of(1_700_000_000), "2023-11-14T22:13:20Z");
    }
}
