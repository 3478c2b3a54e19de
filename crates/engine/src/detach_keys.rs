//! `--detach-keys`: podman's format (`ctrl-p,ctrl-q` by default; each key a
//! single character or `ctrl-` and one of `a`–`z`, `@`, `[`, `\`, `]`,
//! `^`, `_`; `""` turns detaching off) and the matcher that watches the
//! input for the sequence.

use crate::error::{Error, Result};

/// podman's default sequence.
pub const DEFAULT: &str = "ctrl-p,ctrl-q";

/// The bytes of a `--detach-keys` value; None for `""` (no detaching).
pub fn parse(keys: &str) -> Result<Option<Vec<u8>>> {
    if keys.is_empty() {
        return Ok(None);
    }
    let bad = |why: String| Error::InvalidOption {
        option: "detach-keys",
        value: keys.to_string(),
        reason: why,
    };
    let mut out = Vec::new();
    for key in keys.split(',') {
        let lower = key.to_ascii_lowercase();
        let byte = match lower.strip_prefix("ctrl-") {
            _ if key.len() == 1 => key.as_bytes()[0],
            Some(c) if c.len() == 1 => match c.as_bytes()[0] {
                b @ b'a'..=b'z' => b - b'a' + 1,
                b'@' => 0,
                b'[' => 27,
                b'\\' => 28,
                b']' => 29,
                b'^' => 30,
                b'_' => 31,
                _ => return Err(bad(format!("unknown character: {key:?}"))),
            },
            _ => return Err(bad(format!("unknown character: {key:?}"))),
        };
        out.push(byte);
    }
    Ok(Some(out))
}

/// Watches input for the detach sequence. Bytes that might begin it are
/// held back until it is clear whether they do; if they don't, they go on
/// with what follows.
#[derive(Debug, Default)]
pub(crate) struct DetachMatcher {
    keys: Vec<u8>,
    matched: usize,
}

impl DetachMatcher {
    pub(crate) fn new(keys: Option<Vec<u8>>) -> DetachMatcher {
        DetachMatcher {
            keys: keys.unwrap_or_default(),
            matched: 0,
        }
    }

    /// Feed `input`: what to pass on to the container, and whether the
    /// whole sequence was typed (what follows it is dropped).
    pub(crate) fn feed(&mut self, input: &[u8]) -> (Vec<u8>, bool) {
        if self.keys.is_empty() {
            return (input.to_vec(), false);
        }
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if b == self.keys[self.matched] {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return (out, true);
                }
                continue;
            }
            // Not the sequence after all: what was held back goes on.
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if b == self.keys[0] {
                self.matched = 1;
                if self.keys.len() == 1 {
                    return (out, true);
                }
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_format() {
        assert_eq!(parse(DEFAULT).unwrap(), Some(vec![16, 17]));
        assert_eq!(parse("ctrl-a,x").unwrap(), Some(vec![1, b'x']));
        assert_eq!(
            parse("ctrl-@,ctrl-[,ctrl-_").unwrap(),
            Some(vec![0, 27, 31])
        );
        assert_eq!(parse("").unwrap(), None);
        for bad in ["ctrl-", "ctrl-1", "ab", "ctrl-p,", "shift-a"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_sequence_detaches_and_is_not_passed_on() {
        let mut m = DetachMatcher::new(Some(vec![16, 17]));
        assert_eq!(m.feed(b"ls\r"), (b"ls\r".to_vec(), false));
        assert_eq!(m.feed(&[16]), (vec![], false));
        assert_eq!(m.feed(&[17, b'x']), (vec![], true));
    }

    #[test]
    fn a_broken_sequence_passes_on_what_was_held() {
        let mut m = DetachMatcher::new(Some(vec![16, 17]));
        assert_eq!(m.feed(&[16, b'a']), (vec![16, b'a'], false));
        assert_eq!(m.feed(&[16, 16, 17]), (vec![16], true));
        let mut off = DetachMatcher::new(None);
        assert_eq!(off.feed(&[16, 17]), (vec![16, 17], false));
    }
}
