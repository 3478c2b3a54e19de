//! Version orderings, one per ecosystem, exact to each package manager's
//! own rules: the OSV matcher and the package diff decide "older" and
//! "newer" with them.
//!
//! Every ordering is total: a version its ecosystem cannot parse still
//! sorts (by a plain digit-aware comparison) rather than failing a scan.

mod alpine;
mod debian;
mod maven;
mod pep440;
mod rpm;
mod semantic;

use std::cmp::Ordering;

use crate::model::Ecosystem;

pub use pep440::Pep440Version;

/// Orders `a` and `b` as `eco`'s package manager does.
pub fn compare(eco: Ecosystem, a: &str, b: &str) -> Ordering {
    match eco {
        Ecosystem::Debian => debian::compare(a, b),
        Ecosystem::Alpine => alpine::compare(a, b),
        Ecosystem::Rpm => rpm::compare(a, b),
        Ecosystem::PyPI => pep440::compare(a, b),
        Ecosystem::Npm | Ecosystem::CratesIo => semantic::compare_semver(a, b),
        Ecosystem::Go => semantic::compare_go(a, b),
        Ecosystem::Maven => maven::compare(a, b),
    }
}

/// Digit runs compared as numbers, everything else byte by byte: the
/// fallback for versions an ecosystem's grammar rejects.
pub(crate) fn natural(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let (na, ra) = split_digits(a);
                let (nb, rb) = split_digits(b);
                let ord = cmp_digit_strings(na, nb);
                if ord != Ordering::Equal {
                    return ord;
                }
                (a, b) = (ra, rb);
            }
            (Some(x), Some(y)) => {
                if x != y {
                    return x.cmp(y);
                }
                (a, b) = (&a[1..], &b[1..]);
            }
        }
    }
}

/// The leading ASCII digits of `s` and the rest.
pub(crate) fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|c| c.is_ascii_digit()).count();
    s.split_at(n)
}

/// Two digit strings compared as numbers of any length.
pub(crate) fn cmp_digit_strings(a: &[u8], b: &[u8]) -> Ordering {
    let strip = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
    let (a, b) = (&a[strip(a)..], &b[strip(b)..]);
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}
