//! Go's `fmt.Sprintf`, `Sprint` and `Sprintln` over JSON values, with Go's
//! in-band complaints (`%!d(string=x)`, `%!s(MISSING)`) instead of errors.

use super::value::{self, float_e, float_f, float_g, type_name, write_v};
use serde_json::Value;
use std::iter::Peekable;
use std::str::Chars;

/// Go refuses widths and precisions beyond this, which also bounds what
/// one verb can allocate.
const MAX_WIDTH: usize = 1_000_000;

#[derive(Default, Clone, Copy)]
struct Spec {
    minus: bool,
    plus: bool,
    sharp: bool,
    zero: bool,
    space: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `header` is set while a table's header line renders: the header
/// names are strings standing where numbers will be, so every verb prints
/// a string as `%s` would, keeping the column's width.
pub(super) fn sprintf(format: &str, args: &[&Value], header: bool) -> String {
    let mut out = String::new();
    let mut next = 0;
    let mut it = format.chars().peekable();
    while let Some(c) = it.next() {
        if out.len() > super::MAX_VALUE {
            // The caller refuses results this long; stop building it.
            break;
        }
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&f) = it.peek() {
            match f {
                '-' => spec.minus = true,
                '+' => spec.plus = true,
                '#' => spec.sharp = true,
                '0' => spec.zero = true,
                ' ' => spec.space = true,
                _ => break,
            }
            it.next();
        }
        match count(&mut it, args, &mut next) {
            Count::None => {}
            Count::Some(w) if w < 0 => {
                spec.minus = true;
                spec.width = Some(w.unsigned_abs() as usize);
            }
            Count::Some(w) => spec.width = Some(w as usize),
            Count::Bad => out.push_str("%!(BADWIDTH)"),
        }
        if it.peek() == Some(&'.') {
            it.next();
            match count(&mut it, args, &mut next) {
                Count::None => spec.prec = Some(0),
                Count::Some(p) if p < 0 => {}
                Count::Some(p) => spec.prec = Some(p as usize),
                Count::Bad => out.push_str("%!(BADPREC)"),
            }
        }
        let Some(verb) = it.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        next += 1;
        format_arg(&mut out, arg, verb, spec, header);
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, a) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if !a.is_null() {
                out.push_str(type_name(a));
                out.push('=');
            }
            write_v(&mut out, a);
        }
        out.push(')');
    }
    out
}

/// Go's `Sprint`: a space between operands when neither is a string.
pub(super) fn sprint(args: &[&Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.is_string();
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        write_v(&mut out, a);
        prev_string = is_string;
    }
    out
}

/// Go's `Sprintln`: spaces between all operands, and a newline.
pub(super) fn sprintln(args: &[&Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_v(&mut out, a);
    }
    out.push('\n');
    out
}

enum Count {
    None,
    Some(i64),
    Bad,
}

/// A width or precision: digits, or `*` taking an int argument.
fn count(it: &mut Peekable<Chars>, args: &[&Value], next: &mut usize) -> Count {
    if it.peek() == Some(&'*') {
        it.next();
        let n = args.get(*next).and_then(|a| value::as_int(a));
        *next += 1;
        return match n {
            Some(n) if n.unsigned_abs() <= MAX_WIDTH as u64 => Count::Some(n),
            _ => Count::Bad,
        };
    }
    let mut n: Option<u64> = None;
    while let Some(d) = it.peek().and_then(|c| c.to_digit(10)) {
        it.next();
        n = Some(
            n.unwrap_or(0)
                .saturating_mul(10)
                .saturating_add(u64::from(d)),
        );
    }
    match n {
        None => Count::None,
        Some(n) if n <= MAX_WIDTH as u64 => Count::Some(n as i64),
        Some(_) => Count::Bad,
    }
}

fn format_arg(out: &mut String, v: &Value, verb: char, spec: Spec, header: bool) {
    match v {
        // Go formats the elements of lists and maps with the verb.
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if out.len() > super::MAX_VALUE {
                    return;
                }
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, item, verb, spec, header);
            }
            out.push(']');
        }
        Value::Object(m) => {
            out.push_str("map[");
            for (i, (k, item)) in m.iter().enumerate() {
                if out.len() > super::MAX_VALUE {
                    return;
                }
                if i > 0 {
                    out.push(' ');
                }
                format_arg(out, &Value::String(k.clone()), verb, spec, header);
                out.push(':');
                format_arg(out, item, verb, spec, header);
            }
            out.push(']');
        }
        Value::Null if verb == 'v' => pad(out, "<nil>", spec),
        Value::Bool(b) if verb == 't' || verb == 'v' => {
            pad(out, if *b { "true" } else { "false" }, spec)
        }
        Value::String(s) => {
            let verb = if header && !matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') {
                's'
            } else {
                verb
            };
            format_string(out, s, verb, spec, v);
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64().map(i128::from).or(n.as_u64().map(i128::from)) {
                format_int(out, i, verb, spec, v);
            } else {
                format_float(out, n.as_f64().unwrap_or(0.0), verb, spec, v);
            }
        }
        _ => bad_verb(out, verb, v),
    }
}

fn bad_verb(out: &mut String, verb: char, v: &Value) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if !v.is_null() {
        out.push_str(type_name(v));
        out.push('=');
    }
    write_v(out, v);
    out.push(')');
}

/// Pads to the width with spaces, on the left unless `-`.
fn pad(out: &mut String, s: &str, spec: Spec) {
    let fill = spec.width.unwrap_or(0).saturating_sub(s.chars().count());
    if !spec.minus {
        out.extend(std::iter::repeat_n(' ', fill));
    }
    out.push_str(s);
    if spec.minus {
        out.extend(std::iter::repeat_n(' ', fill));
    }
}

/// Pads a number: zeros go between the sign and the digits.
fn pad_number(out: &mut String, sign: &str, body: &str, spec: Spec) {
    let len = sign.len() + body.chars().count();
    let fill = spec.width.unwrap_or(0).saturating_sub(len);
    if spec.zero && !spec.minus {
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(body);
    } else {
        pad(out, &format!("{sign}{body}"), spec);
    }
}

fn format_string(out: &mut String, s: &str, verb: char, spec: Spec, v: &Value) {
    let s = match spec.prec {
        Some(p) => s.char_indices().nth(p).map_or(s, |(i, _)| &s[..i]),
        None => s,
    };
    match verb {
        'v' if spec.sharp => pad(out, &quote(s, '"'), spec),
        's' | 'v' => pad(out, s, spec),
        'q' => pad(out, &quote(s, '"'), spec),
        'x' | 'X' => {
            let mut hex = String::new();
            if spec.sharp {
                hex.push_str(if verb == 'x' { "0x" } else { "0X" });
            }
            for b in s.bytes() {
                if verb == 'x' {
                    hex.push_str(&format!("{b:02x}"));
                } else {
                    hex.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &hex, spec);
        }
        _ => bad_verb(out, verb, v),
    }
}

fn format_int(out: &mut String, i: i128, verb: char, spec: Spec, v: &Value) {
    let (radix, prefix) = match verb {
        'd' | 'v' => (10, ""),
        'b' => (2, "0b"),
        'o' => (8, "0"),
        'O' => (8, "0o"),
        'x' => (16, "0x"),
        'X' => (16, "0X"),
        'c' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            return pad(out, &c.to_string(), spec);
        }
        'q' => {
            let c = u32::try_from(i)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            return pad(out, &quote(&c.to_string(), '\''), spec);
        }
        'U' => return pad(out, &format!("U+{:04X}", i.unsigned_abs()), spec),
        _ => return bad_verb(out, verb, v),
    };
    let mut digits = match radix {
        2 => format!("{:b}", i.unsigned_abs()),
        8 => format!("{:o}", i.unsigned_abs()),
        16 if verb == 'X' => format!("{:X}", i.unsigned_abs()),
        16 => format!("{:x}", i.unsigned_abs()),
        _ => i.unsigned_abs().to_string(),
    };
    if let Some(p) = spec.prec {
        if p == 0 && i == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    if (spec.sharp && !prefix.is_empty() && !(verb == 'o' && digits.starts_with('0')))
        || verb == 'O'
    {
        digits.insert_str(0, prefix);
    }
    let sign = sign(i < 0, spec);
    // A precision turns zero padding off, as in Go.
    let spec = Spec {
        zero: spec.zero && spec.prec.is_none(),
        ..spec
    };
    pad_number(out, sign, &digits, spec);
}

fn format_float(out: &mut String, f: f64, verb: char, spec: Spec, v: &Value) {
    let a = f.abs();
    let body = match verb {
        'v' | 'g' => float_g(a, spec.prec),
        'G' => float_g(a, spec.prec).to_uppercase(),
        'e' | 'E' => float_e(
            a,
            spec.prec.unwrap_or(6),
            if verb == 'e' { 'e' } else { 'E' },
        ),
        'f' | 'F' => float_f(a, spec.prec.unwrap_or(6)),
        _ => return bad_verb(out, verb, v),
    };
    pad_number(
        out,
        sign(f.is_sign_negative() && f != 0.0, spec),
        &body,
        spec,
    );
}

fn sign(negative: bool, spec: Spec) -> &'static str {
    if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    }
}

/// Go's `strconv.Quote` (or `QuoteRune` with `'`).
pub(super) fn quote(s: &str, q: char) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\\' => out.push_str("\\\\"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() && (c as u32) <= 0xffff => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\U{:08x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(format: &str, args: &[Value]) -> String {
        let refs: Vec<&Value> = args.iter().collect();
        sprintf(format, &refs, false)
    }

    #[test]
    fn verbs_widths_and_flags() {
        assert_eq!(
            f("%s|%-6s|%6s|", &[json!("a"), json!("bc"), json!("de")]),
            "a|bc    |    de|"
        );
        assert_eq!(
            f(
                "%d %5d %-5d| %05d %+d",
                &[json!(1), json!(2), json!(3), json!(-4), json!(5)]
            ),
            "1     2 3    | -0004 +5"
        );
        assert_eq!(
            f(
                "%x %X %#x %o %b",
                &[json!(255), json!(255), json!(255), json!(8), json!(5)]
            ),
            "ff FF 0xff 10 101"
        );
        assert_eq!(
            f("%q %v %t", &[json!("a\"b\n"), json!([1, "x"]), json!(true)]),
            r#""a\"b\n" [1 x] true"#
        );
        assert_eq!(
            f(
                "%.2f %8.3f %e %g",
                &[json!(1.23456), json!(2.5), json!(1234.5), json!(0.5)]
            ),
            "1.23    2.500 1.234500e+03 0.5"
        );
        assert_eq!(
            f("%.3s|%x|%c|%%", &[json!("abcdef"), json!("hi"), json!(65)]),
            "abc|6869|A|%"
        );
        assert_eq!(
            f("%*d|%-*d|", &[json!(4), json!(7), json!(3), json!(1)]),
            "   7|1  |"
        );
    }

    #[test]
    fn complaints_are_in_band() {
        assert_eq!(f("%d", &[json!("x")]), "%!d(string=x)");
        assert_eq!(f("%s", &[json!(5)]), "%!s(int=5)");
        assert_eq!(f("%d %s", &[json!(1)]), "1 %!s(MISSING)");
        assert_eq!(
            f("%d", &[json!(1), json!("a"), json!(null)]),
            "1%!(EXTRA string=a, <nil>)"
        );
        assert_eq!(f("%s", &[json!(null)]), "%!s(<nil>)");
        assert_eq!(f("%", &[]), "%!(NOVERB)");
        assert_eq!(f("%99999999d", &[json!(1)]), "%!(BADWIDTH)1");
        assert_eq!(f("%d", &[json!(1.5)]), "%!d(float64=1.5)");
    }

    #[test]
    fn header_mode_prints_names_in_numeric_columns() {
        let name = json!("SIZE");
        assert_eq!(sprintf("%-6d|", &[&name], true), "SIZE  |");
    }

    #[test]
    fn print_spacing() {
        let (a, b, c) = (json!(1), json!(2), json!("x"));
        assert_eq!(sprint(&[&a, &b, &c, &a]), "1 2x1");
        assert_eq!(sprintln(&[&a, &c]), "1 x\n");
    }
}
