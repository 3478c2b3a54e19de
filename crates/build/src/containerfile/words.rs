//! Splitting an instruction's arguments as BuildKit does: leading `--flags`,
//! JSON arrays (exec form), words split on blanks with or without regard for
//! quotes. Quotes and escapes stay in the words split here; the variable
//! expander ([`super::substitute`]) removes them when the instruction runs.

/// A `--name[=value]` before an instruction's arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawFlag {
    pub name: String,
    pub value: Option<String>,
}

/// Splits the leading `--flags` off `args`; quotes in flags are removed and
/// `\` escapes the next character, as in BuildKit's extractBuilderFlags. A
/// lone `--` ends the flags.
pub(crate) fn extract_flags(args: &str) -> (Vec<RawFlag>, String) {
    let chars: Vec<char> = args.chars().collect();
    let mut flags = Vec::new();
    let mut pos = 0;
    loop {
        while pos < chars.len() && chars[pos].is_whitespace() {
            pos += 1;
        }
        if !(chars.get(pos) == Some(&'-') && chars.get(pos + 1) == Some(&'-')) {
            break;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while pos < chars.len() {
            let c = chars[pos];
            pos += 1;
            match quote {
                None if c.is_whitespace() => break,
                None if c == '"' || c == '\'' => quote = Some(c),
                Some(q) if c == q => quote = None,
                _ if c == '\\' => {
                    if let Some(&next) = chars.get(pos) {
                        word.push(next);
                        pos += 1;
                    }
                }
                _ => word.push(c),
            }
        }
        if word == "--" {
            break;
        }
        let body = &word[2..];
        let flag = match body.split_once('=') {
            Some((n, v)) => RawFlag {
                name: n.to_string(),
                value: Some(v.to_string()),
            },
            None => RawFlag {
                name: body.to_string(),
                value: None,
            },
        };
        flags.push(flag);
    }
    let rest: String = chars[pos.min(chars.len())..].iter().collect();
    (flags, rest)
}

/// The exec form: a JSON array of strings, or `None` for the shell form.
/// Anything that starts with `[` but is no such array is the shell form,
/// as in Docker.
pub(crate) fn json_array(args: &str) -> Option<Vec<String>> {
    let t = args.trim();
    if !t.starts_with('[') || !t.ends_with(']') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

/// Splits on blanks, ignoring quotes (FROM, EXPOSE, COPY's sources).
pub(crate) fn blank_words(args: &str) -> Vec<String> {
    args.split_whitespace().map(str::to_string).collect()
}

/// Splits on blanks outside quotes; quotes and escapes stay in the words
/// (ENV, LABEL, ARG: `a="b c" d=e` is two words).
pub(crate) fn quoted_words(args: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = args.chars();
    while let Some(c) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut word));
                in_word = false;
            }
            continue;
        }
        in_word = true;
        word.push(c);
        if c == escape && quote != Some('\'') {
            if let Some(next) = chars.next() {
                word.push(next);
            }
            continue;
        }
        match quote {
            None if c == '"' || c == '\'' => quote = Some(c),
            Some(q) if c == q => quote = None,
            _ => {}
        }
    }
    if in_word {
        words.push(word);
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flag(name: &str, value: Option<&str>) -> RawFlag {
        RawFlag {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn flags_then_arguments() {
        let (f, rest) = extract_flags("--from=build --chown=\"a b\":g --link src dst");
        assert_eq!(
            f,
            vec![
                flag("from", Some("build")),
                flag("chown", Some("a b:g")),
                flag("link", None)
            ]
        );
        assert_eq!(rest, "src dst");
        let (f, rest) = extract_flags("-- --not-a-flag x");
        assert!(f.is_empty());
        assert_eq!(rest, "--not-a-flag x");
        let (f, rest) = extract_flags("echo --x");
        assert!(f.is_empty());
        assert_eq!(rest, "echo --x");
    }

    #[test]
    fn json_or_shell() {
        assert_eq!(
            json_array(r#"["a", "b c"]"#),
            Some(vec!["a".into(), "b c".into()])
        );
        assert_eq!(json_array("[]"), Some(vec![]));
        assert_eq!(json_array("[a, b]"), None);
        assert_eq!(json_array(r#"["a", 1]"#), None);
        assert_eq!(json_array("echo [a]"), None);
    }

    #[test]
    fn quoted_word_splitting() {
        assert_eq!(
            quoted_words(r#"a="b c" d=e\ f g='h "i"'"#, '\\'),
            vec![r#"a="b c""#, r"d=e\ f", r#"g='h "i"'"#]
        );
        assert_eq!(quoted_words("a=`  b", '`'), vec!["a=` ", "b"]);
    }
}
