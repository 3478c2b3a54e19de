//! Signal names and numbers as `kill` takes them: `TERM`, `SIGTERM`, `15`,
//! and the real-time ones, `RTMIN+3`, `SIGRTMAX-1` or `37` (systemd's stop
//! signal, which engines pass by number).

use anyhow::{bail, Result};
use nix::sys::signal::Signal;
use std::str::FromStr;

/// Parse a signal the way runc does; returns its number.
pub fn parse(text: &str) -> Result<i32> {
    let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
    if let Ok(n) = text.parse::<i32>() {
        // Any signal the kernel has, as runc takes any number.
        if (1..=max).contains(&n) {
            return Ok(n);
        }
        bail!("unknown signal number {n}");
    }
    let upper = text.to_ascii_uppercase();
    let name = upper.strip_prefix("SIG").unwrap_or(&upper);
    if let Some(n) = realtime(name, min, max) {
        return Ok(n);
    }
    match Signal::from_str(&format!("SIG{name}")) {
        Ok(s) => Ok(s as i32),
        Err(_) => bail!("unknown signal {text:?}"),
    }
}

/// `RTMIN`, `RTMIN+n`, `RTMAX`, `RTMAX-n`, within the real-time range.
fn realtime(name: &str, min: i32, max: i32) -> Option<i32> {
    let offset = |rest: &str, sign: char| -> Option<i32> {
        match rest.strip_prefix(sign) {
            None if rest.is_empty() => Some(0),
            Some(n) => n.parse::<i32>().ok(),
            None => None,
        }
    };
    let n = if let Some(rest) = name.strip_prefix("RTMIN") {
        min + offset(rest, '+')?
    } else if let Some(rest) = name.strip_prefix("RTMAX") {
        max - offset(rest, '-')?
    } else {
        return None;
    };
    (min..=max).contains(&n).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_numbers() {
        assert_eq!(parse("KILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse("SIGKILL").unwrap(), libc::SIGKILL);
        assert_eq!(parse("sigterm").unwrap(), libc::SIGTERM);
        assert_eq!(parse("9").unwrap(), libc::SIGKILL);
        assert!(parse("NOPE").is_err());
        assert!(parse("999").is_err());
        assert!(parse("0").is_err());
    }

    #[test]
    fn real_time_signals() {
        let (min, max) = (libc::SIGRTMIN(), libc::SIGRTMAX());
        assert_eq!(parse("RTMIN+3").unwrap(), min + 3);
        assert_eq!(parse("SIGRTMIN+3").unwrap(), min + 3);
        assert_eq!(parse("rtmax-1").unwrap(), max - 1);
        assert_eq!(parse("RTMIN").unwrap(), min);
        assert_eq!(parse(&(min + 3).to_string()).unwrap(), min + 3);
        assert!(parse("RTMIN+99").is_err());
        assert!(parse("RTMINX").is_err());
    }
}
