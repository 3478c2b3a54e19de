//! rpm's ordering: `[epoch:]version[-release]`, each part compared with
//! rpmvercmp (alternating digit and letter segments, `~` before anything,
//! `^` after the end but before anything else).

use std::cmp::Ordering;

use super::cmp_digit_strings;

pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    let (ea, va, ra) = split(a.trim());
    let (eb, vb, rb) = split(b.trim());
    cmp_digit_strings(ea.as_bytes(), eb.as_bytes())
        .then_with(|| rpmvercmp(va.as_bytes(), vb.as_bytes()))
        .then_with(|| rpmvercmp(ra.as_bytes(), rb.as_bytes()))
}

fn split(v: &str) -> (&str, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => (e, rest),
        _ => ("0", v),
    };
    match rest.rsplit_once('-') {
        Some((version, release)) => (epoch, version, release),
        None => (epoch, rest, ""),
    }
}

fn rpmvercmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let sep = |c: &u8| !c.is_ascii_alphanumeric() && *c != b'~' && *c != b'^';
    loop {
        while a.first().is_some_and(sep) {
            a = &a[1..];
        }
        while b.first().is_some_and(sep) {
            b = &b[1..];
        }
        let (fa, fb) = (a.first().copied(), b.first().copied());
        if fa == Some(b'~') || fb == Some(b'~') {
            if fa != Some(b'~') {
                return Ordering::Greater;
            }
            if fb != Some(b'~') {
                return Ordering::Less;
            }
            (a, b) = (&a[1..], &b[1..]);
            continue;
        }
        if fa == Some(b'^') || fb == Some(b'^') {
            if fa.is_none() {
                return Ordering::Less;
            }
            if fb.is_none() {
                return Ordering::Greater;
            }
            if fa != Some(b'^') {
                return Ordering::Greater;
            }
            if fb != Some(b'^') {
                return Ordering::Less;
            }
            (a, b) = (&a[1..], &b[1..]);
            continue;
        }
        let (Some(ca), Some(_)) = (fa, fb) else {
            break;
        };
        let numeric = ca.is_ascii_digit();
        let take = |s: &[u8]| -> usize {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (la, lb) = (take(a), take(b));
        if lb == 0 {
            // A digit segment is newer than a letter segment.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let ord = if numeric {
            cmp_digit_strings(&a[..la], &b[..lb])
        } else {
            a[..la].cmp(&b[..lb])
        };
        if ord != Ordering::Equal {
            return ord;
        }
        (a, b) = (&a[la..], &b[lb..]);
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}
