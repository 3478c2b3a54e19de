//! The parsed form of a template.

use serde_json::Value;

/// A byte range of the source, kept so execution errors can quote the
/// operand they are about, with its line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span {
    pub start: usize,
    pub end: usize,
}

#[derive(Debug)]
pub(super) enum Node {
    Text(String),
    Action(Pipe),
    If(Branch),
    With(Branch),
    Range(Branch),
    Break,
    Continue,
}

/// The shape shared by `if`, `with` and `range`: `{{else if}}` is an `If`
/// alone in `otherwise`.
#[derive(Debug)]
pub(super) struct Branch {
    pub pipe: Pipe,
    pub body: Vec<Node>,
    pub otherwise: Vec<Node>,
}

#[derive(Debug)]
pub(super) struct Pipe {
    /// Variables the pipeline declares (`$x :=`) or assigns (`$x =`).
    pub decls: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub(super) struct Command {
    pub args: Vec<Operand>,
}

#[derive(Debug)]
pub(super) struct Operand {
    pub span: Span,
    pub arg: Arg,
}

#[derive(Debug)]
pub(super) enum Arg {
    Dot,
    Nil,
    Literal(Value),
    /// `.A.B`, from dot.
    Field(Vec<String>),
    /// `$x.A.B`; the path may be empty.
    Variable(String, Vec<String>),
    Func(String),
    /// `(pipeline).A.B` or `func.A`.
    Chain(Box<Operand>, Vec<String>),
    Pipe(Box<Pipe>),
}
