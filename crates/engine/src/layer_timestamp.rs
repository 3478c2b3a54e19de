//! A layer tar with every header's mtime set to one time: `--timestamp`
//! and `SOURCE_DATE_EPOCH` builds give bit-identical layers. The stream is
//! rewritten header by header (the 512-byte blocks, PAX and GNU long-name
//! headers included), its data left as is, so nothing but the times can
//! change.

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom, Write};

const BLOCK: usize = 512;

/// A copy of the tar `input` (a spool at its start) with every header's
/// mtime `ts` (negative: 0), as a new spool at its start.
pub(crate) fn with_mtime(input: std::fs::File, ts: i64) -> Result<std::fs::File> {
    let mut out = crate::commit::spool()?;
    let mut reader = std::io::BufReader::new(input);
    let mut writer = std::io::BufWriter::new(&mut out);
    rewrite(&mut reader, &mut writer, ts.max(0) as u64)?;
    writer
        .flush()
        .map_err(crate::commit::io("write layer spool"))?;
    drop(writer);
    out.seek(SeekFrom::Start(0))
        .map_err(crate::commit::io("rewind layer spool"))?;
    Ok(out)
}

fn rewrite(input: &mut impl Read, out: &mut impl Write, ts: u64) -> Result<()> {
    let rerr = crate::commit::io("read layer spool");
    let mut block = [0u8; BLOCK];
    loop {
        if !read_block(input, &mut block)? {
            return Ok(());
        }
        if block.iter().all(|b| *b == 0) {
            // End of archive (two zero blocks) and any padding after it.
            out.write_all(&block)
                .map_err(crate::commit::io("write layer spool"))?;
            std::io::copy(input, out).map_err(rerr)?;
            return Ok(());
        }
        let size = parse_size(&block[124..136]).ok_or_else(|| bad("a header's size"))?;
        set_mtime(&mut block, ts);
        out.write_all(&block)
            .map_err(crate::commit::io("write layer spool"))?;
        let data = size.div_ceil(BLOCK as u64) * BLOCK as u64;
        let copied = std::io::copy(&mut input.by_ref().take(data), out)
            .map_err(crate::commit::io("copy layer data"))?;
        if copied != data {
            return Err(bad("an entry's data is cut short"));
        }
    }
}

/// Fill `block`; false at a clean end of input.
fn read_block(input: &mut impl Read, block: &mut [u8; BLOCK]) -> Result<bool> {
    let mut got = 0;
    while got < BLOCK {
        match input.read(&mut block[got..]) {
            Ok(0) if got == 0 => return Ok(false),
            Ok(0) => return Err(bad("a header is cut short")),
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(crate::commit::io("read layer spool")(e)),
        }
    }
    Ok(true)
}

/// A header number field: octal text, or base-256 with the high bit set.
fn parse_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut n: u64 = u64::from(field[0] & 0x7f);
        for b in &field[1..] {
            n = n.checked_mul(256)?.checked_add(u64::from(*b))?;
        }
        return Some(n);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// Write `ts` into the mtime field (11 octal digits and NUL) and fix the
/// header's checksum.
fn set_mtime(block: &mut [u8; BLOCK], ts: u64) {
    let text = format!("{:011o}\0", ts.min(0o77777777777));
    block[136..148].copy_from_slice(text.as_bytes());
    block[148..156].fill(b' ');
    let sum: u64 = block.iter().map(|b| u64::from(*b)).sum();
    let text = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(text.as_bytes());
}

fn bad(what: &str) -> Error {
    Error::InvalidOption {
        option: "layer tar",
        value: what.into(),
        reason: "not a well-formed tar stream".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mtime_becomes_the_timestamp_and_the_rest_stays() {
        let mut b = tar::Builder::new(Vec::new());
        for (i, name) in ["a", &"long/".repeat(40), "c"].iter().enumerate() {
            let mut h = tar::Header::new_gnu();
            h.set_mode(0o644);
            h.set_mtime(1000 + i as u64);
            h.set_size(3);
            b.append_data(&mut h, format!("{name}x"), &b"abc"[..])
                .unwrap();
        }
        let input = b.into_inner().unwrap();
        let mut out = Vec::new();
        rewrite(&mut &input[..], &mut out, 42).unwrap();
        assert_eq!(out.len(), input.len());
        let mut archive = tar::Archive::new(&out[..]);
        let mut n = 0;
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            assert_eq!(e.header().mtime().unwrap(), 42);
            let mut data = String::new();
            e.read_to_string(&mut data).unwrap();
            assert_eq!(data, "abc");
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
