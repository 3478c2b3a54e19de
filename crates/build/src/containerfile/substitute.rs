//! Variable substitution in instruction arguments, with the rules of
//! BuildKit's shell lexer: `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR-word}`,
//! `${VAR:+word}`, `${VAR+word}`, `${VAR:?msg}`, `${VAR#pat}`, `${VAR%pat}`,
//! `${VAR/pat/rep}`; single quotes keep everything literal, double quotes
//! keep blanks and still expand, the escape character makes the next one
//! literal. The result is one word with quotes and escapes removed.

/// A word that cannot be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstituteError {
    /// A quote or `${` not closed before the end of the word.
    #[error("unexpected end of statement while looking for matching {0}")]
    Unterminated(&'static str),
    /// `${}`, `${:...}` and the like.
    #[error("bad substitution in {0:?}")]
    BadSubstitution(String),
    /// A modifier BuildKit does not know either.
    #[error("unsupported modifier ({modifier}) in substitution of {name}")]
    UnsupportedModifier {
        /// The variable.
        name: String,
        /// The character after its name.
        modifier: char,
    },
    /// `${VAR:?message}` with VAR unset (or empty).
    #[error("{name}: {message}")]
    Required {
        /// The variable.
        name: String,
        /// The word after `?`, or a default.
        message: String,
    },
}

/// Expands `word`, looking variables up with `lookup` (`None` = unset).
pub fn expand(
    word: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SubstituteError> {
    let chars: Vec<char> = word.chars().collect();
    let mut lexer = Lexer {
        chars: &chars,
        pos: 0,
        escape,
        lookup,
        word,
        raw: false,
    };
    lexer.until(None)
}

/// Expands variables in a heredoc body (`COPY <<EOF` with an unquoted
/// name): quotes are plain characters there, and the escape character only
/// protects `$` and itself.
pub fn expand_heredoc(
    body: &str,
    escape: char,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SubstituteError> {
    let chars: Vec<char> = body.chars().collect();
    let mut lexer = Lexer {
        chars: &chars,
        pos: 0,
        escape,
        lookup,
        word: body,
        raw: true,
    };
    lexer.until(None)
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    escape: char,
    lookup: &'a dyn Fn(&str) -> Option<String>,
    /// The whole word, for error messages.
    word: &'a str,
    /// Heredoc mode: quotes are literal, escapes only protect `$`.
    raw: bool,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Reads up to `stop` (consumed) or the end of the word.
    fn until(&mut self, stop: Option<char>) -> Result<String, SubstituteError> {
        let mut out = String::new();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.pos += 1;
                return Ok(out);
            }
            match c {
                '$' => out.push_str(&self.dollar()?),
                _ if self.raw => {
                    self.pos += 1;
                    match self.peek() {
                        Some(n) if c == self.escape && (n == '$' || n == self.escape) => {
                            self.pos += 1;
                            out.push(n);
                        }
                        _ => out.push(c),
                    }
                }
                '\'' => out.push_str(&self.single_quoted()?),
                '"' => out.push_str(&self.double_quoted()?),
                _ if c == self.escape => {
                    self.pos += 1;
                    // An escape at the very end is dropped, as BuildKit does.
                    if let Some(next) = self.next() {
                        out.push(next);
                    }
                }
                _ => {
                    self.pos += 1;
                    out.push(c);
                }
            }
        }
        match stop {
            Some(_) => Err(SubstituteError::Unterminated("'}'")),
            None => Ok(out),
        }
    }

    fn single_quoted(&mut self) -> Result<String, SubstituteError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.next() {
                None => return Err(SubstituteError::Unterminated("single-quote")),
                Some('\'') => return Ok(out),
                Some(c) => out.push(c),
            }
        }
    }

    fn double_quoted(&mut self) -> Result<String, SubstituteError> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(SubstituteError::Unterminated("double-quote")),
                Some('"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some('$') => out.push_str(&self.dollar()?),
                Some(c) => {
                    self.pos += 1;
                    // Inside double quotes the escape only protects `"`,
                    // `$` and itself; elsewhere it stays literal.
                    if c == self.escape {
                        match self.peek() {
                            Some(n) if n == '"' || n == '$' || n == self.escape => {
                                self.pos += 1;
                                out.push(n);
                            }
                            _ => out.push(c),
                        }
                    } else {
                        out.push(c);
                    }
                }
            }
        }
    }

    /// A name after `$`: letters, digits and `_`; or all digits; or one of
    /// the shell's special parameters (which are never set here).
    fn name(&mut self) -> String {
        let mut name = String::new();
        match self.peek() {
            Some(c) if c.is_ascii_digit() => {
                while let Some(d) = self.peek().filter(char::is_ascii_digit) {
                    name.push(d);
                    self.pos += 1;
                }
                return name;
            }
            Some(c) if "@*#?$!-".contains(c) => {
                self.pos += 1;
                return c.to_string();
            }
            _ => {}
        }
        while let Some(c) = self.peek() {
            if !(c.is_ascii_alphanumeric() || c == '_') {
                break;
            }
            name.push(c);
            self.pos += 1;
        }
        name
    }

    fn dollar(&mut self) -> Result<String, SubstituteError> {
        self.pos += 1;
        match self.peek() {
            None => return Ok("$".into()),
            Some('{') => {}
            Some(_) => {
                let name = self.name();
                if name.is_empty() {
                    return Ok("$".into());
                }
                return Ok((self.lookup)(&name).unwrap_or_default());
            }
        }
        self.pos += 1;
        match self.peek() {
            None => return Err(SubstituteError::Unterminated("'}'")),
            Some('{' | '}' | ':') => return Err(self.bad()),
            _ => {}
        }
        let name = self.name();
        if name.is_empty() {
            return Err(self.bad());
        }
        let value = (self.lookup)(&name);
        let set = value.is_some();
        let value = value.unwrap_or_default();
        let Some(modifier) = self.next() else {
            return Err(SubstituteError::Unterminated("'}'"));
        };
        match modifier {
            '}' => Ok(value),
            ':' => {
                let Some(m) = self.next() else {
                    return Err(SubstituteError::Unterminated("'}'"));
                };
                let word = self.until(Some('}'))?;
                let present = set && !value.is_empty();
                match m {
                    '-' => Ok(if present { value } else { word }),
                    '+' => Ok(if present { word } else { String::new() }),
                    '?' if present => Ok(value),
                    '?' => Err(required(name, word)),
                    _ => Err(SubstituteError::UnsupportedModifier { name, modifier: m }),
                }
            }
            '-' | '+' | '?' => {
                let word = self.until(Some('}'))?;
                match modifier {
                    '-' => Ok(if set { value } else { word }),
                    '+' => Ok(if set { word } else { String::new() }),
                    _ if set => Ok(value),
                    _ => Err(required(name, word)),
                }
            }
            '#' | '%' => {
                let longest = self.peek() == Some(modifier);
                if longest {
                    self.pos += 1;
                }
                let pattern = self.until(Some('}'))?;
                Ok(trim_pattern(&value, &pattern, modifier == '#', longest))
            }
            '/' => {
                let all = self.peek() == Some('/');
                if all {
                    self.pos += 1;
                }
                let pattern = self.until(Some('/'))?;
                let replacement = self.until(Some('}'))?;
                Ok(replace_pattern(&value, &pattern, &replacement, all))
            }
            m => Err(SubstituteError::UnsupportedModifier { name, modifier: m }),
        }
    }

    fn bad(&self) -> SubstituteError {
        SubstituteError::BadSubstitution(self.word.to_string())
    }
}

fn required(name: String, word: String) -> SubstituteError {
    let message = if word.is_empty() {
        "is not allowed to be unset".to_string()
    } else {
        word
    };
    SubstituteError::Required { name, message }
}

/// `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`: the shortest or longest
/// prefix or suffix matching the glob `p` removed.
fn trim_pattern(value: &str, pattern: &str, prefix: bool, longest: bool) -> String {
    let cuts: Vec<usize> = value
        .char_indices()
        .map(|(i, _)| i)
        .chain([value.len()])
        .collect();
    let candidates: Box<dyn Iterator<Item = &usize>> = match (prefix, longest) {
        (true, false) | (false, true) => Box::new(cuts.iter()),
        _ => Box::new(cuts.iter().rev()),
    };
    for &cut in candidates {
        let (part, rest) = if prefix {
            (&value[..cut], &value[cut..])
        } else {
            (&value[cut..], &value[..cut])
        };
        if glob(pattern, part) {
            return rest.to_string();
        }
    }
    value.to_string()
}

/// `${v/p/r}` and `${v//p/r}`: the first (or every) longest match of the
/// glob `p` replaced with `r`.
fn replace_pattern(value: &str, pattern: &str, replacement: &str, all: bool) -> String {
    let cuts: Vec<usize> = value
        .char_indices()
        .map(|(i, _)| i)
        .chain([value.len()])
        .collect();
    let mut out = String::new();
    let mut i = 0;
    let mut replaced = false;
    while i < cuts.len() {
        let start = cuts[i];
        let found = if pattern.is_empty() || (replaced && !all) {
            None
        } else {
            (i + 1..cuts.len())
                .rev()
                .find(|&j| glob(pattern, &value[start..cuts[j]]))
        };
        match found {
            Some(j) => {
                out.push_str(replacement);
                replaced = true;
                i = j;
            }
            None => {
                if i + 1 < cuts.len() {
                    out.push_str(&value[start..cuts[i + 1]]);
                }
                i += 1;
            }
        }
    }
    out
}

/// The shell's `*` and `?` glob over a whole string.
fn glob(pattern: &str, s: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = s.chars().collect();
    let (mut pi, mut si) = (0, 0);
    let mut back: Option<(usize, usize)> = None;
    while si < s.len() {
        match p.get(pi) {
            Some('*') => {
                back = Some((pi, si));
                pi += 1;
            }
            Some(&c) if c == '?' || c == s[si] => {
                pi += 1;
                si += 1;
            }
            _ => match back {
                Some((bp, bs)) => {
                    pi = bp + 1;
                    si = bs + 1;
                    back = Some((bp, bs + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "A" => Some("apple".into()),
            "EMPTY" => Some(String::new()),
            "PATH" => Some("/usr/local/bin:/usr/bin:/bin".into()),
            "SP" => Some("a b".into()),
            _ => None,
        }
    }

    /// Cases from the Dockerfile reference ("Environment replacement") and
    /// BuildKit's lexer tests.
    #[test]
    fn expansion_table() {
        let cases: &[(&str, &str)] = &[
            ("plain", "plain"),
            ("$A", "apple"),
            ("${A}", "apple"),
            ("${A}_x", "apple_x"),
            ("$A_x", ""),
            ("$UNSET", ""),
            ("\\$A", "$A"),
            ("'$A'", "$A"),
            ("\"$A\"", "apple"),
            ("\"\\$A\"", "$A"),
            ("\"a\\b\"", "a\\b"),
            ("a\\ b", "a b"),
            ("$", "$"),
            ("a$", "a$"),
            ("$.x", "$.x"),
            ("${UNSET:-def}", "def"),
            ("${EMPTY:-def}", "def"),
            ("${EMPTY-def}", ""),
            ("${UNSET-def}", "def"),
            ("${A:-def}", "apple"),
            ("${A:+alt}", "alt"),
            ("${EMPTY:+alt}", ""),
            ("${EMPTY+alt}", "alt"),
            ("${UNSET:+alt}", ""),
            ("${UNSET:-$A}", "apple"),
            ("${UNSET:-${A:+x$A}}", "xapple"),
            ("${UNSET:-'a b'}", "a b"),
            ("${UNSET:-a\\}b}", "a}b"),
            ("${A:?must}", "apple"),
            ("${PATH#*:}", "/usr/bin:/bin"),
            ("${PATH##*:}", "/bin"),
            ("${PATH%:*}", "/usr/local/bin:/usr/bin"),
            ("${PATH%%:*}", "/usr/local/bin"),
            ("${A/p/P}", "aPple"),
            ("${A//p/P}", "aPPle"),
            ("${A/p*/X}", "aX"),
            ("$1", ""),
            ("$$", ""),
            ("\"$SP\"", "a b"),
        ];
        for (word, want) in cases {
            let it = expand(word, '\\', &env);
            assert_eq!(it.as_deref(), Ok(*want), "expanding {word:?}");
        }
    }

    #[test]
    fn expansion_errors() {
        let errors: &[(&str, SubstituteError)] = &[
            ("'open", SubstituteError::Unterminated("single-quote")),
            ("\"open", SubstituteError::Unterminated("double-quote")),
            ("${A", SubstituteError::Unterminated("'}'")),
            ("${A:-x", SubstituteError::Unterminated("'}'")),
            ("${}", SubstituteError::BadSubstitution("${}".into())),
            ("${:-x}", SubstituteError::BadSubstitution("${:-x}".into())),
            (
                "${A:=x}",
                SubstituteError::UnsupportedModifier {
                    name: "A".into(),
                    modifier: '=',
                },
            ),
            (
                "${UNSET:?give it}",
                SubstituteError::Required {
                    name: "UNSET".into(),
                    message: "give it".into(),
                },
            ),
            (
                "${UNSET?}",
                SubstituteError::Required {
                    name: "UNSET".into(),
                    message: "is not allowed to be unset".into(),
                },
            ),
        ];
        for (word, want) in errors {
            assert_eq!(expand(word, '\\', &env).as_ref(), Err(want), "{word:?}");
        }
    }

    #[test]
    fn heredoc_bodies_keep_quotes() {
        let got = expand_heredoc("say \"$A\" 'x' \\$A\n", '\\', &env);
        assert_eq!(got.as_deref(), Ok("say \"apple\" 'x' $A\n"));
    }

    #[test]
    fn backtick_escape() {
        assert_eq!(expand("`$A", '`', &env).as_deref(), Ok("$A"));
        assert_eq!(expand("c:\\dir", '`', &env).as_deref(), Ok("c:\\dir"));
    }
}
