//! Builds the tree from the tokens, with the checks Go makes at parse
//! time: functions and variables must be known, every block must end.

use super::ast::{Arg, Branch, Command, Node, Operand, Pipe, Span};
use super::lex::{self, Keyword, Tok, Token};
use super::{funcs, TemplateError};
use serde_json::Value;

/// How deep blocks and parentheses may nest. A template comes from the
/// user: without a bound, `((((…` would overflow the stack.
pub(super) const MAX_DEPTH: usize = 100;

pub(super) fn parse(name: &str, src: &str) -> Result<Vec<Node>, TemplateError> {
    let toks = lex::lex(src).map_err(|e| TemplateError::parse(name, src, e.pos, e.msg))?;
    let mut p = Parser {
        name,
        src,
        toks,
        i: 0,
        vars: vec!["$".to_string()],
        depth: 0,
        range_depth: 0,
    };
    let (nodes, stop) = p.list()?;
    match stop {
        Stop::Eof => Ok(nodes),
        Stop::End(pos) => p.err(pos, "unexpected {{end}}"),
        Stop::Else(pos) => p.err(pos, "unexpected {{else}}"),
    }
}

/// What ended a list of nodes.
enum Stop {
    Eof,
    End(usize),
    Else(usize),
}

struct Parser<'s> {
    name: &'s str,
    src: &'s str,
    toks: Vec<Token>,
    i: usize,
    /// Variables in scope, for the parse-time "undefined variable" check.
    vars: Vec<String>,
    depth: usize,
    range_depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.toks[self.i]
    }

    /// The next token; the final `Eof` repeats.
    fn next(&mut self) -> Token {
        let t = self.toks[self.i].clone();
        if self.i + 1 < self.toks.len() {
            self.i += 1;
        }
        t
    }

    fn err<T>(&self, pos: usize, msg: impl Into<String>) -> Result<T, TemplateError> {
        Err(TemplateError::parse(self.name, self.src, pos, msg.into()))
    }

    /// A token as Go's messages quote it.
    fn describe(&self, t: &Token) -> String {
        match &t.tok {
            Tok::Eof => "EOF".to_string(),
            Tok::Keyword(k) => format!("<{}>", k.name()),
            _ => format!("{:?}", &self.src[t.pos..t.end]),
        }
    }

    fn enter(&mut self, pos: usize) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(pos, format!("nesting deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn list(&mut self) -> Result<(Vec<Node>, Stop), TemplateError> {
        let mut nodes = Vec::new();
        loop {
            let t = self.next();
            match t.tok {
                Tok::Text(s) => nodes.push(Node::Text(s)),
                Tok::Eof => return Ok((nodes, Stop::Eof)),
                Tok::LeftDelim => match self.peek().tok {
                    Tok::Keyword(Keyword::End) => {
                        let pos = self.next().pos;
                        self.expect_right_delim("end")?;
                        return Ok((nodes, Stop::End(pos)));
                    }
                    Tok::Keyword(Keyword::Else) => {
                        return Ok((nodes, Stop::Else(self.next().pos)));
                    }
                    _ => nodes.push(self.action()?),
                },
                _ => return self.err(t.pos, format!("unexpected {}", self.describe(&t))),
            }
        }
    }

    fn expect_right_delim(&mut self, context: &str) -> Result<(), TemplateError> {
        let t = self.next();
        if t.tok != Tok::RightDelim {
            return self.err(
                t.pos,
                format!("unexpected {} in {context}", self.describe(&t)),
            );
        }
        Ok(())
    }

    fn action(&mut self) -> Result<Node, TemplateError> {
        let t = self.peek().clone();
        let Tok::Keyword(kw) = t.tok else {
            return Ok(Node::Action(self.pipeline("command", &Tok::RightDelim)?));
        };
        self.next();
        match kw {
            Keyword::If => Ok(Node::If(self.control(kw, t.pos)?)),
            Keyword::With => Ok(Node::With(self.control(kw, t.pos)?)),
            Keyword::Range => Ok(Node::Range(self.control(kw, t.pos)?)),
            Keyword::Break | Keyword::Continue => {
                let name = kw.name();
                if self.range_depth == 0 {
                    return self.err(t.pos, format!("{{{{{name}}}}} outside {{{{range}}}}"));
                }
                self.expect_right_delim(&format!("{{{{{name}}}}}"))?;
                Ok(if kw == Keyword::Break {
                    Node::Break
                } else {
                    Node::Continue
                })
            }
            Keyword::Define | Keyword::Template | Keyword::Block => self.err(
                t.pos,
                format!("{{{{{}}}}} is not supported in --format", kw.name()),
            ),
            // `list` takes these before calling here.
            Keyword::End | Keyword::Else => {
                self.err(t.pos, format!("unexpected {}", self.describe(&t)))
            }
        }
    }

    /// `if`, `with` or `range`, from its pipeline to its `{{end}}`.
    fn control(&mut self, kw: Keyword, pos: usize) -> Result<Branch, TemplateError> {
        self.enter(pos)?;
        let ctx = kw.name();
        let mark = self.vars.len();
        let pipe = self.pipeline(ctx, &Tok::RightDelim)?;
        let in_range = kw == Keyword::Range;
        self.range_depth += usize::from(in_range);
        let (body, stop) = self.list()?;
        self.range_depth -= usize::from(in_range);
        let otherwise = match stop {
            Stop::End(_) => Vec::new(),
            Stop::Eof => return self.err(self.src.len(), "unexpected EOF"),
            // `{{else if …}}` (and `{{else with …}}`) nest a block that
            // shares the outer one's `{{end}}`.
            Stop::Else(_) if !in_range && self.peek().tok == Tok::Keyword(kw) => {
                let at = self.next().pos;
                let nested = self.control(kw, at)?;
                vec![if kw == Keyword::If {
                    Node::If(nested)
                } else {
                    Node::With(nested)
                }]
            }
            Stop::Else(_) => {
                self.expect_right_delim("else")?;
                match self.list()? {
                    (nodes, Stop::End(_)) => nodes,
                    (_, Stop::Else(at)) => return self.err(at, "expected end; found {{else}}"),
                    (_, Stop::Eof) => return self.err(self.src.len(), "unexpected EOF"),
                }
            }
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        Ok(Branch {
            pipe,
            body,
            otherwise,
        })
    }

    fn use_var(&self, pos: usize, name: &str) -> Result<(), TemplateError> {
        if self.vars.iter().any(|v| v == name) {
            Ok(())
        } else {
            self.err(pos, format!("undefined variable {name:?}"))
        }
    }

    /// Declarations, then commands joined by `|`, then `end`.
    fn pipeline(&mut self, ctx: &str, end: &Tok) -> Result<Pipe, TemplateError> {
        let max_decls = if ctx == "range" { 2 } else { 1 };
        let mut decls = Vec::new();
        let mut assign = false;
        while let Tok::Variable(name) = &self.peek().tok {
            let (name, pos) = (name.clone(), self.peek().pos);
            match self.toks[self.i + 1].tok {
                Tok::Declare | Tok::Assign => {
                    assign = self.toks[self.i + 1].tok == Tok::Assign;
                    self.i += 2;
                    if assign {
                        self.use_var(pos, &name)?;
                    } else {
                        self.vars.push(name.clone());
                    }
                    decls.push(name);
                    break;
                }
                Tok::Comma if ctx == "range" => {
                    self.i += 2;
                    self.vars.push(name.clone());
                    decls.push(name);
                    if decls.len() >= max_decls {
                        return self.err(pos, format!("too many declarations in {ctx}"));
                    }
                    if !matches!(self.peek().tok, Tok::Variable(_)) {
                        return self.err(pos, "range can only initialize variables");
                    }
                }
                _ => break,
            }
        }
        // `$i, $e` not followed by `:=`.
        if !decls.is_empty() && self.toks[self.i - 1].tok == Tok::Comma {
            return self.err(self.peek().pos, "range can only initialize variables");
        }

        let mut cmds: Vec<Command> = Vec::new();
        let mut piped = false;
        loop {
            let t = self.peek().clone();
            if &t.tok == end {
                self.next();
                if cmds.is_empty() {
                    return self.err(t.pos, format!("missing value for {ctx}"));
                }
                if piped {
                    return self.err(t.pos, "missing command after |");
                }
                for (i, cmd) in cmds.iter().enumerate().skip(1) {
                    let first = &cmd.args[0];
                    if matches!(first.arg, Arg::Literal(_) | Arg::Dot | Arg::Nil) {
                        return self.err(
                            first.span.start,
                            format!("non executable command in pipeline stage {}", i + 1),
                        );
                    }
                }
                return Ok(Pipe {
                    decls,
                    assign,
                    cmds,
                });
            }
            match t.tok {
                Tok::RightDelim => return self.err(t.pos, "unclosed left paren"),
                Tok::RightParen => return self.err(t.pos, "unexpected right paren"),
                _ if starts_operand(&t.tok) => {
                    let (cmd, more) = self.command()?;
                    cmds.push(cmd);
                    piped = more;
                }
                _ => {
                    return self.err(t.pos, format!("unexpected {} in {ctx}", self.describe(&t)));
                }
            }
        }
    }

    /// Operands up to `|` (consumed: the bool says so) or the pipeline's end.
    fn command(&mut self) -> Result<(Command, bool), TemplateError> {
        let mut args = Vec::new();
        loop {
            if let Some(op) = self.operand()? {
                args.push(op);
            }
            let t = self.peek().clone();
            match t.tok {
                Tok::Pipe => {
                    self.next();
                    return Ok((Command { args }, true));
                }
                Tok::RightDelim | Tok::RightParen => break,
                ref tok if t.spaced && starts_operand(tok) && !args.is_empty() => continue,
                _ => {
                    return self.err(
                        t.pos,
                        format!("unexpected {} in operand", self.describe(&t)),
                    );
                }
            }
        }
        if args.is_empty() {
            return self.err(self.peek().pos, "empty command");
        }
        Ok((Command { args }, false))
    }

    /// A term and the fields chained onto it without space.
    fn operand(&mut self) -> Result<Option<Operand>, TemplateError> {
        let Some(op) = self.term()? else {
            return Ok(None);
        };
        let mut path = Vec::new();
        let mut end = op.span.end;
        while let Tok::Field(f) = &self.peek().tok {
            if self.peek().spaced {
                break;
            }
            path.push(f.clone());
            end = self.next().end;
        }
        if path.is_empty() {
            return Ok(Some(op));
        }
        let span = Span {
            start: op.span.start,
            end,
        };
        let arg = match op.arg {
            Arg::Field(mut p) => {
                p.extend(path);
                Arg::Field(p)
            }
            Arg::Variable(name, mut p) => {
                p.extend(path);
                Arg::Variable(name, p)
            }
            Arg::Func(_) | Arg::Pipe(_) => Arg::Chain(Box::new(op), path),
            _ => {
                let term = &self.src[op.span.start..op.span.end];
                return self.err(op.span.start, format!("unexpected . after term {term:?}"));
            }
        };
        Ok(Some(Operand { span, arg }))
    }

    fn term(&mut self) -> Result<Option<Operand>, TemplateError> {
        let t = self.peek().clone();
        let arg = match &t.tok {
            Tok::Ident(name) => {
                if !funcs::is_defined(name) {
                    return self.err(t.pos, format!("function {name:?} not defined"));
                }
                Arg::Func(name.clone())
            }
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Variable(name) => {
                self.use_var(t.pos, name)?;
                Arg::Variable(name.clone(), Vec::new())
            }
            Tok::Field(f) => Arg::Field(vec![f.clone()]),
            Tok::Bool(b) => Arg::Literal(Value::Bool(*b)),
            Tok::Number(lit) => match number(lit) {
                Some(v) => Arg::Literal(v),
                None => return self.err(t.pos, format!("bad number syntax: {lit:?}")),
            },
            Tok::Char(c) => Arg::Literal(Value::from(u32::from(*c))),
            Tok::Str(s) => Arg::Literal(Value::String(s.clone())),
            Tok::LeftParen => {
                self.next();
                self.enter(t.pos)?;
                let pipe = self.pipeline("parenthesized pipeline", &Tok::RightParen)?;
                self.depth -= 1;
                let span = Span {
                    start: t.pos,
                    end: self.toks[self.i - 1].end,
                };
                return Ok(Some(Operand {
                    span,
                    arg: Arg::Pipe(Box::new(pipe)),
                }));
            }
            _ => return Ok(None),
        };
        self.next();
        Ok(Some(Operand {
            span: Span {
                start: t.pos,
                end: t.end,
            },
            arg,
        }))
    }
}

fn starts_operand(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Bool(_)
            | Tok::Char(_)
            | Tok::Dot
            | Tok::Field(_)
            | Tok::Ident(_)
            | Tok::Number(_)
            | Tok::Nil
            | Tok::Str(_)
            | Tok::Variable(_)
            | Tok::LeftParen
    )
}

/// A Go number literal as a JSON number: integers stay integers (so they
/// print without a fraction and index lists), the rest are floats.
fn number(lit: &str) -> Option<Value> {
    let clean: String = lit.chars().filter(|&c| c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, clean.strip_prefix('+').unwrap_or(&clean)),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(d) = lower.strip_prefix("0x") {
        (16, d)
    } else if let Some(d) = lower.strip_prefix("0o") {
        (8, d)
    } else if let Some(d) = lower.strip_prefix("0b") {
        (2, d)
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if let Ok(v) = u64::from_str_radix(digits, radix) {
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return if neg {
                i64::try_from(-i128::from(v)).ok().map(Value::from)
            } else {
                Some(Value::from(v))
            };
        }
    }
    if radix == 16 || radix == 2 || (radix == 8 && lower.starts_with("0o")) {
        return None;
    }
    let f: f64 = clean.parse().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::number;
    use serde_json::json;

    #[test]
    fn numbers_keep_go_literal_forms() {
        assert_eq!(number("42"), Some(json!(42)));
        assert_eq!(number("-0x1F"), Some(json!(-31)));
        assert_eq!(number("0o17"), Some(json!(15)));
        assert_eq!(number("017"), Some(json!(15)));
        assert_eq!(number("0b101"), Some(json!(5)));
        assert_eq!(number("1_000"), Some(json!(1000)));
        assert_eq!(number("1.5"), Some(json!(1.5)));
        assert_eq!(number("1e3"), Some(json!(1000.0)));
        assert_eq!(number("0x"), None);
        assert_eq!(number("1e999"), None);
    }
}
