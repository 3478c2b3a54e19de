//! An rpm header blob as rpmdb stores it (rpm's `lib/header.c`,
//! `headerImport`): big-endian `il` (index entries) and `dl` (data bytes),
//! then `il` entries of `tag, type, offset, count`, then the data. Only
//! the tags an inventory needs are read; every offset is bounds-checked.

use std::collections::HashMap;

/// Tags (rpm's `rpmtag.h`).
pub const NAME: u32 = 1000;
pub const VERSION: u32 = 1001;
pub const RELEASE: u32 = 1002;
pub const EPOCH: u32 = 1003;
pub const LICENSE: u32 = 1014;
pub const ARCH: u32 = 1022;
pub const OLDFILENAMES: u32 = 1027;
pub const SOURCERPM: u32 = 1044;
pub const DIRINDEXES: u32 = 1116;
pub const BASENAMES: u32 = 1117;
pub const DIRNAMES: u32 = 1118;

// Types (rpm's `rpmTagType`).
const INT32: u32 = 4;
const STRING: u32 = 6;
const STRING_ARRAY: u32 = 8;
const I18NSTRING: u32 = 9;

/// More entries than any real header has: refuse before allocating.
const MAX_ENTRIES: usize = 1 << 16;

/// A value the inventory reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Ints(Vec<u32>),
    Strings(Vec<String>),
}

/// The wanted tags of one header.
#[derive(Debug, Default)]
pub struct Header {
    values: HashMap<u32, Value>,
}

impl Header {
    /// The first string of `tag`.
    pub fn string(&self, tag: u32) -> Option<&str> {
        match self.values.get(&tag)? {
            Value::Strings(s) => s.first().map(String::as_str),
            Value::Ints(_) => None,
        }
    }

    /// All strings of `tag` (empty when absent).
    pub fn strings(&self, tag: u32) -> &[String] {
        match self.values.get(&tag) {
            Some(Value::Strings(s)) => s,
            _ => &[],
        }
    }

    /// All integers of `tag` (empty when absent).
    pub fn ints(&self, tag: u32) -> &[u32] {
        match self.values.get(&tag) {
            Some(Value::Ints(v)) => v,
            _ => &[],
        }
    }

    /// The files: `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`, or the old
    /// `OLDFILENAMES` list.
    pub fn files(&self) -> Vec<String> {
        let (dirs, idx, base) = (
            self.strings(DIRNAMES),
            self.ints(DIRINDEXES),
            self.strings(BASENAMES),
        );
        if base.is_empty() {
            return self.strings(OLDFILENAMES).to_vec();
        }
        base.iter()
            .zip(idx)
            .filter_map(|(b, &i)| dirs.get(i as usize).map(|d| format!("{d}{b}")))
            .collect()
    }
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parse `blob`, keeping `wanted` tags; the error says what is wrong.
pub fn parse(blob: &[u8], wanted: &[u32]) -> Result<Header, String> {
    let il = be32(blob, 0).ok_or("header shorter than 8 bytes")? as usize;
    let dl = be32(blob, 4).ok_or("header shorter than 8 bytes")? as usize;
    if il > MAX_ENTRIES {
        return Err(format!("header claims {il} index entries"));
    }
    let data_start = 8 + il * 16;
    let data = data_start
        .checked_add(dl)
        .and_then(|end| blob.get(data_start..end))
        .ok_or_else(|| {
            format!(
                "header claims {il} entries and {dl} data bytes, blob has {}",
                blob.len()
            )
        })?;
    let mut h = Header::default();
    for e in 0..il {
        let at = 8 + e * 16;
        let (tag, ty, off, count) = (
            be32(blob, at).unwrap_or(0),
            be32(blob, at + 4).unwrap_or(0),
            be32(blob, at + 8).unwrap_or(0) as usize,
            be32(blob, at + 12).unwrap_or(0) as usize,
        );
        if !wanted.contains(&tag) {
            continue;
        }
        let rest = data
            .get(off..)
            .ok_or_else(|| format!("tag {tag}: offset {off} past the data"))?;
        let value = match ty {
            INT32 => {
                let ints = (0..count)
                    .map(|i| be32(rest, i * 4))
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| format!("tag {tag}: {count} integers past the data"))?;
                Value::Ints(ints)
            }
            STRING | STRING_ARRAY | I18NSTRING => {
                let n = if ty == STRING { 1 } else { count };
                Value::Strings(
                    strings(rest, n)
                        .ok_or_else(|| format!("tag {tag}: {n} strings run past the data"))?,
                )
            }
            _ => continue,
        };
        h.values.insert(tag, value);
    }
    Ok(h)
}

/// `n` NUL-terminated strings from the start of `b`.
fn strings(b: &[u8], n: usize) -> Option<Vec<String>> {
    let mut out = Vec::with_capacity(n.min(4096));
    let mut at = 0;
    for _ in 0..n {
        let len = b.get(at..)?.iter().position(|&c| c == 0)?;
        out.push(String::from_utf8_lossy(&b[at..at + len]).into_owned());
        at += len + 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header with the given entries (tag, type, data bytes, count).
    fn blob(entries: &[(u32, u32, Vec<u8>, u32)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data = Vec::new();
        for (tag, ty, bytes, count) in entries {
            while *ty == INT32 && data.len() % 4 != 0 {
                data.push(0);
            }
            for v in [*tag, *ty, data.len() as u32, *count] {
                index.extend_from_slice(&v.to_be_bytes());
            }
            data.extend_from_slice(bytes);
        }
        let mut b = Vec::new();
        b.extend_from_slice(&(entries.len() as u32).to_be_bytes());
        b.extend_from_slice(&(data.len() as u32).to_be_bytes());
        b.extend(index);
        b.extend(data);
        b
    }

    #[test]
    fn names_numbers_and_files() {
        let b = blob(&[
            (NAME, STRING, b"bash\0".to_vec(), 1),
            (EPOCH, INT32, 2u32.to_be_bytes().to_vec(), 1),
            (DIRNAMES, STRING_ARRAY, b"/usr/bin/\0/etc/\0".to_vec(), 2),
            (BASENAMES, STRING_ARRAY, b"bash\0bashrc\0".to_vec(), 2),
            (
                DIRINDEXES,
                INT32,
                [0u32, 1].iter().flat_map(|v| v.to_be_bytes()).collect(),
                2,
            ),
        ]);
        let h = parse(&b, &[NAME, EPOCH, DIRNAMES, BASENAMES, DIRINDEXES]).unwrap();
        assert_eq!(h.string(NAME), Some("bash"));
        assert_eq!(h.ints(EPOCH), &[2]);
        assert_eq!(h.files(), vec!["/usr/bin/bash", "/etc/bashrc"]);
    }

    #[test]
    fn lies_about_sizes_are_errors() {
        let mut b = blob(&[(NAME, STRING, b"bash\0".to_vec(), 1)]);
        b[7] = 200;
        assert!(parse(&b, &[NAME]).unwrap_err().contains("data bytes"));
        let b = blob(&[(NAME, STRING, b"bash".to_vec(), 1)]);
        assert!(parse(&b, &[NAME]).unwrap_err().contains("past the data"));
        assert!(parse(&[0, 0], &[NAME]).is_err());
    }
}
