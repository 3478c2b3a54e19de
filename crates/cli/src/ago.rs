//! Ages as podman's `ps` prints them ("3 seconds ago", "About an hour
//! ago"), the wording of the go-units HumanDuration that podman uses.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The age of an RFC 3339 time, as podman words it; "" if unreadable.
pub fn since_rfc3339(time: Option<&str>) -> String {
    time.and_then(|t| humantime::parse_rfc3339(t).ok())
        .map(|t| ago(SystemTime::now().duration_since(t).unwrap_or_default()))
        .unwrap_or_default()
}

/// The age of a time in seconds since the epoch.
pub fn since_epoch(secs: u64) -> String {
    let then = UNIX_EPOCH + Duration::from_secs(secs);
    ago(SystemTime::now().duration_since(then).unwrap_or_default())
}

fn ago(d: Duration) -> String {
    format!("{} ago", human(d))
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    let minutes = secs / 60;
    // Hours round to the nearest, as go-units does.
    let hours = (d.as_secs_f64() / 3600.0 + 0.5) as u64;
    match () {
        _ if secs < 1 => "Less than a second".into(),
        _ if secs == 1 => "1 second".into(),
        _ if secs < 60 => format!("{secs} seconds"),
        _ if minutes == 1 => "About a minute".into(),
        _ if minutes < 60 => format!("{minutes} minutes"),
        _ if hours == 1 => "About an hour".into(),
        _ if hours < 48 => format!("{hours} hours"),
        _ if hours < 24 * 7 * 2 => format!("{} days", hours / 24),
        _ if hours < 24 * 30 * 2 => format!("{} weeks", hours / 24 / 7),
        _ if hours < 24 * 365 * 2 => format!("{} months", hours / 24 / 30),
        _ => format!("{} years", hours / 24 / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::human;
    use std::time::Duration;

    #[test]
    fn words_like_podman() {
        let h = |s| human(Duration::from_secs(s));
        assert_eq!(human(Duration::from_millis(300)), "Less than a second");
        assert_eq!(h(1), "1 second");
        assert_eq!(h(42), "42 seconds");
        assert_eq!(h(90), "About a minute");
        assert_eq!(h(600), "10 minutes");
        assert_eq!(h(3600 + 1200), "About an hour");
        assert_eq!(h(5 * 3600), "5 hours");
        assert_eq!(h(3 * 86400), "3 days");
        assert_eq!(h(20 * 86400), "2 weeks");
        assert_eq!(h(90 * 86400), "3 months");
        assert_eq!(h(800 * 86400), "2 years");
    }
}
