//! deb822 control paragraphs (dpkg's `status`, `status.d/*`): `Field:
//! value` lines, continuation lines that start with a space or tab, and a
//! blank line between paragraphs. A line that is none of these spoils its
//! paragraph only: the error names the line, the other paragraphs stand.

/// One paragraph: its fields in order, continuation lines joined by `\n`.
#[derive(Debug, Default)]
pub struct Paragraph<'a> {
    /// 1-based line of the paragraph's first field.
    pub line: usize,
    fields: Vec<(&'a str, String)>,
}

impl Paragraph<'_> {
    /// The value of `field` (names compare case-insensitively, as dpkg's).
    pub fn get(&self, field: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(field))
            .map(|(_, v)| v.as_str())
    }
}

/// A line that spoiled its paragraph.
#[derive(Debug, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

/// The paragraphs of `text`, each one or the line that spoiled it.
pub fn paragraphs(text: &str) -> Vec<Result<Paragraph<'_>, BadLine>> {
    let mut out = Vec::new();
    let mut cur: Option<Paragraph> = None;
    let mut spoiled = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim().is_empty() {
            if let Some(p) = cur.take() {
                if !spoiled {
                    out.push(Ok(p));
                }
            }
            spoiled = false;
            continue;
        }
        if spoiled {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            match cur.as_mut().and_then(|p| p.fields.last_mut()) {
                Some((_, v)) => {
                    v.push('\n');
                    v.push_str(line.trim());
                }
                None => {
                    spoiled = true;
                    cur = None;
                    out.push(Err(BadLine {
                        line: n,
                        message: "continuation line without a field before it".into(),
                    }));
                }
            }
            continue;
        }
        match line.split_once(':') {
            Some((k, v)) if !k.is_empty() && !k.contains(char::is_whitespace) => {
                let p = cur.get_or_insert_with(|| Paragraph {
                    line: n,
                    fields: Vec::new(),
                });
                p.fields.push((k, v.trim().to_string()));
            }
            _ => {
                spoiled = true;
                cur = None;
                out.push(Err(BadLine {
                    line: n,
                    message: format!("not a field line: {:?}", truncate(line)),
                }));
            }
        }
    }
    if let Some(p) = cur {
        if !spoiled {
            out.push(Ok(p));
        }
    }
    out
}

fn truncate(line: &str) -> &str {
    match line.char_indices().nth(60) {
        Some((i, _)) => &line[..i],
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_continuations_and_a_bad_line() {
        let text = "Package: a\nVersion: 1\nDescription: x\n more\n\nPackage: b\nbroken line\nVersion: 2\n\nPackage: c\nVersion: 3\n";
        let ps = paragraphs(text);
        assert_eq!(ps.len(), 3);
        let a = ps[0].as_ref().unwrap();
        assert_eq!(a.get("package"), Some("a"));
        assert_eq!(a.get("Description"), Some("x\nmore"));
        assert_eq!(ps[1].as_ref().unwrap_err().line, 7);
        let c = ps[2].as_ref().unwrap();
        assert_eq!((c.get("Package"), c.line), (Some("c"), 10));
    }
}
