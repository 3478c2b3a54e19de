//! Runs a parsed template over a JSON value.
//!
//! A template is the user's: it can loop (`{{range 1000000000}}`) or
//! grow strings without end. Every node, command and byte a function
//! produces costs steps from a fixed budget, and output and single values
//! have a size cap, so a render always ends, with an error if need be.

use super::ast::{Arg, Branch, Command, Node, Operand, Pipe, Span};
use super::value::{display, is_struct, truthy, type_name};
use super::{funcs, TemplateError, MAX_OUTPUT, MAX_STEPS, MAX_VALUE};
use serde_json::Value;
use std::ops::Deref;
use std::rc::Rc;

static NULL: Value = Value::Null;

/// Bytes of function output that cost one step.
const BYTES_PER_STEP: u64 = 64;

/// Names the column a field path heads, on a table's header line.
pub(super) type HeaderNames<'h> = &'h dyn Fn(&[String]) -> String;

/// A value during execution: borrowed from the data or the template, or
/// made by a function and shared, so that variables and dot copy cheaply.
#[derive(Clone)]
enum Val<'a> {
    Ref(&'a Value),
    Made(Rc<Value>),
}

impl Deref for Val<'_> {
    type Target = Value;
    fn deref(&self) -> &Value {
        match self {
            Val::Ref(v) => v,
            Val::Made(v) => v,
        }
    }
}

enum Flow {
    Next,
    Break,
    Continue,
}

type Res<T> = Result<T, TemplateError>;

/// Renders `nodes` over `data`; with `header`, renders the table header
/// line instead, each field path standing for its column's name.
pub(super) fn run<'a>(
    name: &'a str,
    src: &'a str,
    nodes: &'a [Node],
    data: &'a Value,
    header: Option<HeaderNames<'a>>,
) -> Res<String> {
    let mut ex = Exec {
        name,
        src,
        vars: vec![("$", Val::Ref(data))],
        out: String::new(),
        steps: 0,
        header,
    };
    ex.walk(nodes, &Val::Ref(data))?;
    Ok(ex.out)
}

struct Exec<'a> {
    name: &'a str,
    src: &'a str,
    vars: Vec<(&'a str, Val<'a>)>,
    out: String,
    steps: u64,
    header: Option<HeaderNames<'a>>,
}

impl<'a> Exec<'a> {
    fn error(&self, span: Span, msg: impl Into<String>) -> TemplateError {
        TemplateError::exec(self.name, self.src, span, msg.into())
    }

    fn charge(&mut self, steps: u64) -> Res<()> {
        self.steps = self.steps.saturating_add(steps);
        if self.steps > MAX_STEPS {
            return Err(TemplateError::limit(
                self.name,
                format!("executing {:?}: stopped after {MAX_STEPS} steps", self.name),
            ));
        }
        Ok(())
    }

    /// Charges for a value just built or copied, by its size.
    fn charge_value(&mut self, v: &Value) -> Res<()> {
        self.charge(1 + weight(v, MAX_STEPS * BYTES_PER_STEP) / BYTES_PER_STEP)
    }

    fn emit(&mut self, s: &str) -> Res<()> {
        self.out.push_str(s);
        if self.out.len() > MAX_OUTPUT {
            return Err(TemplateError::limit(
                self.name,
                format!(
                    "executing {:?}: output larger than {MAX_OUTPUT} bytes",
                    self.name
                ),
            ));
        }
        Ok(())
    }

    fn walk(&mut self, nodes: &'a [Node], dot: &Val<'a>) -> Res<Flow> {
        for node in nodes {
            self.charge(1)?;
            match node {
                Node::Text(t) => self.emit(t)?,
                Node::Action(pipe) => {
                    let v = self.pipeline(pipe, dot)?;
                    // An action that declares a variable prints nothing.
                    if pipe.decls.is_empty() {
                        self.emit(&display(&v))?;
                    }
                }
                Node::If(b) | Node::With(b) => {
                    let mark = self.vars.len();
                    let v = self.pipeline(&b.pipe, dot)?;
                    let flow = match (truthy(&v), node) {
                        (true, Node::With(_)) => self.walk(&b.body, &v)?,
                        (true, _) => self.walk(&b.body, dot)?,
                        (false, _) => self.walk(&b.otherwise, dot)?,
                    };
                    self.vars.truncate(mark);
                    if !matches!(flow, Flow::Next) {
                        return Ok(flow);
                    }
                }
                Node::Range(b) => {
                    let mark = self.vars.len();
                    self.range(b, dot)?;
                    self.vars.truncate(mark);
                }
                Node::Break => return Ok(Flow::Break),
                Node::Continue => return Ok(Flow::Continue),
            }
        }
        Ok(Flow::Next)
    }

    fn range(&mut self, b: &'a Branch, dot: &Val<'a>) -> Res<()> {
        let span = b.pipe.cmds[0].args[0].span;
        let v = self.pipeline_value(&b.pipe, dot)?;
        let list: Option<Vec<(Value, Val<'a>)>> = match &v {
            Val::Ref(r) => {
                let r: &'a Value = r;
                match r {
                    Value::Array(a) => Some(
                        a.iter()
                            .enumerate()
                            .map(|(i, e)| (Value::from(i), Val::Ref(e)))
                            .collect(),
                    ),
                    Value::Object(m) => Some(
                        m.iter()
                            .map(|(k, e)| (Value::String(k.clone()), Val::Ref(e)))
                            .collect(),
                    ),
                    _ => None,
                }
            }
            Val::Made(rc) if rc.is_array() || rc.is_object() => {
                self.charge_value(rc)?;
                let made = |e: &Value| Val::Made(Rc::new(e.clone()));
                match &**rc {
                    Value::Array(a) => Some(
                        a.iter()
                            .enumerate()
                            .map(|(i, e)| (Value::from(i), made(e)))
                            .collect(),
                    ),
                    Value::Object(m) => Some(
                        m.iter()
                            .map(|(k, e)| (Value::String(k.clone()), made(e)))
                            .collect(),
                    ),
                    _ => None,
                }
            }
            Val::Made(_) => None,
        };
        let items = match (list, &*v) {
            (Some(items), _) => items,
            (None, Value::Null) => Vec::new(),
            // Go 1.22 ranges over an integer n as 0..n.
            (None, Value::Number(n)) if n.as_u64().is_some() || n.as_i64().is_some() => {
                if b.pipe.decls.len() > 1 {
                    return Err(self.error(
                        span,
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                let count = n.as_u64().unwrap_or(0);
                if count == 0 {
                    self.walk(&b.otherwise, dot)?;
                }
                for i in 0..count {
                    let i = Val::Made(Rc::new(Value::from(i)));
                    if matches!(self.iteration(b, i.clone(), i, span)?, Flow::Break) {
                        break;
                    }
                }
                return Ok(());
            }
            // On the header line a list field is its column's name: run
            // the body once, so the names in it show.
            (None, Value::String(_)) if self.header.is_some() => {
                vec![(Value::from(0), v.clone())]
            }
            (None, other) => {
                return Err(
                    self.error(span, format!("range can't iterate over {}", display(other)))
                );
            }
        };
        if items.is_empty() {
            self.walk(&b.otherwise, dot)?;
        }
        for (key, elem) in items {
            let key = Val::Made(Rc::new(key));
            if matches!(self.iteration(b, key, elem, span)?, Flow::Break) {
                break;
            }
        }
        Ok(())
    }

    fn iteration(&mut self, b: &'a Branch, key: Val<'a>, elem: Val<'a>, span: Span) -> Res<Flow> {
        self.charge(1)?;
        let mark = self.vars.len();
        let decls = &b.pipe.decls;
        let bind: Vec<(&'a str, Val<'a>)> = match decls.len() {
            0 => Vec::new(),
            1 => vec![(decls[0].as_str(), elem.clone())],
            _ => vec![(decls[0].as_str(), key), (decls[1].as_str(), elem.clone())],
        };
        for (name, v) in bind {
            if b.pipe.assign {
                self.set_var(name, v, span)?;
            } else {
                self.vars.push((name, v));
            }
        }
        let flow = self.walk(&b.body, &elem)?;
        self.vars.truncate(mark);
        Ok(flow)
    }

    fn pipeline(&mut self, pipe: &'a Pipe, dot: &Val<'a>) -> Res<Val<'a>> {
        let v = self.pipeline_value(pipe, dot)?;
        for name in &pipe.decls {
            if pipe.assign {
                self.set_var(name, v.clone(), pipe.cmds[0].args[0].span)?;
            } else {
                self.vars.push((name.as_str(), v.clone()));
            }
        }
        Ok(v)
    }

    /// The pipeline's value, without binding its variables.
    fn pipeline_value(&mut self, pipe: &'a Pipe, dot: &Val<'a>) -> Res<Val<'a>> {
        let mut val = None;
        for cmd in &pipe.cmds {
            val = Some(self.command(cmd, dot, val)?);
        }
        Ok(val.unwrap_or(Val::Ref(&NULL)))
    }

    /// One command; `fin` is the previous command's value, passed on as
    /// the last argument.
    fn command(&mut self, cmd: &'a Command, dot: &Val<'a>, fin: Option<Val<'a>>) -> Res<Val<'a>> {
        self.charge(1)?;
        let first = &cmd.args[0];
        let rest = &cmd.args[1..];
        let has_args = !rest.is_empty() || fin.is_some();
        match &first.arg {
            Arg::Func(name) => self.call(name, first, rest, fin, dot),
            Arg::Nil => Err(self.error(first.span, "nil is not a command")),
            Arg::Field(path) | Arg::Variable(_, path) | Arg::Chain(_, path)
                if has_args && !path.is_empty() =>
            {
                let last = path.last().map_or("", String::as_str);
                Err(self.error(
                    first.span,
                    format!("{last} is not a method but has arguments"),
                ))
            }
            _ if has_args => {
                let text = &self.src[first.span.start..first.span.end];
                Err(self.error(
                    first.span,
                    format!("can't give argument to non-function {text}"),
                ))
            }
            _ => self.arg(first, dot),
        }
    }

    /// An operand's value.
    fn arg(&mut self, op: &'a Operand, dot: &Val<'a>) -> Res<Val<'a>> {
        match &op.arg {
            Arg::Dot => Ok(dot.clone()),
            Arg::Nil => Ok(Val::Ref(&NULL)),
            Arg::Literal(v) => Ok(Val::Ref(v)),
            Arg::Field(path) => self.fields(dot.clone(), path, op),
            Arg::Variable(name, path) => {
                let v = self.var(name, op.span)?;
                self.fields(v, path, op)
            }
            Arg::Func(name) => self.call(name, op, &[], None, dot),
            Arg::Chain(inner, path) => {
                let v = self.arg(inner, dot)?;
                self.fields(v, path, op)
            }
            Arg::Pipe(p) => self.pipeline(p, dot),
        }
    }

    fn var(&self, name: &str, span: Span) -> Res<Val<'a>> {
        match self.vars.iter().rev().find(|(n, _)| *n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.error(span, format!("undefined variable: {name}"))),
        }
    }

    fn set_var(&mut self, name: &str, v: Val<'a>, span: Span) -> Res<()> {
        match self.vars.iter_mut().rev().find(|(n, _)| *n == name) {
            Some(slot) => {
                slot.1 = v;
                Ok(())
            }
            None => Err(self.error(span, format!("undefined variable: {name}"))),
        }
    }

    fn fields(&mut self, recv: Val<'a>, path: &'a [String], op: &Operand) -> Res<Val<'a>> {
        if path.is_empty() {
            return Ok(recv);
        }
        if let Some(names) = self.header {
            return Ok(Val::Made(Rc::new(Value::String(names(path)))));
        }
        let mut cur = recv;
        for name in path {
            cur = self.field(cur, name, op)?;
        }
        Ok(cur)
    }

    fn field(&mut self, recv: Val<'a>, name: &str, op: &Operand) -> Res<Val<'a>> {
        match &*recv {
            Value::Object(m) if m.contains_key(name) => {}
            Value::Object(m) if is_struct(m) => {
                return Err(self.error(
                    op.span,
                    format!("can't evaluate field {name} in type {}", type_name(&recv)),
                ));
            }
            // A map's missing key, or a field of nothing: Go's <no value>.
            Value::Object(_) | Value::Null => return Ok(Val::Ref(&NULL)),
            other => {
                return Err(self.error(
                    op.span,
                    format!("can't evaluate field {name} in type {}", type_name(other)),
                ));
            }
        }
        match recv {
            Val::Ref(v) => Ok(Val::Ref(&v[name])),
            Val::Made(v) => {
                let child = v[name].clone();
                self.charge_value(&child)?;
                Ok(Val::Made(Rc::new(child)))
            }
        }
    }

    fn call(
        &mut self,
        name: &'a str,
        fop: &'a Operand,
        args: &'a [Operand],
        fin: Option<Val<'a>>,
        dot: &Val<'a>,
    ) -> Res<Val<'a>> {
        if name == "and" || name == "or" {
            // Both stop at their answer, leaving later arguments
            // unevaluated, and give back the deciding value itself.
            if args.is_empty() && fin.is_none() {
                return Err(self.error(
                    fop.span,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let stop_at = name == "or";
            let mut last = None;
            for a in args {
                let v = self.arg(a, dot)?;
                if truthy(&v) == stop_at {
                    return Ok(v);
                }
                last = Some(v);
            }
            return Ok(fin.or(last).unwrap_or(Val::Ref(&NULL)));
        }
        let mut vals = Vec::with_capacity(args.len() + 1);
        for a in args {
            vals.push(self.arg(a, dot)?);
        }
        vals.extend(fin);
        let refs: Vec<&Value> = vals.iter().map(|v| &**v).collect();
        match funcs::call(name, &refs, self.header.is_some()) {
            Ok(v) => {
                self.charge_value(&v)?;
                if v.as_str().is_some_and(|s| s.len() > MAX_VALUE) {
                    return Err(self.error(
                        fop.span,
                        format!("error calling {name}: result larger than {MAX_VALUE} bytes"),
                    ));
                }
                Ok(Val::Made(Rc::new(v)))
            }
            Err(e) => {
                let span = e.arg.and_then(|i| args.get(i)).map_or(fop.span, |a| a.span);
                Err(self.error(span, e.msg))
            }
        }
    }
}

/// About how many bytes a value holds, counting no further than `cap`.
fn weight(v: &Value, cap: u64) -> u64 {
    let mut total = 0u64;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        total += 8;
        match v {
            Value::String(s) => total += s.len() as u64,
            Value::Array(a) => stack.extend(a),
            Value::Object(m) => {
                for (k, x) in m {
                    total += k.len() as u64;
                    stack.push(x);
                }
            }
            _ => {}
        }
        if total > cap {
            break;
        }
    }
    total
}
