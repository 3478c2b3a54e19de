//! Finding `<<WORD` openers on a RUN, COPY or ADD line, as BuildKit does:
//! the line is split into shell words (quotes kept) and each word of the
//! form `[fd]<<[-]NAME` opens a heredoc; a quoted NAME turns expansion off.

/// One opener found on a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opener {
    /// The word as written (`<<-"EOF"`).
    pub word: String,
    pub name: String,
    pub chomp: bool,
    pub expand: bool,
    pub fd: u32,
}

/// The opener a word is, if it is one.
pub(crate) fn opener(word: &str) -> Option<Opener> {
    let digits = word.chars().take_while(char::is_ascii_digit).count();
    let rest = word[digits..].strip_prefix("<<")?;
    let (chomp, name) = match rest.strip_prefix('-') {
        Some(n) => (true, n),
        None => (false, rest),
    };
    if name.is_empty() || name.contains('<') {
        return None;
    }
    let (name, expand) = unquote(name);
    if name.is_empty() {
        return None;
    }
    let fd = if digits == 0 {
        0
    } else {
        word[..digits].parse().ok()?
    };
    Some(Opener {
        word: word.to_string(),
        name,
        chomp,
        expand,
        fd,
    })
}

/// Removes quotes from a heredoc name; any quote in it turns expansion off
/// (the shell's rule, which BuildKit follows).
fn unquote(name: &str) -> (String, bool) {
    if !name.contains(['"', '\'']) {
        return (name.to_string(), true);
    }
    (
        name.chars().filter(|c| *c != '"' && *c != '\'').collect(),
        false,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openers() {
        let o = opener("<<EOF").unwrap();
        assert_eq!(
            (o.name.as_str(), o.chomp, o.expand, o.fd),
            ("EOF", false, true, 0)
        );
        let o = opener("<<-'END'").unwrap();
        assert_eq!((o.name.as_str(), o.chomp, o.expand), ("END", true, false));
        let o = opener("3<<\"X\"").unwrap();
        assert_eq!((o.name.as_str(), o.expand, o.fd), ("X", false, 3));
        for word in ["<<", "<<<x", "a<<b", "<<''", "echo"] {
            assert_eq!(opener(word), None, "{word}");
        }
    }
}
