//! `$VARIABLE` substitution in the templates an image ships, as atomic's
//! system containers define it: `$NAME` and `${NAME}` are replaced; a
//! variable nobody defines is an error (never left in or made empty);
//! `$$` is a literal `$`; a `$` not followed by a name stays as it is.

use std::collections::BTreeMap;

/// Substitute `vars` in `text`. `Err(name)` names the first unknown variable.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
            continue;
        }
        let (name, consumed) = match after.strip_prefix('{') {
            Some(braced) => match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            },
            None => {
                let end = after
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(after.len());
                (&after[..end], end)
            }
        };
        let is_name = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
        if !is_name {
            out.push('$');
            rest = after;
            continue;
        }
        match vars.get(name) {
            Some(v) => out.push_str(v),
            None => return Err(name.to_string()),
        }
        rest = &after[consumed..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("NAME".to_string(), "etcd".to_string()),
            ("PORT".to_string(), "2379".to_string()),
        ])
    }

    #[test]
    fn plain_and_braced_names_are_replaced() {
        let got = substitute("n=$NAME p=${PORT}x $NAME.service", &vars()).unwrap();
        assert_eq!(got, "n=etcd p=2379x etcd.service");
    }

    #[test]
    fn unknown_variable_is_an_error() {
        assert_eq!(substitute("a $NOPE b", &vars()), Err("NOPE".to_string()));
        assert_eq!(substitute("${NOPE}", &vars()), Err("NOPE".to_string()));
    }

    #[test]
    fn dollar_escapes_and_lone_dollars_stay() {
        assert_eq!(
            substitute("$$NAME $ $1 ${", &vars()).unwrap(),
            "$NAME $ $1 ${"
        );
    }
}
