//! `--format` for list commands, as podman's report package reads it: a
//! leading `table ` asks for a header line and aligned columns; `\t` and
//! `\n` typed on the command line are tab and newline; each row's output
//! ends with a newline.

use super::ast::{Arg, Node};
use super::tabwriter::{self, MIN_WIDTH, PADDING};
use super::{Template, TemplateError};
use serde_json::Value;

/// A parsed `--format` for a list command.
pub struct Format {
    template: Template,
    table: bool,
    /// The format ranges over `.` itself (`{{range .}}…{{end}}`), so it is
    /// run once over the whole list, as podman does, not once per row.
    whole_list: bool,
}

impl Format {
    pub fn parse(format: &str) -> Result<Format, TemplateError> {
        let (text, table) = normalize(format);
        let template = Template::parse(&text)?;
        let whole_list = !table && template.nodes.iter().any(ranges_over_dot);
        Ok(Format {
            template,
            table,
            whole_list,
        })
    }

    /// Whether the format began with `table `.
    pub fn is_table(&self) -> bool {
        self.table
    }

    /// Renders the rows. `headers` maps a field (`ID`, or a path
    /// `State.Status`) to its column's name where that differs from the
    /// field's own (podman's `ps` heads `.ID` "CONTAINER ID").
    pub fn render(
        &self,
        headers: &[(&str, &str)],
        rows: &[Value],
    ) -> Result<String, TemplateError> {
        let mut out = String::new();
        if self.table {
            let names = |path: &[String]| column_name(path, headers);
            out.push_str(&self.template.render_header(&names)?);
        }
        if self.whole_list {
            out.push_str(&self.template.render(&Value::Array(rows.to_vec()))?);
        } else {
            for row in rows {
                out.push_str(&self.template.render(row)?);
            }
        }
        if self.table {
            out = tabwriter::align(&out, MIN_WIDTH, PADDING);
        }
        Ok(out)
    }
}

/// Parses `format` and renders `rows` with it: see [`Format::render`].
pub fn render_rows(
    format: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
) -> Result<String, TemplateError> {
    Format::parse(format)?.render(headers, rows)
}

/// Whether `--format` asks for podman's JSON listing: `json`, `{{json}}`
/// or `{{json.}}`. `{{json .}}` is not one: it is a template that prints
/// each row as JSON.
pub fn is_json_format(format: &str) -> bool {
    let f = format.trim();
    if f == "json" {
        return true;
    }
    let Some(inner) = f.strip_prefix("{{").and_then(|f| f.strip_suffix("}}")) else {
        return false;
    };
    matches!(inner.trim().strip_prefix("json"), Some("" | "."))
}

/// The column name podman derives from a field: its words upper-cased,
/// split where the case changes (`CreatedAt` → `CREATED AT`, `ID` → `ID`).
pub fn header_name(field: &str) -> String {
    camel_words(field).join(" ").to_uppercase()
}

fn column_name(path: &[String], headers: &[(&str, &str)]) -> String {
    let full = path.join(".");
    match headers.iter().find(|(field, _)| *field == full) {
        Some((_, name)) => name.to_uppercase(),
        None => header_name(path.last().map_or("", String::as_str)),
    }
}

/// Splits an identifier into words: runs of lower-case letters, upper-case
/// letters, digits or other characters; an upper-case run followed by
/// lower-case gives its last letter to the next word (`HTTPServer` →
/// `HTTP`, `Server`).
fn camel_words(s: &str) -> Vec<String> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Lower,
        Upper,
        Digit,
        Other,
    }
    let class = |c: char| {
        if c.is_lowercase() {
            Class::Lower
        } else if c.is_uppercase() {
            Class::Upper
        } else if c.is_numeric() {
            Class::Digit
        } else {
            Class::Other
        }
    };
    let mut runs: Vec<(Class, Vec<char>)> = Vec::new();
    for c in s.chars() {
        match runs.last_mut() {
            Some((k, run)) if *k == class(c) => run.push(c),
            _ => runs.push((class(c), vec![c])),
        }
    }
    for i in 0..runs.len().saturating_sub(1) {
        if runs[i].0 == Class::Upper && runs[i + 1].0 == Class::Lower {
            if let Some(c) = runs[i].1.pop() {
                runs[i + 1].1.insert(0, c);
            }
        }
    }
    runs.into_iter()
        .filter(|(_, run)| !run.is_empty())
        .map(|(_, run)| run.into_iter().collect())
        .collect()
}

fn ranges_over_dot(node: &Node) -> bool {
    match node {
        Node::Range(b) => {
            matches!(&b.pipe.cmds[..], [cmd] if matches!(&cmd.args[..], [op] if matches!(op.arg, Arg::Dot)))
        }
        _ => false,
    }
}

/// podman's rewriting of a command-line format: strips `table `, turns the
/// two-character escapes `\t` and `\n` into tab and newline, and in a
/// table turns spaces into tabs, so `table {{.ID}} {{.Names}}` makes two
/// columns; a newline ends the format. Unlike podman, it rewrites only the
/// text between actions: string constants inside them keep their spaces
/// and their own escapes.
fn normalize(format: &str) -> (String, bool) {
    let (body, table) = match format.strip_prefix("table ") {
        Some(rest) => (rest, true),
        None => (format, false),
    };
    let mut out = String::with_capacity(body.len() + 1);
    let mut rest = body;
    while !rest.is_empty() {
        match rest.find("{{") {
            Some(0) => {
                let n = action_len(rest);
                out.push_str(&rest[..n]);
                rest = &rest[n..];
            }
            Some(i) => {
                out.push_str(&rewrite_text(&rest[..i], table));
                rest = &rest[i..];
            }
            None => {
                out.push_str(&rewrite_text(rest, table));
                rest = "";
            }
        }
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    (out, table)
}

fn rewrite_text(text: &str, table: bool) -> String {
    let text = text.replace("\\t", "\t").replace("\\n", "\n");
    if table {
        text.replace(' ', "\t")
    } else {
        text
    }
}

/// The length of the action at the start of `s`, through its `}}`, past
/// quoted strings and comments that may hold braces; all of `s` if it
/// never closes (the parser then says so).
fn action_len(s: &str) -> usize {
    let body = s[2..].trim_start_matches('-').trim_start();
    if body.starts_with("/*") {
        let from = s.len() - body.len();
        return s[from..]
            .find("*/")
            .and_then(|i| s[from + i..].find("}}").map(|j| from + i + j + 2))
            .unwrap_or(s.len());
    }
    let mut quote = None;
    let mut escaped = false;
    for (i, c) in s.char_indices().skip(2) {
        match quote {
            Some(q) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    quote = None;
                }
            }
            None if c == '"' || c == '`' || c == '\'' => quote = Some(c),
            None if s[i..].starts_with("}}") => return i + 2,
            None => {}
        }
    }
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_names_split_camel_case() {
        for (field, want) in [
            ("ID", "ID"),
            ("Names", "NAMES"),
            ("CreatedAt", "CREATED AT"),
            ("ImageID", "IMAGE ID"),
            ("RunningFor", "RUNNING FOR"),
            ("HTTPServer", "HTTP SERVER"),
            ("FieldA", "FIELD A"),
            ("Fieldb", "FIELDB"),
            ("fieldC", "FIELD C"),
            ("CPUPerc", "CPU PERC"),
            ("Net1", "NET 1"),
        ] {
            assert_eq!(header_name(field), want, "{field}");
        }
    }

    #[test]
    fn normalize_as_podman() {
        // containers/common's own cases.
        for (input, want) in [
            ("{{.ID}}\t{{.ID}}", "{{.ID}}\t{{.ID}}\n"),
            (r"{{.ID}}\t{{.ID}}", "{{.ID}}\t{{.ID}}\n"),
            ("{{.ID}} {{.ID}}", "{{.ID}} {{.ID}}\n"),
            (r"table {{.ID}}\t{{.ID}}", "{{.ID}}\t{{.ID}}\n"),
            ("table {{.ID}} {{.ID}}", "{{.ID}}\t{{.ID}}\n"),
        ] {
            assert_eq!(normalize(input).0, want, "{input}");
        }
        // Text inside actions stays as written.
        assert_eq!(
            normalize(r#"table {{join .Names ", "}} {{printf "\n"}}"#).0,
            "{{join .Names \", \"}}\t{{printf \"\\n\"}}\n"
        );
        assert_eq!(normalize("{{/* }} */}} a").0, "{{/* }} */}} a\n");
    }

    #[test]
    fn json_formats() {
        for f in ["json", " json ", "{{json}}", "{{ json . }}", "{{json.}}"] {
            assert_eq!(is_json_format(f), f != "{{ json . }}", "{f}");
        }
        assert!(!is_json_format("{{.ID}} json"));
    }
}
