//! podman's `--change` for `commit` and `import`: Dockerfile instructions
//! (`CMD`, `ENTRYPOINT`, `ENV`, `EXPOSE`, `LABEL`, `STOPSIGNAL`, `USER`,
//! `VOLUME`, `WORKDIR`, `ONBUILD`) applied to an image config's `config`
//! object, written `INSTRUCTION VALUE` or `INSTRUCTION=VALUE`.

use crate::error::{Error, Result};
use serde_json::{json, Map, Value};

fn bad(change: &str, reason: &str) -> Error {
    Error::InvalidOption {
        option: "--change",
        value: change.into(),
        reason: reason.into(),
    }
}

/// Apply each of `changes` to `config` (the image config's `config`).
pub fn apply(config: &mut Map<String, Value>, changes: &[String]) -> Result<()> {
    for change in changes {
        apply_one(config, change)?;
    }
    Ok(())
}

/// A command in exec form (a JSON array) or shell form (`sh -c`).
fn command(value: &str) -> Value {
    match serde_json::from_str::<Vec<String>>(value) {
        Ok(v) => json!(v),
        Err(_) => json!(["/bin/sh", "-c", value]),
    }
}

/// `K=V K2="V 2"` pairs (or the old `K V` form for one pair).
fn pairs(change: &str, value: &str) -> Result<Vec<(String, String)>> {
    let words = shell_words(value);
    if !words.is_empty() && !words[0].contains('=') {
        let (k, v) = value
            .split_once(char::is_whitespace)
            .ok_or_else(|| bad(change, "expects KEY=VALUE"))?;
        return Ok(vec![(k.into(), v.trim().into())]);
    }
    words
        .iter()
        .map(|w| {
            w.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| bad(change, "expects KEY=VALUE"))
        })
        .collect()
}

/// Words split on blanks, with "double" and 'single' quotes grouping.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn apply_one(config: &mut Map<String, Value>, change: &str) -> Result<()> {
    let change = change.trim();
    let split = change
        .find(|c: char| c == '=' || c.is_whitespace())
        .ok_or_else(|| bad(change, "expects INSTRUCTION VALUE"))?;
    let (word, value) = (&change[..split], change[split + 1..].trim());
    match word.to_ascii_uppercase().as_str() {
        "CMD" => {
            config.insert("Cmd".into(), command(value));
        }
        "ENTRYPOINT" => {
            config.insert("Entrypoint".into(), command(value));
        }
        "ENV" => {
            let env = config.entry("Env").or_insert_with(|| json!([]));
            let list = env.as_array_mut().ok_or_else(|| bad(change, "the image's Env is not a list"))?;
            for (k, v) in pairs(change, value)? {
                let prefix = format!("{k}=");
                list.retain(|e| !e.as_str().is_some_and(|e| e.starts_with(&prefix)));
                list.push(json!(format!("{k}={v}")));
            }
        }
        "LABEL" => {
            let labels = config.entry("Labels").or_insert_with(|| json!({}));
            if labels.is_null() {
                *labels = json!({});
            }
            let map = labels.as_object_mut().ok_or_else(|| bad(change, "the image's Labels are not a map"))?;
            for (k, v) in pairs(change, value)? {
                map.insert(k, json!(v));
            }
        }
        "EXPOSE" => {
            let ports = config.entry("ExposedPorts").or_insert_with(|| json!({}));
            if ports.is_null() {
                *ports = json!({});
            }
            let map = ports.as_object_mut().ok_or_else(|| bad(change, "ExposedPorts is not a map"))?;
            for p in shell_words(value) {
                let p = if p.contains('/') { p } else { format!("{p}/tcp") };
                map.insert(p, json!({}));
            }
        }
        "VOLUME" => {
            let vols = config.entry("Volumes").or_insert_with(|| json!({}));
            if vols.is_null() {
                *vols = json!({});
            }
            let map = vols.as_object_mut().ok_or_else(|| bad(change, "Volumes is not a map"))?;
            let list = serde_json::from_str::<Vec<String>>(value).unwrap_or_else(|_| shell_words(value));
            for v in list {
                map.insert(v, json!({}));
            }
        }
        "USER" => {
            config.insert("User".into(), json!(value));
        }
        "WORKDIR" => {
            config.insert("WorkingDir".into(), json!(value));
        }
        "STOPSIGNAL" => {
            config.insert("StopSignal".into(), json!(value));
        }
        "ONBUILD" => {
            let list = config.entry("OnBuild").or_insert_with(|| json!([]));
            if list.is_null() {
                *list = json!([]);
            }
            if let Some(l) = list.as_array_mut() {
                l.push(json!(value));
            }
        }
        _ => {
            return Err(bad(
                change,
                "valid instructions are CMD, ENTRYPOINT, ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR",
            ))
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn applied(changes: &[&str]) -> Value {
        let mut c = Map::new();
        c.insert("Env".into(), json!(["PATH=/bin", "A=old"]));
        let changes: Vec<String> = changes.iter().map(|s| s.to_string()).collect();
        apply(&mut c, &changes).unwrap();
        Value::Object(c)
    }

    #[test]
    fn instructions_in_both_spellings() {
        let c = applied(&[
            "CMD=[\"echo\", \"hi\"]",
            "ENTRYPOINT /bin/true",
            "ENV A=new B=\"two words\"",
            "LABEL k=v",
            "EXPOSE 80 53/udp",
            "USER=1000:1000",
            "WORKDIR /srv",
            "VOLUME [\"/data\"]",
            "STOPSIGNAL SIGINT",
        ]);
        assert_eq!(c["Cmd"], json!(["echo", "hi"]));
        assert_eq!(c["Entrypoint"], json!(["/bin/sh", "-c", "/bin/true"]));
        assert_eq!(c["Env"], json!(["PATH=/bin", "A=new", "B=two words"]));
        assert_eq!(c["Labels"], json!({"k": "v"}));
        assert_eq!(c["ExposedPorts"], json!({"80/tcp": {}, "53/udp": {}}));
        assert_eq!(c["User"], json!("1000:1000"));
        assert_eq!(c["WorkingDir"], json!("/srv"));
        assert_eq!(c["Volumes"], json!({"/data": {}}));
        assert_eq!(c["StopSignal"], json!("SIGINT"));
        assert_eq!(applied(&["ENV X y z"])["Env"][2], json!("X=y z"));
    }

    #[test]
    fn unknown_instructions_are_refused() {
        let mut c = Map::new();
        let e = apply(&mut c, &["RUN rm -rf /".into()]).unwrap_err();
        assert!(e.to_string().contains("valid instructions are"), "{e}");
        assert!(apply(&mut c, &["CMD".into()]).is_err());
    }
}
