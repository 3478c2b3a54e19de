//! apk's ordering (apk-tools, after Gentoo's):
//! `N(.N)*[letter](_suffix[N])*[-rN]`, where the suffixes `_alpha`,
//! `_beta`, `_pre`, `_rc` sort before the bare version and `_cvs`, `_svn`,
//! `_git`, `_hg`, `_p` after it. Number components after the first that
//! start with `0` compare as decimal fractions (`1.01` < `1.1`).

use std::cmp::Ordering;

use super::cmp_digit_strings;

struct Parsed<'a> {
    numbers: Vec<&'a str>,
    letter: Option<u8>,
    /// (rank, number) per suffix.
    suffixes: Vec<(i8, &'a str)>,
    revision: &'a str,
}

pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    match (parse(a.trim()), parse(b.trim())) {
        (Some(pa), Some(pb)) => cmp_parsed(&pa, &pb),
        // apk sorts an invalid version below any valid one.
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => super::natural(a, b),
    }
}

/// Rank of a suffix against the bare version (0).
fn suffix_rank(s: &str) -> Option<i8> {
    Some(match s {
        "alpha" => -4,
        "beta" => -3,
        "pre" => -2,
        "rc" => -1,
        "cvs" => 1,
        "svn" => 2,
        "git" => 3,
        "hg" => 4,
        "p" => 5,
        _ => return None,
    })
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let (main, revision) = match v.rsplit_once("-r") {
        Some((m, r)) if !r.is_empty() && r.bytes().all(|c| c.is_ascii_digit()) => (m, r),
        _ => (v, "0"),
    };
    let mut parts = main.split('_');
    let head = parts.next()?;
    let (nums, letter) = match head.as_bytes().last() {
        Some(c) if c.is_ascii_lowercase() => (&head[..head.len() - 1], Some(*c)),
        _ => (head, None),
    };
    let numbers: Vec<&str> = nums.split('.').collect();
    if numbers
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let mut suffixes = Vec::new();
    for s in parts {
        let split = s.find(|c: char| c.is_ascii_digit()).unwrap_or(s.len());
        let (name, num) = s.split_at(split);
        if !num.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        suffixes.push((suffix_rank(name)?, num));
    }
    Some(Parsed {
        numbers,
        letter,
        suffixes,
        revision,
    })
}

fn cmp_parsed(a: &Parsed<'_>, b: &Parsed<'_>) -> Ordering {
    for (i, (x, y)) in a.numbers.iter().zip(&b.numbers).enumerate() {
        let ord = if i > 0 && (x.starts_with('0') || y.starts_with('0')) {
            x.trim_end_matches('0').cmp(y.trim_end_matches('0'))
        } else {
            cmp_digit_strings(x.as_bytes(), y.as_bytes())
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    let ord = a.numbers.len().cmp(&b.numbers.len());
    if ord != Ordering::Equal {
        return ord;
    }
    let ord = a.letter.cmp(&b.letter);
    if ord != Ordering::Equal {
        return ord;
    }
    let n = a.suffixes.len().max(b.suffixes.len());
    for i in 0..n {
        // A missing suffix is the bare version: rank 0.
        let (ra, na) = a.suffixes.get(i).copied().unwrap_or((0, ""));
        let (rb, nb) = b.suffixes.get(i).copied().unwrap_or((0, ""));
        let ord = ra
            .cmp(&rb)
            .then_with(|| cmp_digit_strings(na.as_bytes(), nb.as_bytes()));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    cmp_digit_strings(a.revision.as_bytes(), b.revision.as_bytes())
}
