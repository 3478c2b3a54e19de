//! The validity dates of an X.509 certificate, read from its DER: what a
//! certificate trusted by its exact bytes (see `pinned_tls`) must still
//! satisfy, as Go's TLS checks a root's dates when it is the leaf too.
//! rustls parses certificates only inside webpki's chain check, which is
//! the check that refused this certificate, so the few DER fields up to
//! `validity` are walked here:
//!
//! ```text
//! Certificate ::= SEQUENCE { tbsCertificate SEQUENCE {
//!     [0] version OPTIONAL, serialNumber INTEGER, signature SEQUENCE,
//!     issuer SEQUENCE, validity SEQUENCE { notBefore Time, notAfter Time },
//!     ... }, ... }
//! Time ::= UTCTime (YYMMDDHHMMSSZ) | GeneralizedTime (YYYYMMDDHHMMSSZ)
//! ```

/// One DER element: its tag, its contents and what follows it.
fn element(der: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, rest) = der.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |l, b| (l << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some((tag, &rest[..len], &rest[len..]))
}

const SEQUENCE: u8 = 0x30;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// `(notBefore, notAfter)` of the certificate `der`, in seconds since the
/// Unix epoch; None when it cannot be read.
pub(crate) fn validity(der: &[u8]) -> Option<(i64, i64)> {
    let (SEQUENCE, cert, _) = element(der)? else {
        return None;
    };
    let (SEQUENCE, mut tbs, _) = element(cert)? else {
        return None;
    };
    if tbs.first() == Some(&VERSION) {
        tbs = element(tbs)?.2;
    }
    // serialNumber, signature, issuer.
    for _ in 0..3 {
        tbs = element(tbs)?.2;
    }
    let (SEQUENCE, validity, _) = element(tbs)? else {
        return None;
    };
    let (t1, before, rest) = element(validity)?;
    let (t2, after, _) = element(rest)?;
    Some((time(t1, before)?, time(t2, after)?))
}

/// A UTCTime or GeneralizedTime in UTC (`Z`) as Unix seconds.
fn time(tag: u8, text: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
    let (year, rest) = match tag {
        // RFC 5280: two-digit years 50..99 are 19xx, the rest 20xx.
        UTC_TIME => {
            let yy: i64 = text.get(..2)?.parse().ok()?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, text.get(2..)?)
        }
        GENERALIZED_TIME => (text.get(..4)?.parse().ok()?, text.get(4..)?),
        _ => return None,
    };
    if rest.len() != 10 || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let num = |i: usize| -> Option<i64> { rest.get(i..i + 2)?.parse().ok() };
    let (month, day) = (num(0)?, num(2)?);
    let (h, m, s) = (num(4)?, num(6)?, num(8)?);
    Some(days_from_civil(year, month, day) * 86400 + h * 3600 + m * 60 + s)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard
/// Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_in_both_encodings() {
        assert_eq!(time(UTC_TIME, b"700101000000Z"), Some(0));
        assert_eq!(time(UTC_TIME, b"491231235959Z"), Some(2524607999));
        assert_eq!(time(GENERALIZED_TIME, b"20000301000000Z"), Some(951868800));
        assert_eq!(time(UTC_TIME, b"7001010000Z"), None);
        assert_eq!(time(UTC_TIME, b"700101000000+0100"), None);
    }

    #[test]
    fn validity_of_a_certificate_s_fields() {
        // A certificate cut to the fields the walk reads, one day valid.
        let tbs_fields: Vec<u8> = [
            &[0xa0, 0x03, 0x02, 0x01, 0x02][..], // version 3
            &[0x02, 0x01, 0x01],                 // serial 1
            &[0x30, 0x03, 0x06, 0x01, 0x00],     // signature
            &[0x30, 0x00],                       // issuer
            &[0x30, 0x1e],                       // validity
            &[0x17, 0x0d],
            b"261207193000Z",
            &[0x17, 0x0d],
            b"261208193000Z",
        ]
        .concat();
        let tbs = [&[0x30, tbs_fields.len() as u8][..], &tbs_fields].concat();
        let cert = [&[0x30, tbs.len() as u8][..], &tbs].concat();
        let (nb, na) = validity(&cert).unwrap();
        assert_eq!(na - nb, 86400);
        assert_eq!(nb, time(UTC_TIME, b"261207193000Z").unwrap());
        assert_eq!(validity(&cert[..cert.len() - 3]), None);
    }
}
