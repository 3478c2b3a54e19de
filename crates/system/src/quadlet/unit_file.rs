//! A systemd-style unit file read as sections of `Key=Value` lines, in
//! order (Quadlet's input): comments (`#`, `;`) and blank lines dropped,
//! a trailing `\` continues the value on the next line.

/// One section: its name and its entries, in file order.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// `Unit`, `Container`, `Service`, `Install`, …
    pub name: String,
    /// `(key, value)` pairs; a key may repeat.
    pub entries: Vec<(String, String)>,
}

/// A parsed unit file.
#[derive(Debug, Clone, Default)]
pub struct UnitFile {
    /// Its sections in order.
    pub sections: Vec<Section>,
}

impl UnitFile {
    /// Parse `text`; `Err` names the line that is neither a section
    /// header nor `Key=Value`.
    pub fn parse(text: &str) -> Result<UnitFile, String> {
        let mut out = UnitFile::default();
        let mut pending = String::new();
        for (no, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if pending.is_empty()
                && (line.is_empty() || line.starts_with('#') || line.starts_with(';'))
            {
                continue;
            }
            if let Some(cont) = line.strip_suffix('\\') {
                pending.push_str(cont.trim_end());
                pending.push(' ');
                continue;
            }
            let full = std::mem::take(&mut pending) + line;
            if let Some(name) = full.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                out.sections.push(Section {
                    name: name.to_string(),
                    entries: Vec::new(),
                });
                continue;
            }
            let Some((k, v)) = full.split_once('=') else {
                return Err(format!(
                    "line {}: expected [Section] or Key=Value: {raw}",
                    no + 1
                ));
            };
            let Some(section) = out.sections.last_mut() else {
                return Err(format!("line {}: {k}= outside any section", no + 1));
            };
            section
                .entries
                .push((k.trim().to_string(), v.trim().to_string()));
        }
        Ok(out)
    }

    /// The section `name`, if present.
    pub fn section(&self, name: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.name == name)
    }

    /// Every value of `key` in section `name`.
    pub fn values(&self, name: &str, key: &str) -> Vec<String> {
        self.section(name)
            .map(|s| {
                s.entries
                    .iter()
                    .filter(|(k, _)| k == key)
                    .map(|(_, v)| v.clone())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The last value of `key` in section `name`.
    pub fn value(&self, name: &str, key: &str) -> Option<String> {
        self.values(name, key).pop()
    }
}

/// Split a value into words as systemd does: blanks separate, double or
/// single quotes group.
pub fn words(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), '\\') => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_continuations() {
        let f = UnitFile::parse(
            "# c\n[Unit]\nDescription=x\n\n[Container]\nExec=sleep \\\n  60\nVolume=a:/a\nVolume=b:/b\n",
        )
        .unwrap();
        assert_eq!(f.value("Unit", "Description").as_deref(), Some("x"));
        assert_eq!(f.value("Container", "Exec").as_deref(), Some("sleep 60"));
        assert_eq!(f.values("Container", "Volume"), ["a:/a", "b:/b"]);
        assert!(UnitFile::parse("[A]\nnot a pair\n").is_err());
    }

    #[test]
    fn words_follow_quotes() {
        assert_eq!(
            words(r#"sh -c "echo 'a b'" ''"#),
            ["sh", "-c", "echo 'a b'", ""]
        );
    }
}
