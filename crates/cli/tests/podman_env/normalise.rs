//! Normalising the text both engines print, so that only what differs by
//! nature is left out of the comparison: IDs, times, durations, sizes and
//! the literals of each side (store paths, host port, fixture IDs).

/// Replace the side's own literals (store paths, host port, fixture IDs)
/// by placeholders, then every other 64- and 12-hex ID, RFC 3339 and Go
/// timestamps, human durations ("2 seconds", "Less than a second") and
/// human sizes ("2.13 MB", "12B"); with `versions`, version numbers. Runs
/// of blanks become two spaces (column widths follow the values), trailing
/// blanks and trailing empty lines go.
pub fn normalise(text: &str, literals: &[(String, String)], versions: bool) -> String {
    let mut s = text.to_string();
    for (lit, ph) in literals {
        s = replace_bounded(&s, lit, ph);
    }
    let s = scan(&s, versions);
    let mut lines: Vec<String> = s.lines().map(|l| collapse_blanks(l.trim_end())).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    lines.join("\n")
}

/// Replace `lit` where it stands alone: not inside a longer word or
/// number (a port number inside a PID, an ID prefix inside another word).
fn replace_bounded(s: &str, lit: &str, ph: &str) -> String {
    if lit.is_empty() {
        return s.to_string();
    }
    let b = s.as_bytes();
    let alnum = |i: usize| b.get(i).is_some_and(u8::is_ascii_alphanumeric);
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (at, _) in s.match_indices(lit) {
        if at < last {
            continue;
        }
        let starts = at == 0 || !alnum(at - 1) || !lit.as_bytes()[0].is_ascii_alphanumeric();
        if starts && !alnum(at + lit.len()) {
            out.push_str(&s[last..at]);
            out.push_str(ph);
            last = at + lit.len();
        }
    }
    out.push_str(&s[last..]);
    out
}

fn collapse_blanks(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut blanks = 0;
    for ch in line.chars() {
        if ch == ' ' || ch == '\t' {
            blanks += 1;
            continue;
        }
        match blanks {
            0 => {}
            1 => out.push(' '),
            _ => out.push_str("  "),
        }
        blanks = 0;
        out.push(ch);
    }
    out
}

fn scan(s: &str, versions: bool) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let boundary = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        if boundary {
            let rest = &s[i..];
            let found = [
                (match_time(rest), "<TIME>"),
                (match_duration(rest), "<DURATION>"),
                (match_size(rest), "<SIZE>"),
                (
                    if versions { match_version(rest) } else { None },
                    "<VERSION>",
                ),
            ]
            .into_iter()
            .find_map(|(m, ph)| m.map(|n| (n, ph)));
            if let Some((n, ph)) = found {
                out.push_str(ph);
                i += n;
                continue;
            }
            let hex = rest
                .bytes()
                .take_while(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
                .count();
            if hex > 0
                && !rest
                    .as_bytes()
                    .get(hex)
                    .is_some_and(u8::is_ascii_alphanumeric)
            {
                match hex {
                    64 => out.push_str("<ID64>"),
                    12 => out.push_str("<ID12>"),
                    _ => out.push_str(&rest[..hex]),
                }
                i += hex;
                continue;
            }
        }
        let ch = s[i..].chars().next().unwrap();
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn digits(s: &[u8], at: usize) -> usize {
    s[at.min(s.len())..]
        .iter()
        .take_while(|c| c.is_ascii_digit())
        .count()
}

/// Ends at a non-alphanumeric byte or the end.
fn ends_word(s: &[u8], at: usize) -> bool {
    !s.get(at).is_some_and(u8::is_ascii_alphanumeric)
}

/// `2026-01-02T03:04:05(.n)(Z|±hh:mm)` or Go's `2026-01-02 03:04:05(.n)
/// +0000 UTC`; the zone is optional.
fn match_time(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let fixed = |at: usize, pat: &[u8]| -> bool {
        pat.iter().enumerate().all(|(k, p)| {
            b.get(at + k).is_some_and(|c| match *p {
                b'd' => c.is_ascii_digit(),
                b'|' => *c == b'T' || *c == b' ',
                _ => c == p,
            })
        })
    };
    if !fixed(0, b"dddd-dd-dd|dd:dd:dd") {
        return None;
    }
    let mut i = 19;
    if b.get(i) == Some(&b'.') && digits(b, i + 1) > 0 {
        i += 1 + digits(b, i + 1);
    }
    if b.get(i) == Some(&b'Z') {
        i += 1;
    } else if fixed(i, b"+dd:dd") || fixed(i, b"-dd:dd") {
        i += 6;
    } else if fixed(i, b" +dddd ") || fixed(i, b" -dddd ") {
        let zone = b[i + 7..]
            .iter()
            .take_while(|c| c.is_ascii_uppercase())
            .count();
        i += 7 + zone;
    }
    ends_word(b, i).then_some(i)
}

/// go-units' HumanDuration: "Less than a second", "About a minute",
/// "About an hour", "N seconds|minutes|hours|days|weeks|months|years".
fn match_duration(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    for fixed in ["Less than a second", "About a minute", "About an hour"] {
        if s.starts_with(fixed) && ends_word(b, fixed.len()) {
            return Some(fixed.len());
        }
    }
    let n = digits(b, 0);
    if n == 0 || b.get(n) != Some(&b' ') {
        return None;
    }
    for unit in ["second", "minute", "hour", "day", "week", "month", "year"] {
        let at = n + 1;
        if s[at..].starts_with(unit) {
            let mut end = at + unit.len();
            if b.get(end) == Some(&b's') {
                end += 1;
            }
            if ends_word(b, end) {
                return Some(end);
            }
        }
    }
    None
}

/// "2.13 MB", "12B", "1.99MB", "4 KiB".
fn match_size(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = digits(b, 0);
    if i == 0 {
        return None;
    }
    if b.get(i) == Some(&b'.') && digits(b, i + 1) > 0 {
        i += 1 + digits(b, i + 1);
    }
    if b.get(i) == Some(&b' ') {
        i += 1;
    }
    for unit in [
        "KiB", "MiB", "GiB", "TiB", "kB", "KB", "MB", "GB", "TB", "B",
    ] {
        if s[i..].starts_with(unit) && ends_word(b, i + unit.len()) {
            return Some(i + unit.len());
        }
    }
    None
}

/// "4.3.1", "0.1.0-dev".
fn match_version(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = digits(b, 0);
    let mut parts = 1;
    while i > 0 && b.get(i) == Some(&b'.') && digits(b, i + 1) > 0 {
        i += 1 + digits(b, i + 1);
        parts += 1;
    }
    if parts < 2 {
        return None;
    }
    if b.get(i) == Some(&b'-') {
        i += 1 + b[i + 1..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'.')
            .count();
    }
    Some(i)
}

#[test]
fn normalising_keeps_only_what_differs_by_nature_out() {
    let lits = vec![("/tmp/x/root".to_string(), "<ROOT>".to_string())];
    let cases = [
        (
            "8360e2bafb5d  localhost/busybox  11 months ago   2.13 MB  ",
            "<ID12>  localhost/busybox  <DURATION> ago  <SIZE>",
        ),
        (
            "Up Less than a second ago\nExited (3) 2 seconds ago\n\n",
            "Up <DURATION> ago\nExited (3) <DURATION> ago",
        ),
        (
            "sha256:c1e3e1aa7cf5739b1ef916a9c540f24ea5feffcb1c19b8b7ded7122007987be3",
            "sha256:<ID64>",
        ),
        (
            "2026-12-03T23:23:21.017389452Z 2026-01-01T00:00:00+01:00",
            "<TIME> <TIME>",
        ),
        (
            "2026-12-03 23:23:20.910749669 +0000 UTC|3 minutes ago",
            "<TIME>|<DURATION> ago",
        ),
        ("12B (virtual 1.99MB)", "<SIZE> (virtual <SIZE>)"),
        ("/tmp/x/root/volumes/v1/_data", "<ROOT>/volumes/v1/_data"),
        // Not IDs, durations or sizes.
        ("c1 exited 3", "c1 exited 3"),
        ("abc123 12345 3 Bytes", "abc123 12345 3 Bytes"),
    ];
    for (input, want) in cases {
        assert_eq!(normalise(input, &lits, false), want, "{input:?}");
    }
    let port = vec![("4123".to_string(), "<HOSTPORT>".to_string())];
    assert_eq!(
        normalise("1796341234 127.0.0.1:4123->80/tcp", &port, false),
        "1796341234 127.0.0.1:<HOSTPORT>->80/tcp"
    );
    assert_eq!(normalise("4.3.1", &[], true), "<VERSION>");
    assert_eq!(normalise("0.1.0-dev linux", &[], true), "<VERSION> linux");
    assert_eq!(normalise("4.3.1", &[], false), "4.3.1");
}
