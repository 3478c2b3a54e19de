//! Go text/template, for `--format` as podman reads it.
//!
//! Templates render over `serde_json::Value`s whose keys are the field
//! names podman's Go structs have. The syntax and its meaning follow Go's
//! text/template (actions, trim markers, pipelines, variables, `if`,
//! `with`, `range`, `break`, `continue`, the builtin functions) with
//! podman's report functions; `define`, `template` and `block` are not
//! supported. [`table::Format`] adds podman's list-command handling:
//! `table`, headers and column alignment.
//!
//! A template is user input, so execution runs on a budget (see
//! `MAX_STEPS`) and nesting is bounded: a render ends, with an error if
//! need be, and never panics.

// The list and inspect commands wire this module in next; until then the
// binary uses none of it.
#![allow(dead_code)]

mod ast;
mod exec;
mod funcs;
mod lex;
mod parse;
mod printf;
pub mod table;
mod tabwriter;
mod value;

#[cfg(test)]
mod tests;

use serde_json::Value;
use std::fmt;

/// Steps (nodes, commands, and 64 bytes of function output each) one
/// render may take: far more than any listing needs, few enough that a
/// runaway loop stops within a second.
const MAX_STEPS: u64 = 1_000_000;
/// The most one render may print.
const MAX_OUTPUT: usize = 16 << 20;
/// The longest string one function call may return.
const MAX_VALUE: usize = 4 << 20;

/// A parsed template.
#[derive(Debug)]
pub struct Template {
    name: String,
    src: String,
    nodes: Vec<ast::Node>,
}

impl Template {
    /// Parses a template; errors name it "format".
    pub fn parse(src: &str) -> Result<Template, TemplateError> {
        Template::parse_named("format", src)
    }

    /// Parses a template whose errors call it `name`, as Go's do.
    pub fn parse_named(name: &str, src: &str) -> Result<Template, TemplateError> {
        let nodes = parse::parse(name, src)?;
        Ok(Template {
            name: name.to_string(),
            src: src.to_string(),
            nodes,
        })
    }

    pub fn render(&self, data: &Value) -> Result<String, TemplateError> {
        exec::run(&self.name, &self.src, &self.nodes, data, None)
    }

    /// The table header line: the template run with each field path
    /// standing for its column's name.
    fn render_header(&self, names: exec::HeaderNames<'_>) -> Result<String, TemplateError> {
        exec::run(
            &self.name,
            &self.src,
            &self.nodes,
            &Value::Null,
            Some(names),
        )
    }
}

/// Whether a template failed to parse or to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    Parse,
    Exec,
}

/// A template error, worded as Go words it: `template: NAME:LINE: …` when
/// parsing, `template: NAME:LINE:COL: executing "NAME" at <…>: …` when
/// running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateError {
    kind: ErrorKind,
    message: String,
}

impl TemplateError {
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    fn parse(name: &str, src: &str, pos: usize, msg: String) -> TemplateError {
        let (line, _) = line_col(src, pos);
        TemplateError {
            kind: ErrorKind::Parse,
            message: format!("template: {name}:{line}: {msg}"),
        }
    }

    fn exec(name: &str, src: &str, span: ast::Span, msg: String) -> TemplateError {
        let (line, col) = line_col(src, span.start);
        let context = src.get(span.start..span.end).unwrap_or("");
        // Go shortens the quoted operand to 20 characters.
        let context = match context.char_indices().nth(20) {
            Some((i, _)) => format!("{}...", &context[..i]),
            None => context.to_string(),
        };
        TemplateError {
            kind: ErrorKind::Exec,
            message: format!(
                "template: {name}:{line}:{col}: executing {name:?} at <{context}>: {msg}"
            ),
        }
    }

    /// A render stopped for running past a limit.
    fn limit(name: &str, msg: String) -> TemplateError {
        TemplateError {
            kind: ErrorKind::Exec,
            message: format!("template: {name}: {msg}"),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TemplateError {}

/// The 1-based line and the 0-based byte column of `pos`, as Go counts.
fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let before = src.get(..pos).unwrap_or(src);
    let line = 1 + before.matches('\n').count();
    let col = before
        .rfind('\n')
        .map_or(before.len(), |i| before.len() - i - 1);
    (line, col)
}
