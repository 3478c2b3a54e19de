//! How list and inspect commands print, podman's way: `--format json` (or
//! `{{json .}}`-less `json`) is the typed JSON, any other `--format` a Go
//! template over each row's view (`table …` with a header and aligned
//! columns), and no `--format` the command's default table.

use crate::template::{table, Template};
use serde::Serialize;
use serde_json::Value;

/// A list command's rows: their JSON (podman's shape) and the views its
/// templates see (the same fields, with podman's template-only ones).
pub struct Rows<T> {
    pub json: Vec<T>,
    pub views: Vec<Value>,
}

/// Print `rows` as `format` asks, `default` (a `table …` template) when
/// none was given; `heading` false drops the header line (`--noheading`).
pub fn print_list<T: Serialize>(
    format: Option<&str>,
    default: &str,
    headers: &[(&str, &str)],
    heading: bool,
    rows: &Rows<T>,
) -> anyhow::Result<()> {
    let format = format.unwrap_or(default);
    if table::is_json_format(format) {
        println!("{}", serde_json::to_string_pretty(&rows.json)?);
        return Ok(());
    }
    let parsed = table::Format::parse(format)?;
    let mut out = parsed.render(headers, &rows.views)?;
    if parsed.is_table() && !heading {
        out = out
            .split_once('\n')
            .map(|(_, rest)| rest.to_string())
            .unwrap_or_default();
    }
    print!("{out}");
    Ok(())
}

/// Print what an inspect command found: the JSON array (typed, so in
/// podman's key order), or each item through the template (one line per
/// item, as podman prints them).
pub fn print_inspect<T: Serialize>(format: Option<&str>, items: &[T]) -> anyhow::Result<()> {
    match format {
        Some(f) if !table::is_json_format(f) => {
            let t = Template::parse(&unescape(f))?;
            for item in items {
                let line = t.render(&serde_json::to_value(item)?)?;
                if line.ends_with('\n') {
                    print!("{line}");
                } else {
                    println!("{line}");
                }
            }
        }
        _ => println!("{}", serde_json::to_string_pretty(items)?),
    }
    Ok(())
}

/// One inspected object: its JSON as printed (typed, so in podman's key
/// order) and as templates see it.
pub struct Inspected {
    pretty: String,
    value: Value,
}

impl Inspected {
    pub fn of<T: Serialize>(item: &T) -> anyhow::Result<Inspected> {
        Ok(Inspected {
            pretty: serde_json::to_string_pretty(item)?,
            value: serde_json::to_value(item)?,
        })
    }
}

/// [`print_inspect`] over objects of different kinds (containers and
/// images in one `inspect`).
pub fn print_inspected(format: Option<&str>, items: &[Inspected]) -> anyhow::Result<()> {
    if let Some(f) = format.filter(|f| !table::is_json_format(f)) {
        let values: Vec<&Value> = items.iter().map(|i| &i.value).collect();
        return print_inspect(Some(f), &values);
    }
    if items.is_empty() {
        println!("[]");
        return Ok(());
    }
    let body: Vec<String> = items
        .iter()
        .map(|i| {
            i.pretty
                .lines()
                .map(|l| format!("  {l}"))
                .collect::<Vec<_>>()
                .join("\n")
        })
        .collect();
    println!("[\n{}\n]", body.join(",\n"));
    Ok(())
}

/// `\t` and `\n` typed on a command line are a tab and a newline, as
/// podman reads them.
fn unescape(f: &str) -> String {
    f.replace("\\t", "\t").replace("\\n", "\n")
}
