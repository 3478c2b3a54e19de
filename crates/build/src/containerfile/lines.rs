//! From text to logical lines, as BuildKit reads a Dockerfile: parser
//! directives at the top, comments, the escape character joining continued
//! lines, and heredoc bodies taken raw after the line that opens them.

use super::error::ParseErrorKind;

/// The parser directives found at the top of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directives {
    /// `# escape=` : `\` (the default) or `` ` ``.
    pub escape: char,
    /// `# syntax=` : recorded, not acted on (berth has one frontend).
    pub syntax: Option<String>,
    /// `# check=` : recorded, not acted on.
    pub check: Option<String>,
}

impl Default for Directives {
    fn default() -> Self {
        Directives {
            escape: '\\',
            syntax: None,
            check: None,
        }
    }
}

/// One instruction's text with its continuations joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LogicalLine {
    /// 1-based line of the instruction's first physical line.
    pub line: usize,
    /// The joined text, leading whitespace gone.
    pub text: String,
}

/// Reads a Containerfile's physical lines one logical line at a time.
pub(crate) struct LineReader<'a> {
    lines: Vec<&'a str>,
    /// Index of the next physical line to read.
    pos: usize,
    escape: char,
}

/// Failure while reading lines: which line, and what.
pub(crate) type LineError = (usize, ParseErrorKind);

impl<'a> LineReader<'a> {
    /// Reads the directives at the top of `text` and positions the reader
    /// after them.
    pub fn new(text: &'a str) -> Result<(Self, Directives), LineError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let lines: Vec<&str> = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect();
        let mut directives = Directives::default();
        let mut seen: Vec<String> = Vec::new();
        let mut pos = 0;
        // Directives are only honoured before the first comment, blank line
        // or instruction: BuildKit stops looking at the first line that is
        // not a known directive, so a later `# escape=` is a plain comment.
        while let Some(line) = lines.get(pos) {
            let Some((name, value)) = directive(line) else {
                break;
            };
            if seen.contains(&name) {
                return Err((
                    pos + 1,
                    ParseErrorKind::Directive {
                        name,
                        value,
                        reason: "only one may be given",
                    },
                ));
            }
            match name.as_str() {
                "escape" => {
                    directives.escape = match value.as_str() {
                        "\\" => '\\',
                        "`" => '`',
                        _ => {
                            return Err((
                                pos + 1,
                                ParseErrorKind::Directive {
                                    name,
                                    value,
                                    reason: "the escape character must be \\ or `",
                                },
                            ))
                        }
                    }
                }
                "syntax" => directives.syntax = Some(value.clone()),
                "check" => directives.check = Some(value.clone()),
                _ => break,
            }
            seen.push(name);
            pos += 1;
        }
        let escape = directives.escape;
        Ok((LineReader { lines, pos, escape }, directives))
    }

    /// The next instruction line, or `None` at the end of the file.
    pub fn next_logical(&mut self) -> Option<LogicalLine> {
        while self.pos < self.lines.len() {
            let raw = self.lines[self.pos];
            self.pos += 1;
            let start = self.pos;
            let first = raw.trim_start();
            if first.is_empty() || first.starts_with('#') {
                continue;
            }
            let (mut text, mut ended) = trim_continuation(first, self.escape);
            while !ended && self.pos < self.lines.len() {
                let raw = self.lines[self.pos];
                self.pos += 1;
                let left = raw.trim_start();
                // Comments and blank lines inside a continued instruction
                // are dropped, as BuildKit drops them.
                if left.starts_with('#') || left.is_empty() {
                    continue;
                }
                let (more, end) = trim_continuation(raw, self.escape);
                text.push_str(&more);
                ended = end;
            }
            if text.trim().is_empty() {
                continue;
            }
            return Some(LogicalLine { line: start, text });
        }
        None
    }

    /// The body of a heredoc opened on the line just read: raw lines up to
    /// the one equal to `name` (after leading tabs when `chomp`, for `<<-`).
    pub fn heredoc_body(&mut self, name: &str, chomp: bool) -> Result<String, ParseErrorKind> {
        let mut body = String::new();
        while self.pos < self.lines.len() {
            let raw = self.lines[self.pos];
            self.pos += 1;
            let line = if chomp {
                raw.trim_start_matches('\t')
            } else {
                raw
            };
            if line == name {
                return Ok(body);
            }
            body.push_str(line);
            body.push('\n');
        }
        Err(ParseErrorKind::UnterminatedHeredoc(name.to_string()))
    }
}

/// `# name=value` at the top of a file; names are case-insensitive.
fn directive(line: &str) -> Option<(String, String)> {
    let rest = line.trim_start().strip_prefix('#')?;
    let (name, value) = rest.split_once('=')?;
    let name = name.trim();
    let mut chars = name.chars();
    let first = chars.next()?;
    if !first.is_ascii_alphabetic() || !chars.all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some((name.to_ascii_lowercase(), value.to_string()))
}

/// Strips an escape character (and blanks after it) ending the line; the
/// bool says whether the instruction ends here.
fn trim_continuation(line: &str, escape: char) -> (String, bool) {
    let trimmed = line.trim_end_matches([' ', '\t']);
    match trimmed.strip_suffix(escape) {
        Some(rest) => (rest.to_string(), false),
        None => (line.to_string(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logical(text: &str) -> Vec<(usize, String)> {
        let (mut r, _) = LineReader::new(text).unwrap();
        std::iter::from_fn(|| r.next_logical())
            .map(|l| (l.line, l.text))
            .collect()
    }

    #[test]
    fn continuations_comments_and_blank_lines() {
        let text = "FROM x\n\n# comment\nRUN a \\\n  b \\\n# inside\n\n  c\n  RUN d\\  \nRUN e";
        assert_eq!(
            logical(text),
            vec![
                (1, "FROM x".to_string()),
                (4, "RUN a   b   c".to_string()),
                (9, "RUN dRUN e".to_string()),
            ]
        );
    }

    #[test]
    fn directives_only_at_the_top() {
        let (_, d) = LineReader::new("# syntax=docker/dockerfile:1\n#ESCAPE = `\nFROM x").unwrap();
        assert_eq!(d.escape, '`');
        assert_eq!(d.syntax.as_deref(), Some("docker/dockerfile:1"));
        let (_, d) = LineReader::new("# a comment\n# escape=`\nFROM x").unwrap();
        assert_eq!(d.escape, '\\');
        let (_, d) = LineReader::new("FROM x\n# escape=`\n").unwrap();
        assert_eq!(d.escape, '\\');
    }

    #[test]
    fn bad_directives() {
        assert!(matches!(
            LineReader::new("# escape=x\nFROM x"),
            Err((1, ParseErrorKind::Directive { .. }))
        ));
        assert!(matches!(
            LineReader::new("# escape=`\n# escape=\\\nFROM x"),
            Err((2, ParseErrorKind::Directive { .. }))
        ));
    }

    #[test]
    fn backtick_escape_keeps_backslashes() {
        let text = "# escape=`\nFROM x\nCOPY a c:\\dir\\ `\n  d";
        assert_eq!(logical(text)[1], (3, "COPY a c:\\dir\\   d".to_string()));
    }

    #[test]
    fn crlf_and_bom() {
        assert_eq!(
            logical("\u{feff}FROM x\r\nRUN a \\\r\n b\r\n"),
            vec![(1, "FROM x".to_string()), (2, "RUN a  b".to_string())]
        );
    }
}
