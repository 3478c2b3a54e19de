//! SBOMs of an [`Inventory`]: SPDX 2.3 JSON and CycloneDX 1.5 JSON.
//!
//! Output is deterministic: packages sorted by purl then location, ids
//! derived from content (never from counters or clocks), and the creation
//! time taken from the image's `created` (the Unix epoch when unknown), so
//! the same image always gives the same bytes.

mod cyclonedx;
mod licenses;
mod purl;
mod spdx;

use sha2::{Digest, Sha256};

pub use cyclonedx::cyclonedx_json;
pub use purl::{image_purl, purl};
pub use spdx::spdx_json;

use crate::model::{Inventory, Package};

/// A package with its purl and stable id, in output order.
pub(crate) struct Entry<'a> {
    pub pkg: &'a Package,
    pub purl: String,
    /// `[A-Za-z0-9.-]+`, usable as both an SPDXID suffix and a bom-ref.
    pub id: String,
}

/// The packages of `inv` in output order, with duplicates (same purl at
/// the same location) dropped.
pub(crate) fn entries(inv: &Inventory) -> Vec<Entry<'_>> {
    let mut out: Vec<Entry<'_>> = inv
        .packages
        .iter()
        .map(|pkg| {
            let purl = purl(pkg, inv.os.as_ref());
            let hash = hex(&Sha256::digest(format!("{purl}\0{}", pkg.location)));
            let id = format!("Package-{}-{}", sanitize(&pkg.name), &hash[..16]);
            Entry { pkg, purl, id }
        })
        .collect();
    out.sort_by(|a, b| {
        a.purl
            .cmp(&b.purl)
            .then_with(|| a.pkg.location.cmp(&b.pkg.location))
    });
    out.dedup_by(|a, b| a.id == b.id);
    out
}

/// The image's name and digest (manifest digest when known, else the image id).
pub(crate) fn root(inv: &Inventory) -> (String, String) {
    match &inv.image {
        Some(img) => (
            img.reference.clone(),
            img.manifest_digest
                .clone()
                .unwrap_or_else(|| img.id.clone()),
        ),
        None => ("unknown".to_string(), String::new()),
    }
}

/// The creation time both formats record: the image's, else the epoch.
pub(crate) fn timestamp(inv: &Inventory) -> String {
    inv.image
        .as_ref()
        .and_then(|i| i.created.as_deref())
        .filter(|c| looks_like_rfc3339(c))
        .map(|c| {
            // Both schemas want seconds precision in UTC; drop fractions.
            match c.split_once('.') {
                Some((secs, rest)) if rest.ends_with('Z') => format!("{secs}Z"),
                _ => c.to_string(),
            }
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00Z".to_string())
}

fn looks_like_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 20
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && b[13] == b':'
        && s.ends_with('Z')
}

/// A stable RFC 9562 version-8 UUID from the document's content.
pub(crate) fn content_uuid(inv: &Inventory, entries: &[Entry<'_>]) -> String {
    let mut h = Sha256::new();
    h.update(root(inv).1.as_bytes());
    for e in entries {
        h.update(b"\0");
        h.update(e.id.as_bytes());
    }
    let mut b: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex(&b);
    format!(
        "{}-{}-{}-{}-{}",
        &x[0..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// `[A-Za-z0-9.-]` only, other characters as `-`.
pub(crate) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The hex of a `sha256:` digest, when it is one.
pub(crate) fn sha256_hex(digest: &str) -> Option<&str> {
    digest
        .strip_prefix("sha256:")
        .filter(|h| h.len() == 64 && h.bytes().all(|c| c.is_ascii_hexdigit()))
}
