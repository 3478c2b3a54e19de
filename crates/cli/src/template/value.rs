//! JSON values seen as the Go values podman's templates print: how they
//! print, which are true, what Go would call their type.

use serde_json::{Map, Number, Value};

/// Go's truth: false, zero, nil and empty things are false; a struct is
/// always true.
pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// The CLI's rows are Go structs in podman, whose fields are exported
/// identifiers; maps (labels, annotations, networks) have other keys or
/// none. A missing field of a struct is an error, a missing key of a map
/// is `<no value>`.
pub(super) fn is_struct(m: &Map<String, Value>) -> bool {
    !m.is_empty()
        && m.keys().all(|k| {
            k.starts_with(|c: char| c.is_ascii_uppercase())
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// The Go type a value stands for, for error messages.
pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "<nil>",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "[]interface {}",
        Value::Object(m) if is_struct(m) => "struct",
        Value::Object(_) => "map[string]interface {}",
    }
}

/// How an action prints its value: `<no value>` for nothing, else `%v`.
pub(super) fn display(v: &Value) -> String {
    if v.is_null() {
        return "<no value>".to_string();
    }
    let mut out = String::new();
    write_v(&mut out, v);
    out
}

/// Go's `%v`: lists as `[a b]`, maps as `map[k:v]` with sorted keys, nil
/// inside them as `<nil>`.
pub(super) fn write_v(out: &mut String, v: &Value) {
    match v {
        Value::Null => out.push_str("<nil>"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                write_v(out, item);
            }
            out.push(']');
        }
        Value::Object(m) => {
            // serde_json's map is ordered by key already, as Go prints maps.
            out.push_str("map[");
            for (i, (k, item)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(k);
                out.push(':');
                write_v(out, item);
            }
            out.push(']');
        }
    }
}

/// Integers as integers; floats as Go's `%v` prints a float64.
pub(super) fn number(n: &Number) -> String {
    if let Some(i) = n.as_i64() {
        i.to_string()
    } else if let Some(u) = n.as_u64() {
        u.to_string()
    } else {
        float_g(n.as_f64().unwrap_or(0.0), None)
    }
}

/// An integer argument: JSON integers, and floats with no fraction (Go's
/// untyped constants like `12.0` pass as ints).
pub(super) fn as_int(v: &Value) -> Option<i64> {
    let n = v.as_number()?;
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

/// The significant decimal digits of `f` (no sign, no trailing zeros,
/// "0" for zero) and the position of the decimal point relative to them:
/// `digits × 10^(point − len)`. `prec` rounds to that many digits;
/// `None` takes the shortest that reads back as `f`.
fn decimal(f: f64, prec: Option<usize>) -> (String, i32) {
    let s = match prec {
        Some(p) => format!("{:.*e}", p.saturating_sub(1), f.abs()),
        None => format!("{:e}", f.abs()),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    (digits, exp + 1)
}

/// Go's `%g` (and `%v` with `prec` None): the shortest of exponent or
/// plain form, without trailing zeros.
pub(super) fn float_g(f: f64, prec: Option<usize>) -> String {
    if !f.is_finite() {
        return non_finite(f);
    }
    let prec = prec.map(|p| p.max(1));
    let (digits, point) = decimal(f, prec);
    let nd = digits.len() as i32;
    // Go switches to the exponent form at the precision's exponent, and
    // counts the shortest form as 6 digits for that.
    let eprec = match prec {
        None => 6,
        Some(p) => {
            let p = p as i32;
            if p > nd && nd >= point {
                nd
            } else {
                p
            }
        }
    };
    let exp = point - 1;
    let mut out = String::new();
    if f.is_sign_negative() && f != 0.0 {
        out.push('-');
    }
    if exp < -4 || exp >= eprec {
        write_e(&mut out, &digits, exp, (nd - 1).max(0) as usize, 'e');
    } else {
        write_f(&mut out, &digits, point, (nd - point).max(0) as usize);
    }
    out
}

/// Go's `%e` with `prec` digits after the point (6 by default).
pub(super) fn float_e(f: f64, prec: usize, e: char) -> String {
    if !f.is_finite() {
        return non_finite(f);
    }
    let (digits, point) = decimal(f, Some(prec + 1));
    let mut out = String::new();
    if f.is_sign_negative() && f != 0.0 {
        out.push('-');
    }
    write_e(&mut out, &digits, point - 1, prec, e);
    out
}

/// Go's `%f`: Rust rounds the exact binary value as Go does.
pub(super) fn float_f(f: f64, prec: usize) -> String {
    if !f.is_finite() {
        return non_finite(f);
    }
    format!("{f:.prec$}")
}

fn non_finite(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f > 0.0 {
        "+Inf".into()
    } else {
        "-Inf".into()
    }
}

fn write_e(out: &mut String, digits: &str, exp: i32, decimals: usize, e: char) {
    let mut d = digits.chars();
    out.push(d.next().unwrap_or('0'));
    if decimals > 0 {
        out.push('.');
        for _ in 0..decimals {
            out.push(d.next().unwrap_or('0'));
        }
    }
    out.push(e);
    out.push(if exp < 0 { '-' } else { '+' });
    let a = exp.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
}

fn write_f(out: &mut String, digits: &str, point: i32, decimals: usize) {
    let digit = |i: i32| {
        usize::try_from(i)
            .ok()
            .and_then(|i| digits.as_bytes().get(i))
            .map_or('0', |&b| char::from(b))
    };
    if point <= 0 {
        out.push('0');
    } else {
        for i in 0..point {
            out.push(digit(i));
        }
    }
    if decimals > 0 {
        out.push('.');
        for i in 0..decimals as i32 {
            out.push(digit(point + i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn floats_print_as_go_prints_float64() {
        let cases = [
            (2.0, "2"),
            (1.5, "1.5"),
            (123456.0, "123456"),
            (1234567.0, "1.234567e+06"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-2.5, "-2.5"),
            (0.0, "0"),
            (1e21, "1e+21"),
        ];
        for (f, want) in cases {
            assert_eq!(float_g(f, None), want, "{f}");
        }
        assert_eq!(float_g(77.8, Some(3)), "77.8");
        assert_eq!(float_g(100.0, Some(3)), "100");
        assert_eq!(float_g(1000.0, Some(3)), "1e+03");
        assert_eq!(float_g(1.5, Some(3)), "1.5");
        assert_eq!(float_e(1234.5678, 2, 'e'), "1.23e+03");
        assert_eq!(float_f(1.23556, 2), "1.24");
    }

    #[test]
    fn values_print_as_go_prints_interfaces() {
        let v = json!({"b": [1, "x", null], "a": {"k": true}, "c": 2.5});
        assert_eq!(display(&v), "map[a:map[k:true] b:[1 x <nil>] c:2.5]");
        assert_eq!(display(&Value::Null), "<no value>");
        assert_eq!(display(&json!(["a", "b"])), "[a b]");
    }

    #[test]
    fn truth_and_structs() {
        for v in [
            json!(0),
            json!(""),
            json!([]),
            json!({}),
            json!(null),
            json!(false),
        ] {
            assert!(!truthy(&v), "{v}");
        }
        assert!(truthy(&json!({"a": 1})));
        assert!(is_struct(
            json!({"Id": 1, "Names": []}).as_object().unwrap()
        ));
        assert!(!is_struct(json!({"io.podman": "x"}).as_object().unwrap()));
    }
}
