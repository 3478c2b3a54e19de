//! The functions a template may call: Go's builtins and podman's report
//! functions (json, lower, upper, title, join, split, truncate, pad), plus
//! contains, replace and size.

use super::printf::{sprint, sprintf, sprintln};
use super::value::{as_int, float_g, truthy, type_name, write_v};
use serde_json::Value;

/// Every name the parser accepts as a function.
const NAMES: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "json", "lower", "upper", "title", "join", "split", "truncate", "pad",
    "contains", "replace", "size",
];

/// Functions that, on a table's header line, hand back their first
/// argument (the header name) untouched: `{{truncate .ID 12}}` is headed
/// "CONTAINER ID", not "CONTAINER I", and `{{join .Names ","}}` "NAMES".
const HEADER_PASSTHROUGH: &[&str] = &[
    "json", "lower", "upper", "title", "join", "split", "truncate", "pad", "replace", "size",
    "index", "slice",
];

/// The most pieces `split` makes: each is a JSON value of its own.
const MAX_PARTS: usize = 100_000;

pub(super) fn is_defined(name: &str) -> bool {
    NAMES.contains(&name)
}

/// Why a call failed; `arg` names the argument at fault, if one is.
pub(super) struct FnError {
    pub msg: String,
    pub arg: Option<usize>,
}

type FnResult = Result<Value, FnError>;

fn fail(msg: impl Into<String>) -> FnError {
    FnError {
        msg: msg.into(),
        arg: None,
    }
}

/// An "error calling NAME" failure: the function ran and refused.
fn refused(name: &str, msg: impl std::fmt::Display) -> FnError {
    fail(format!("error calling {name}: {msg}"))
}

fn arity(name: &str, args: &[&Value], want: usize) -> Result<(), FnError> {
    if args.len() != want {
        return Err(fail(format!(
            "wrong number of args for {name}: want {want} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn at_least(name: &str, args: &[&Value], want: usize) -> Result<(), FnError> {
    if args.len() < want {
        return Err(fail(format!(
            "wrong number of args for {name}: want at least {want} got {}",
            args.len()
        )));
    }
    Ok(())
}

fn wrong_type(i: usize, want: &str, got: &Value) -> FnError {
    let msg = if got.is_null() {
        format!("invalid value; expected {want}")
    } else {
        format!(
            "wrong type for value; expected {want}; got {}",
            type_name(got)
        )
    };
    FnError { msg, arg: Some(i) }
}

fn string_arg<'v>(args: &[&'v Value], i: usize) -> Result<&'v str, FnError> {
    args[i]
        .as_str()
        .ok_or_else(|| wrong_type(i, "string", args[i]))
}

fn int_arg(args: &[&Value], i: usize) -> Result<i64, FnError> {
    as_int(args[i]).ok_or_else(|| wrong_type(i, "int", args[i]))
}

/// Calls a function other than `and` and `or`, which the executor runs
/// itself since they stop evaluating at their answer.
pub(super) fn call(name: &str, args: &[&Value], header: bool) -> FnResult {
    if header && HEADER_PASSTHROUGH.contains(&name) {
        if let Some(first) = args.first() {
            return Ok((*first).clone());
        }
    }
    match name {
        "not" => {
            arity(name, args, 1)?;
            Ok(Value::Bool(!truthy(args[0])))
        }
        "len" => {
            arity(name, args, 1)?;
            let n = match args[0] {
                Value::String(s) => s.len(),
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                v => return Err(refused(name, format_args!("len of type {}", type_name(v)))),
            };
            Ok(Value::from(n))
        }
        "index" => {
            at_least(name, args, 1)?;
            index(args)
        }
        "slice" => {
            at_least(name, args, 1)?;
            slice(args)
        }
        "print" => Ok(Value::String(sprint(args))),
        "println" => Ok(Value::String(sprintln(args))),
        "printf" => {
            at_least(name, args, 1)?;
            let format = string_arg(args, 0)?;
            Ok(Value::String(sprintf(format, &args[1..], header)))
        }
        "eq" | "ne" | "lt" | "le" | "gt" | "ge" => compare(name, args, header),
        "json" => {
            arity(name, args, 1)?;
            serde_json::to_string(args[0])
                .map(Value::String)
                .map_err(|e| refused(name, e))
        }
        "lower" | "upper" | "title" => {
            arity(name, args, 1)?;
            let s = string_arg(args, 0)?;
            Ok(Value::String(match name {
                "lower" => s.to_lowercase(),
                "upper" => s.to_uppercase(),
                _ => title(s),
            }))
        }
        "join" => {
            arity(name, args, 2)?;
            let sep = string_arg(args, 1)?;
            join(args[0], sep)
        }
        "split" => {
            arity(name, args, 2)?;
            let (s, sep) = (string_arg(args, 0)?, string_arg(args, 1)?);
            let count = if sep.is_empty() {
                s.chars().count()
            } else {
                s.matches(sep).count() + 1
            };
            if count > MAX_PARTS {
                return Err(refused(name, format_args!("more than {MAX_PARTS} parts")));
            }
            let parts: Vec<Value> = if sep.is_empty() {
                s.chars().map(|c| Value::String(c.to_string())).collect()
            } else {
                s.split(sep).map(|p| Value::String(p.to_string())).collect()
            };
            Ok(Value::Array(parts))
        }
        "truncate" => {
            arity(name, args, 2)?;
            let (s, n) = (string_arg(args, 0)?, int_arg(args, 1)?);
            let n = usize::try_from(n).map_err(|_| refused(name, "negative length"))?;
            Ok(Value::String(s.chars().take(n).collect()))
        }
        "pad" => {
            arity(name, args, 3)?;
            let s = string_arg(args, 0)?;
            let (before, after) = (int_arg(args, 1)?, int_arg(args, 2)?);
            if s.is_empty() {
                return Ok(Value::String(String::new()));
            }
            let count = |n: i64| usize::try_from(n).map_err(|_| refused(name, "negative count"));
            let (before, after) = (count(before)?, count(after)?);
            if before.saturating_add(after) > super::MAX_VALUE {
                return Err(refused(name, "padding too large"));
            }
            Ok(Value::String(format!(
                "{}{s}{}",
                " ".repeat(before),
                " ".repeat(after)
            )))
        }
        "contains" => {
            arity(name, args, 2)?;
            let (s, sub) = (string_arg(args, 0)?, string_arg(args, 1)?);
            Ok(Value::Bool(s.contains(sub)))
        }
        "replace" => {
            arity(name, args, 3)?;
            let (s, old, new) = (
                string_arg(args, 0)?,
                string_arg(args, 1)?,
                string_arg(args, 2)?,
            );
            // An empty `old` inserts `new` between every character: bound
            // the result before building it.
            let grows = new.len().saturating_sub(old.len());
            let times = if old.is_empty() {
                s.chars().count() + 1
            } else {
                s.matches(old).count()
            };
            if s.len().saturating_add(grows.saturating_mul(times)) > super::MAX_VALUE {
                return Err(refused(name, "result too large"));
            }
            Ok(Value::String(s.replace(old, new)))
        }
        "size" => {
            arity(name, args, 1)?;
            let n = args[0]
                .as_f64()
                .ok_or_else(|| wrong_type(0, "int64", args[0]))?;
            Ok(Value::String(human_size(n)))
        }
        _ => Err(fail(format!("function {name:?} not defined"))),
    }
}

/// `index X K1 K2…`: lists by int, maps by string. A key a map lacks
/// gives the zero value of the map's values, as Go's `index` does;
/// podman's maps hold strings, so an empty map gives "".
fn index(args: &[&Value]) -> FnResult {
    let mut cur = args[0].clone();
    for (i, key) in args.iter().enumerate().skip(1) {
        cur = match cur {
            Value::Array(mut items) => {
                let Some(k) = as_int(key) else {
                    return Err(refused(
                        "index",
                        format_args!("cannot index slice/array with type {}", type_name(key)),
                    ));
                };
                if k < 0 || k as u64 >= items.len() as u64 {
                    return Err(refused("index", format_args!("index out of range: {k}")));
                }
                items.swap_remove(k as usize)
            }
            Value::String(s) => {
                let Some(k) = as_int(key) else {
                    return Err(refused(
                        "index",
                        format_args!("cannot index string with type {}", type_name(key)),
                    ));
                };
                match usize::try_from(k).ok().and_then(|k| s.as_bytes().get(k)) {
                    Some(b) => Value::from(*b),
                    None => return Err(refused("index", format_args!("index out of range: {k}"))),
                }
            }
            Value::Object(mut m) => {
                let Some(k) = key.as_str() else {
                    return Err(FnError {
                        msg: format!(
                            "error calling index: value has type {}; should be string",
                            type_name(key)
                        ),
                        arg: Some(i),
                    });
                };
                match m.remove(k) {
                    Some(v) => v,
                    None => zero_like(m.values().next()),
                }
            }
            Value::Null => return Err(refused("index", "index of untyped nil")),
            other => {
                return Err(refused(
                    "index",
                    format_args!("can't index item of type {}", type_name(&other)),
                ));
            }
        };
    }
    Ok(cur)
}

fn zero_like(sample: Option<&Value>) -> Value {
    match sample {
        None | Some(Value::String(_)) => Value::String(String::new()),
        Some(Value::Number(_)) => Value::from(0),
        Some(Value::Bool(_)) => Value::Bool(false),
        Some(_) => Value::Null,
    }
}

/// `slice X i j`: a substring (by bytes, as Go) or a sublist.
fn slice(args: &[&Value]) -> FnResult {
    if args.len() > 3 {
        return Err(refused("slice", "too many slice indexes"));
    }
    let len = match args[0] {
        Value::String(s) => s.len(),
        Value::Array(a) => a.len(),
        v => {
            return Err(refused(
                "slice",
                format_args!("can't slice item of type {}", type_name(v)),
            ));
        }
    };
    let mut bounds = [0, len];
    for (b, arg) in bounds.iter_mut().zip(&args[1..]) {
        let i = as_int(arg).ok_or_else(|| {
            refused(
                "slice",
                format_args!("cannot index slice/array with type {}", type_name(arg)),
            )
        })?;
        *b = usize::try_from(i)
            .ok()
            .filter(|&i| i <= len)
            .ok_or_else(|| refused("slice", format_args!("index out of range: {i}")))?;
    }
    let [lo, hi] = bounds;
    if lo > hi {
        return Err(refused(
            "slice",
            format_args!("invalid slice index: {lo} > {hi}"),
        ));
    }
    match args[0] {
        Value::String(s) => s
            .get(lo..hi)
            .map(|s| Value::String(s.to_string()))
            .ok_or_else(|| refused("slice", "slice splits a character")),
        Value::Array(a) => Ok(Value::Array(a[lo..hi].to_vec())),
        _ => unreachable!("checked above"),
    }
}

/// `join LIST SEP`. podman's lists are []string; other elements print as
/// `%v` would rather than fail, and a null list joins to "".
fn join(list: &Value, sep: &str) -> FnResult {
    match list {
        Value::Null => Ok(Value::String(String::new())),
        Value::Array(items) => {
            let mut out = String::new();
            for (i, item) in items.iter().enumerate() {
                if out.len() > super::MAX_VALUE {
                    return Err(refused("join", "result too large"));
                }
                if i > 0 {
                    out.push_str(sep);
                }
                write_v(&mut out, item);
            }
            Ok(Value::String(out))
        }
        v => Err(wrong_type(0, "[]string", v)),
    }
}

/// Go's `strings.Title`: a letter after a separator goes upper-case.
fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let sep = if prev.is_ascii() {
                !(prev.is_ascii_alphanumeric() || prev == '_')
            } else {
                prev.is_whitespace()
            };
            prev = c;
            if sep {
                c.to_uppercase().next().unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// Sizes as podman's `images` prints them: three significant digits and
/// a decimal unit, "77.8 MB".
fn human_size(bytes: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut size = bytes;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    format!("{} {}", float_g(size, Some(3)), UNITS[unit])
}

/// Go's comparison functions: basic values of one kind, numbers compared
/// by value whether integral or not (JSON does not keep Go's int and
/// float apart). On a header line names stand where numbers will be, so
/// a mismatch is false rather than an error.
fn compare(name: &str, args: &[&Value], header: bool) -> FnResult {
    use std::cmp::Ordering;
    let basic = |v: &Value| matches!(v, Value::Bool(_) | Value::Number(_) | Value::String(_));
    let order = |a: &Value, b: &Value| -> Result<Option<Ordering>, FnError> {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => Ok(match (x.as_i64(), y.as_i64()) {
                (Some(x), Some(y)) => Some(x.cmp(&y)),
                _ => x
                    .as_f64()
                    .zip(y.as_f64())
                    .and_then(|(x, y)| x.partial_cmp(&y)),
            }),
            (Value::String(x), Value::String(y)) => Ok(Some(x.cmp(y))),
            (Value::Bool(x), Value::Bool(y)) => Ok(Some(x.cmp(y))),
            _ if !basic(a) || !basic(b) => Err(refused(name, "invalid type for comparison")),
            _ => Err(refused(name, "incompatible types for comparison")),
        }
    };
    let result = (|| match name {
        "eq" => {
            at_least(name, args, 2)?;
            let first = args[0];
            let mut any = false;
            for other in &args[1..] {
                let equal = match (first, *other) {
                    (Value::Null, b) => b.is_null(),
                    (_, Value::Null) => false,
                    (a, b) if !basic(a) || !basic(b) => {
                        return Err(refused(name, "non-comparable type"));
                    }
                    (a, b) => order(a, b)? == Some(Ordering::Equal),
                };
                if equal {
                    any = true;
                    break;
                }
            }
            Ok(any)
        }
        _ => {
            arity(name, args, 2)?;
            let (a, b) = (args[0], args[1]);
            if matches!(name, "lt" | "le" | "gt" | "ge")
                && (matches!(a, Value::Bool(_)) || matches!(b, Value::Bool(_)))
            {
                return Err(refused(name, "invalid type for comparison"));
            }
            let ord = if name == "ne" && (a.is_null() || b.is_null()) {
                Ok(if a.is_null() && b.is_null() {
                    Some(Ordering::Equal)
                } else {
                    None
                })
            } else {
                order(a, b)
            };
            ord.map(|o| match name {
                "ne" => o != Some(Ordering::Equal),
                "lt" => o == Some(Ordering::Less),
                "le" => matches!(o, Some(Ordering::Less | Ordering::Equal)),
                "gt" => o == Some(Ordering::Greater),
                _ => matches!(o, Some(Ordering::Greater | Ordering::Equal)),
            })
        }
    })();
    match result {
        Ok(b) => Ok(Value::Bool(b)),
        Err(_) if header => Ok(Value::Bool(false)),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn call_ok(name: &str, args: &[Value]) -> Value {
        let refs: Vec<&Value> = args.iter().collect();
        call(name, &refs, false).unwrap_or_else(|e| panic!("{name}: {}", e.msg))
    }

    #[test]
    fn podman_string_functions() {
        assert_eq!(
            call_ok("join", &[json!(["a", "b"]), json!(",")]),
            json!("a,b")
        );
        assert_eq!(
            call_ok("split", &[json!("a:b"), json!(":")]),
            json!(["a", "b"])
        );
        assert_eq!(
            call_ok("truncate", &[json!("abcdef"), json!(3)]),
            json!("abc")
        );
        assert_eq!(call_ok("truncate", &[json!("ab"), json!(3)]), json!("ab"));
        assert_eq!(
            call_ok("pad", &[json!("x"), json!(1), json!(2)]),
            json!(" x  ")
        );
        assert_eq!(call_ok("pad", &[json!(""), json!(1), json!(2)]), json!(""));
        assert_eq!(
            call_ok("title", &[json!("hello wide-world")]),
            json!("Hello Wide-World")
        );
        assert_eq!(
            call_ok("replace", &[json!("a.b.c"), json!("."), json!("/")]),
            json!("a/b/c")
        );
        assert_eq!(
            call_ok("contains", &[json!("abc"), json!("b")]),
            json!(true)
        );
        assert_eq!(
            call_ok("json", &[json!({"a": [1, "<"]})]),
            json!(r#"{"a":[1,"<"]}"#)
        );
    }

    #[test]
    fn sizes_read_as_podman_images_prints_them() {
        assert_eq!(human_size(0.0), "0 B");
        assert_eq!(human_size(999.0), "999 B");
        assert_eq!(human_size(77_800_000.0), "77.8 MB");
        assert_eq!(human_size(1_234_567.0), "1.23 MB");
        assert_eq!(human_size(5_000_000_000.0), "5 GB");
    }

    #[test]
    fn index_and_slice() {
        assert_eq!(
            call_ok("index", &[json!({"a": "x"}), json!("a")]),
            json!("x")
        );
        assert_eq!(
            call_ok("index", &[json!({"a": "x"}), json!("b")]),
            json!("")
        );
        assert_eq!(call_ok("index", &[json!({}), json!("b")]), json!(""));
        assert_eq!(
            call_ok("index", &[json!([[1, 2], [3]]), json!(0), json!(1)]),
            json!(2)
        );
        assert_eq!(
            call_ok("slice", &[json!("abcdef"), json!(1), json!(3)]),
            json!("bc")
        );
        assert_eq!(
            call_ok("slice", &[json!([1, 2, 3]), json!(1)]),
            json!([2, 3])
        );
        let refs = [&json!([1]), &json!(5)];
        assert_eq!(
            call("index", &refs, false).unwrap_err().msg,
            "error calling index: index out of range: 5"
        );
    }

    #[test]
    fn comparisons() {
        assert_eq!(
            call_ok("eq", &[json!(1), json!(2), json!(1.0)]),
            json!(true)
        );
        assert_eq!(call_ok("eq", &[json!("a"), json!("b")]), json!(false));
        assert_eq!(call_ok("eq", &[json!(null), json!(null)]), json!(true));
        assert_eq!(call_ok("lt", &[json!("a"), json!("b")]), json!(true));
        assert_eq!(call_ok("ge", &[json!(3), json!(3)]), json!(true));
        assert_eq!(call_ok("ne", &[json!(3), json!(null)]), json!(true));
        let refs = [&json!(1), &json!("1")];
        assert_eq!(
            call("eq", &refs, false).unwrap_err().msg,
            "error calling eq: incompatible types for comparison"
        );
        let refs = [&json!([1]), &json!([1])];
        assert!(call("eq", &refs, false).is_err());
    }
}
