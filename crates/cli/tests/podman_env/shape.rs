//! Comparing JSON by shape: the same keys at each level, the same JSON
//! type for each key, arrays by their first elements.

use serde_json::Value;
use std::collections::BTreeSet;

/// What a comparison leaves out.
pub struct Rules {
    /// Keys podman has that berth deliberately does not (path, why).
    pub podman_only_keys: &'static [(&'static str, &'static str)],
    /// Objects keyed by data (network names, annotations): their values
    /// are compared with each other, not their keys (path `….*`).
    pub data_maps: &'static [&'static str],
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum ShapeDiff {
    /// A key podman has and berth lacks (path, podman's type).
    PodmanOnly(String, &'static str),
    /// A key berth has and podman lacks.
    BerthOnly(String, &'static str),
    /// Same key, other JSON type (path, podman's, berth's).
    Type(String, &'static str, &'static str),
    /// An array (or data map) one side fills and the other leaves empty,
    /// so its elements cannot be compared (path, the side with elements).
    Empty(String, &'static str),
    /// A podman element with no berth element of the same pairing value.
    Unpaired(String),
}

pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

pub fn shape_diff(p: &Value, b: &Value, path: &str, rules: &Rules, out: &mut BTreeSet<ShapeDiff>) {
    match (p, b) {
        (Value::Object(po), Value::Object(bo)) if rules.data_maps.contains(&path) => {
            let sub = format!("{path}.*");
            match (po.values().next(), bo.values().next()) {
                (Some(pv), Some(bv)) => shape_diff(pv, bv, &sub, rules, out),
                (Some(_), None) => {
                    out.insert(ShapeDiff::Empty(path.to_string(), "podman"));
                }
                (None, Some(_)) => {
                    out.insert(ShapeDiff::Empty(path.to_string(), "berth"));
                }
                (None, None) => {}
            }
        }
        (Value::Object(po), Value::Object(bo)) => {
            for (k, pv) in po {
                let sub = format!("{path}.{k}");
                match bo.get(k) {
                    Some(bv) => shape_diff(pv, bv, &sub, rules, out),
                    None => {
                        out.insert(ShapeDiff::PodmanOnly(sub, type_name(pv)));
                    }
                }
            }
            for (k, bv) in bo {
                if !po.contains_key(k) {
                    out.insert(ShapeDiff::BerthOnly(format!("{path}.{k}"), type_name(bv)));
                }
            }
        }
        (Value::Array(pa), Value::Array(ba)) => {
            let sub = format!("{path}[]");
            match (pa.first(), ba.first()) {
                (Some(pe), Some(be)) => shape_diff(pe, be, &sub, rules, out),
                (Some(_), None) => {
                    out.insert(ShapeDiff::Empty(path.to_string(), "podman"));
                }
                (None, Some(_)) => {
                    out.insert(ShapeDiff::Empty(path.to_string(), "berth"));
                }
                (None, None) => {}
            }
        }
        _ if type_name(p) != type_name(b) => {
            out.insert(ShapeDiff::Type(
                path.to_string(),
                type_name(p),
                type_name(b),
            ));
        }
        _ => {}
    }
}

/// Compare two JSON documents; a top-level array's elements are paired
/// by the value at `pair_by`.
pub fn compare_json(
    p: &Value,
    b: &Value,
    pair_by: Option<&str>,
    rules: &Rules,
) -> BTreeSet<ShapeDiff> {
    let mut out = BTreeSet::new();
    match (p, b, pair_by) {
        (Value::Array(pa), Value::Array(ba), Some(ptr)) if !pa.is_empty() && !ba.is_empty() => {
            for (i, pe) in pa.iter().enumerate() {
                let key = pe.pointer(ptr);
                let be = ba.iter().find(|be| key.is_some() && be.pointer(ptr) == key);
                match be {
                    Some(be) => shape_diff(pe, be, "[]", rules, &mut out),
                    None => {
                        out.insert(ShapeDiff::Unpaired(format!(
                            "{ptr}={}",
                            key.map_or("?".to_string(), Value::to_string)
                        )));
                        shape_diff(pe, ba.get(i).unwrap_or(&ba[0]), "[]", rules, &mut out);
                    }
                }
            }
        }
        _ => shape_diff(p, b, "", rules, &mut out),
    }
    out.retain(|d| match d {
        ShapeDiff::PodmanOnly(path, _) => !rules.podman_only_keys.iter().any(|(k, _)| k == path),
        _ => true,
    });
    out
}

pub fn describe_shape(diffs: &BTreeSet<ShapeDiff>) -> String {
    let mut podman_only = Vec::new();
    let mut berth_only = Vec::new();
    let mut other = Vec::new();
    for d in diffs {
        match d {
            ShapeDiff::PodmanOnly(p, t) => podman_only.push(format!("{p} ({t})")),
            ShapeDiff::BerthOnly(p, t) => berth_only.push(format!("{p} ({t})")),
            ShapeDiff::Type(p, pt, bt) => other.push(format!("{p}: podman {pt}, berth {bt}")),
            ShapeDiff::Empty(p, side) => other.push(format!("{p}: only {side}'s is not empty")),
            ShapeDiff::Unpaired(k) => other.push(format!("no berth element with {k}")),
        }
    }
    let mut s = Vec::new();
    if !podman_only.is_empty() {
        s.push(format!("keys only podman has: {}", podman_only.join(", ")));
    }
    if !berth_only.is_empty() {
        s.push(format!("keys only berth has: {}", berth_only.join(", ")));
    }
    if !other.is_empty() {
        s.push(format!("types: {}", other.join("; ")));
    }
    s.join("\n    ")
}

#[cfg(test)]
const TEST_RULES: Rules = Rules {
    podman_only_keys: &[("[].Pod", "test")],
    data_maps: &["[].NetworkSettings.Networks"],
};

#[test]
fn json_shapes_compare_keys_and_types_recursively() {
    let p = serde_json::json!([
        {"Names": ["a"], "State": {"Status": "running", "Pid": 1}, "Pod": "", "L": [{"x": 1}], "E": []},
        {"Names": ["b"], "State": {"Status": "exited", "Pid": 0}, "Pod": "", "L": [], "E": []}
    ]);
    let b = serde_json::json!([
        {"Names": ["b"], "State": "exited", "Extra": 1, "L": [], "E": []},
        {"Names": ["a"], "State": {"Status": "running", "Pid": "1"}, "L": [{"x": 1, "y": 2}], "E": []}
    ]);
    let d = compare_json(&p, &b, Some("/Names/0"), &TEST_RULES);
    let want: BTreeSet<ShapeDiff> = [
        ShapeDiff::Type("[].State.Pid".into(), "number", "string"),
        ShapeDiff::BerthOnly("[].L[].y".into(), "number"),
        ShapeDiff::BerthOnly("[].Extra".into(), "number"),
        ShapeDiff::Type("[].State".into(), "object", "string"),
    ]
    .into_iter()
    .collect();
    // `Pod` is allowed to be podman's only.
    assert_eq!(d, want, "{}", describe_shape(&d));
    // Data maps: values compared, not keys.
    let p =
        serde_json::json!([{"NetworkSettings": {"Networks": {"podman": {"IP": "x", "Gw": "y"}}}}]);
    let b = serde_json::json!([{"NetworkSettings": {"Networks": {"berth": {"IP": "x"}}}}]);
    let d = compare_json(&p, &b, None, &TEST_RULES);
    assert_eq!(
        d.into_iter().collect::<Vec<_>>(),
        [ShapeDiff::PodmanOnly(
            "[].NetworkSettings.Networks.*.Gw".into(),
            "string"
        )]
    );
    let d = compare_json(
        &serde_json::json!({"a": [1]}),
        &serde_json::json!({"a": []}),
        None,
        &TEST_RULES,
    );
    assert_eq!(
        d.into_iter().collect::<Vec<_>>(),
        [ShapeDiff::Empty(".a".into(), "podman")]
    );
}
