//! Container logs in the CRI (k8s-file) format, one record per line:
//! `2026-01-01T00:00:00.000000000Z stdout F text`, where `F` ends a line
//! and `P` is a piece of a longer one (or the unterminated end of a
//! stream), which readers join to the next piece.

use crate::clock::now_rfc3339;
use std::io::Write;

/// Pieces longer than this are written as `P` records (CRI-O's 8 KiB
/// would do; conmon uses a larger buffer).
pub const MAX_PIECE: usize = 16 * 1024;

/// One stream's pending bytes, written to the log as lines complete.
#[derive(Default)]
pub struct StreamBuffer {
    pending: Vec<u8>,
}

fn record(out: &mut impl Write, stream: &str, flag: char, text: &[u8]) -> std::io::Result<()> {
    let mut line = Vec::with_capacity(text.len() + 48);
    line.extend_from_slice(now_rfc3339().as_bytes());
    line.push(b' ');
    line.extend_from_slice(stream.as_bytes());
    line.push(b' ');
    line.push(flag as u8);
    line.push(b' ');
    line.extend_from_slice(text);
    line.push(b'\n');
    out.write_all(&line)
}

impl StreamBuffer {
    /// Add `data` read from `stream` and write every complete line.
    pub fn feed(&mut self, out: &mut impl Write, stream: &str, data: &[u8]) -> std::io::Result<()> {
        self.pending.extend_from_slice(data);
        let mut start = 0;
        while let Some(nl) = self.pending[start..].iter().position(|b| *b == b'\n') {
            record(out, stream, 'F', &self.pending[start..start + nl])?;
            start += nl + 1;
        }
        while self.pending.len() - start >= MAX_PIECE {
            record(out, stream, 'P', &self.pending[start..start + MAX_PIECE])?;
            start += MAX_PIECE;
        }
        self.pending.drain(..start);
        Ok(())
    }

    /// The stream ended: write what is left as a `P` record (no newline
    /// followed it).
    pub fn finish(&mut self, out: &mut impl Write, stream: &str) -> std::io::Result<()> {
        if !self.pending.is_empty() {
            record(out, stream, 'P', &self.pending)?;
            self.pending.clear();
        }
        Ok(())
    }
}

/// One record of a log file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    /// Its timestamp.
    pub time: String,
    /// `stdout` or `stderr`.
    pub stream: String,
    /// False for a `P` piece.
    pub full: bool,
    /// The text, without the newline.
    pub text: Vec<u8>,
}

/// Parse one line of a log file.
pub fn parse_line(line: &[u8]) -> Option<LogRecord> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let stream = String::from_utf8(parts.next()?.to_vec()).ok()?;
    let full = match parts.next()? {
        b"F" => true,
        b"P" => false,
        _ => return None,
    };
    let text = parts.next().unwrap_or_default().to_vec();
    Some(LogRecord {
        time,
        stream,
        full,
        text,
    })
}

/// The records of a log, joined back into (stream, bytes) chunks: each full
/// line ends with a newline; a piece does not.
pub fn chunks(log: &[u8]) -> Vec<(String, Vec<u8>)> {
    log.split(|b| *b == b'\n')
        .filter_map(parse_line)
        .map(|r| {
            let mut t = r.text;
            if r.full {
                t.push(b'\n');
            }
            (r.stream, t)
        })
        .collect()
}

/// The chunks of the last `n` lines (full records) of `chunks`.
pub fn tail(chunks: Vec<(String, Vec<u8>)>, n: usize) -> Vec<(String, Vec<u8>)> {
    let mut lines = 0;
    let mut start = chunks.len();
    while start > 0 {
        let ends_line = chunks[start - 1].1.ends_with(b"\n");
        if ends_line {
            if lines == n {
                break;
            }
            lines += 1;
        } else if lines == n && n > 0 {
            break;
        }
        start -= 1;
    }
    chunks.into_iter().skip(start).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_pieces() {
        let mut out = Vec::new();
        let mut b = StreamBuffer::default();
        b.feed(&mut out, "stdout", b"one\ntw").unwrap();
        b.feed(&mut out, "stdout", b"o\nthr").unwrap();
        b.finish(&mut out, "stdout").unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].ends_with(" stdout F one"), "{}", lines[0]);
        assert!(lines[1].ends_with(" stdout F two"));
        assert!(lines[2].ends_with(" stdout P thr"));
        let c = chunks(&out);
        let joined: Vec<u8> = c.iter().flat_map(|(_, t)| t.clone()).collect();
        assert_eq!(joined, b"one\ntwo\nthr");
        assert_eq!(tail(c, 1).len(), 2);
    }

    #[test]
    fn long_lines_are_split() {
        let mut out = Vec::new();
        let mut b = StreamBuffer::default();
        let long = vec![b'x'; MAX_PIECE + 10];
        b.feed(&mut out, "stderr", &long).unwrap();
        b.feed(&mut out, "stderr", b"\n").unwrap();
        let c = chunks(&out);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].1.len(), MAX_PIECE);
        assert_eq!(c[1].1.len(), 11);
    }
}
