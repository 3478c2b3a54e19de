//! Splits a template into text and the tokens of its actions. Trim
//! markers are applied here, to the text beside them, so the parser never
//! sees whitespace that `{{-` or `-}}` removed.

/// Where a token starts: a byte offset into the source.
pub(super) type Pos = usize;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Text(String),
    LeftDelim,
    RightDelim,
    /// A function name.
    Ident(String),
    Keyword(Keyword),
    /// `.Name`, without its dot.
    Field(String),
    Dot,
    /// `$` or `$name`, with its dollar.
    Variable(String),
    Str(String),
    /// A number or character constant, as written.
    Number(String),
    Char(char),
    Bool(bool),
    Nil,
    Pipe,
    LeftParen,
    RightParen,
    Comma,
    Declare,
    Assign,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Keyword {
    If,
    Else,
    End,
    Range,
    With,
    Break,
    Continue,
    Define,
    Template,
    Block,
}

impl Keyword {
    pub(super) fn name(self) -> &'static str {
        match self {
            Keyword::If => "if",
            Keyword::Else => "else",
            Keyword::End => "end",
            Keyword::Range => "range",
            Keyword::With => "with",
            Keyword::Break => "break",
            Keyword::Continue => "continue",
            Keyword::Define => "define",
            Keyword::Template => "template",
            Keyword::Block => "block",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Token {
    pub tok: Tok,
    pub pos: Pos,
    pub end: Pos,
    /// Whitespace came before it inside the action: `.A .B` is two
    /// operands where `.A.B` is one chain.
    pub spaced: bool,
}

/// A lexing failure: the message and where it happened.
#[derive(Debug)]
pub(super) struct LexError {
    pub msg: String,
    pub pos: Pos,
}

/// Go's notion of space inside templates: no Unicode spaces.
pub(super) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

pub(super) fn describe_char(c: char) -> String {
    format!("U+{:04X} '{c}'", c as u32)
}

pub(super) fn lex(src: &str) -> Result<Vec<Token>, LexError> {
    let mut lx = Lexer {
        src,
        toks: Vec::new(),
        trim_next: false,
    };
    lx.run()?;
    Ok(lx.toks)
}

struct Lexer<'s> {
    src: &'s str,
    toks: Vec<Token>,
    /// The last action ended with `-}}`: the next text loses its leading
    /// whitespace.
    trim_next: bool,
}

impl Lexer<'_> {
    fn push(&mut self, tok: Tok, pos: Pos, end: Pos, spaced: bool) {
        self.toks.push(Token {
            tok,
            pos,
            end,
            spaced,
        });
    }

    fn err<T>(&self, pos: Pos, msg: impl Into<String>) -> Result<T, LexError> {
        Err(LexError {
            msg: msg.into(),
            pos,
        })
    }

    fn run(&mut self) -> Result<(), LexError> {
        let src = self.src;
        let mut pos = 0;
        loop {
            let rest = &src[pos..];
            let Some(i) = rest.find("{{") else {
                self.text(pos, rest, false);
                self.push(Tok::Eof, src.len(), src.len(), false);
                return Ok(());
            };
            let open = pos + i;
            let mut inner = open + 2;
            let left_trim = has_left_trim(&src[inner..]);
            self.text(pos, &rest[..i], left_trim);
            if left_trim {
                inner += 2;
            }
            if src[inner..].starts_with("/*") {
                pos = self.comment(open, inner)?;
                continue;
            }
            self.push(Tok::LeftDelim, open, inner, false);
            pos = self.action(inner)?;
        }
    }

    fn text(&mut self, pos: Pos, text: &str, trim_end: bool) {
        let mut text = text;
        if std::mem::take(&mut self.trim_next) {
            text = text.trim_start_matches(is_space);
        }
        if trim_end {
            text = text.trim_end_matches(is_space);
        }
        if !text.is_empty() {
            self.push(Tok::Text(text.to_string()), pos, pos + text.len(), false);
        }
    }

    /// Comments must fill their action: `{{/* … */}}`, trim markers allowed.
    fn comment(&mut self, open: Pos, start: Pos) -> Result<Pos, LexError> {
        let src = self.src;
        let Some(end) = src[start + 2..].find("*/") else {
            return self.err(open, "unclosed comment");
        };
        let after = start + 2 + end + 2;
        if let Some(n) = right_delim_len(&src[after..]) {
            self.trim_next = n == 4;
            return Ok(after + n);
        }
        self.err(open, "comment ends before closing delimiter")
    }

    /// Lexes one action's tokens from `pos`, through its closing `}}`.
    fn action(&mut self, mut pos: Pos) -> Result<Pos, LexError> {
        let src = self.src;
        let open = self.toks.last().map(|t| t.pos).unwrap_or(0);
        let mut spaced = true;
        loop {
            let rest = &src[pos..];
            if let Some(n) = right_delim_len(rest) {
                self.trim_next = n == 4;
                self.push(Tok::RightDelim, pos, pos + n, spaced);
                return Ok(pos + n);
            }
            let Some(c) = rest.chars().next() else {
                return self.err(open, "unclosed action");
            };
            if is_space(c) {
                pos += rest.len() - rest.trim_start_matches(is_space).len();
                spaced = true;
                continue;
            }
            let start = pos;
            let tok = match c {
                '|' => {
                    pos += 1;
                    Tok::Pipe
                }
                '(' => {
                    pos += 1;
                    Tok::LeftParen
                }
                ')' => {
                    pos += 1;
                    Tok::RightParen
                }
                ',' => {
                    pos += 1;
                    Tok::Comma
                }
                '=' => {
                    pos += 1;
                    Tok::Assign
                }
                ':' => {
                    if !rest.starts_with(":=") {
                        return self.err(pos, "expected :=");
                    }
                    pos += 2;
                    Tok::Declare
                }
                '"' => {
                    let (s, n) = self.quoted(pos)?;
                    pos += n;
                    Tok::Str(s)
                }
                '`' => {
                    let Some(end) = rest[1..].find('`') else {
                        return self.err(pos, "unterminated raw quoted string");
                    };
                    pos += end + 2;
                    Tok::Str(rest[1..end + 1].to_string())
                }
                '\'' => {
                    let (c, n) = self.char_constant(pos)?;
                    pos += n;
                    Tok::Char(c)
                }
                '$' => {
                    let n = 1 + word_len(&rest[1..]);
                    pos += n;
                    self.check_terminator(pos)?;
                    Tok::Variable(rest[..n].to_string())
                }
                '.' if !rest[1..].starts_with(|c: char| c.is_ascii_digit()) => {
                    let n = word_len(&rest[1..]);
                    pos += 1 + n;
                    self.check_terminator(pos)?;
                    if n == 0 {
                        Tok::Dot
                    } else {
                        Tok::Field(rest[1..1 + n].to_string())
                    }
                }
                '.' | '+' | '-' | '0'..='9' => {
                    let n = number_len(rest);
                    let lit = &rest[..n];
                    if rest[n..].starts_with(is_alnum)
                        || !lit.contains(|c: char| c.is_ascii_digit())
                    {
                        let bad = &rest[..n + word_len(&rest[n..])];
                        return self.err(pos, format!("bad number syntax: {bad:?}"));
                    }
                    pos += n;
                    Tok::Number(lit.to_string())
                }
                c if is_alnum(c) => {
                    let n = word_len(rest);
                    let word = &rest[..n];
                    pos += n;
                    self.check_terminator(pos)?;
                    keyword(word).unwrap_or_else(|| Tok::Ident(word.to_string()))
                }
                c => {
                    return self.err(
                        pos,
                        format!("unrecognized character in action: {}", describe_char(c)),
                    );
                }
            };
            self.push(tok, start, pos, spaced);
            spaced = false;
        }
    }

    /// After a word, only a separator may follow: `.Foo#` is an error, not
    /// `.Foo` then `#`.
    fn check_terminator(&self, pos: Pos) -> Result<(), LexError> {
        let rest = &self.src[pos..];
        match rest.chars().next() {
            None => Ok(()),
            Some(c) if is_space(c) || ".,|:()=".contains(c) || rest.starts_with("}}") => Ok(()),
            Some(c) => self.err(pos, format!("bad character {}", describe_char(c))),
        }
    }

    /// A double-quoted string at `pos`: its value and its length in bytes.
    fn quoted(&self, pos: Pos) -> Result<(String, usize), LexError> {
        let rest = &self.src[pos..];
        let mut out = String::new();
        let mut chars = rest.char_indices().skip(1);
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((out, i + 1)),
                '\n' => break,
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    out.push(self.escape(pos, e, &mut chars, '"')?);
                }
                c => out.push(c),
            }
        }
        self.err(pos, "unterminated quoted string")
    }

    fn char_constant(&self, pos: Pos) -> Result<(char, usize), LexError> {
        let rest = &self.src[pos..];
        let mut chars = rest.char_indices().skip(1);
        let mut value = Vec::new();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    return match value[..] {
                        [c] => Ok((c, i + 1)),
                        _ => self.err(
                            pos,
                            format!("malformed character constant: {}", &rest[..=i]),
                        ),
                    };
                }
                '\n' => break,
                '\\' => {
                    let Some((_, e)) = chars.next() else { break };
                    value.push(self.escape(pos, e, &mut chars, '\'')?);
                }
                c => value.push(c),
            }
        }
        self.err(pos, "unterminated character constant")
    }

    /// Go's escapes after a backslash: the one-letter ones, octal, \x, \u
    /// and \U.
    fn escape(
        &self,
        pos: Pos,
        e: char,
        chars: &mut impl Iterator<Item = (usize, char)>,
        quote: char,
    ) -> Result<char, LexError> {
        let hex = |chars: &mut dyn Iterator<Item = (usize, char)>, n: usize, radix: u32| {
            let mut v: u32 = 0;
            for _ in 0..n {
                let d = chars.next().and_then(|(_, c)| c.to_digit(radix))?;
                v = v.checked_mul(radix)?.checked_add(d)?;
            }
            Some(v)
        };
        let value = match e {
            'a' => Some(0x07),
            'b' => Some(0x08),
            'f' => Some(0x0c),
            'n' => Some(u32::from('\n')),
            'r' => Some(u32::from('\r')),
            't' => Some(u32::from('\t')),
            'v' => Some(0x0b),
            '\\' => Some(u32::from('\\')),
            c if c == quote => Some(u32::from(c)),
            'x' => hex(chars, 2, 16),
            'u' => hex(chars, 4, 16),
            'U' => hex(chars, 8, 16),
            '0'..='7' => hex(chars, 2, 8).map(|v| (e as u32 - u32::from('0')) * 64 + v),
            _ => None,
        };
        match value.and_then(char::from_u32) {
            Some(c) => Ok(c),
            None => self.err(pos, "invalid syntax in quoted string"),
        }
    }
}

fn has_left_trim(s: &str) -> bool {
    let mut c = s.chars();
    c.next() == Some('-') && c.next().is_some_and(is_space)
}

/// `}}` or ` -}}` at the start of `s`: the length of the closing delimiter.
fn right_delim_len(s: &str) -> Option<usize> {
    if s.starts_with("}}") {
        return Some(2);
    }
    let mut c = s.chars();
    (c.next().is_some_and(is_space) && s[1..].starts_with("-}}")).then_some(4)
}

fn word_len(s: &str) -> usize {
    s.find(|c: char| !is_alnum(c)).unwrap_or(s.len())
}

/// The length of a Go number literal at the start of `s` (sign, base
/// prefix, digits with underscores, fraction, exponent); validity is
/// judged when the parser converts it.
fn number_len(s: &str) -> usize {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut digits: &[u8] = b"0123456789_";
    let mut exp: &[u8] = b"eE";
    if b.len() > i + 1 && b[i] == b'0' {
        match b[i + 1] {
            b'x' | b'X' => {
                i += 2;
                digits = b"0123456789abcdefABCDEF_";
                exp = b"pP";
            }
            b'o' | b'O' => {
                i += 2;
                digits = b"01234567_";
            }
            b'b' | b'B' => {
                i += 2;
                digits = b"01_";
            }
            _ => {}
        }
    }
    let run = |i: &mut usize, set: &[u8]| {
        while *i < b.len() && set.contains(&b[*i]) {
            *i += 1;
        }
    };
    run(&mut i, digits);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        run(&mut i, digits);
    }
    if i < b.len() && exp.contains(&b[i]) {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        run(&mut i, b"0123456789_");
    }
    i
}

fn keyword(word: &str) -> Option<Tok> {
    let kw = match word {
        "if" => Keyword::If,
        "else" => Keyword::Else,
        "end" => Keyword::End,
        "range" => Keyword::Range,
        "with" => Keyword::With,
        "break" => Keyword::Break,
        "continue" => Keyword::Continue,
        "define" => Keyword::Define,
        "template" => Keyword::Template,
        "block" => Keyword::Block,
        "true" => return Some(Tok::Bool(true)),
        "false" => return Some(Tok::Bool(false)),
        "nil" => return Some(Tok::Nil),
        _ => return None,
    };
    Some(Tok::Keyword(kw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(src: &str) -> Vec<Tok> {
        lex(src).unwrap().into_iter().map(|t| t.tok).collect()
    }

    #[test]
    fn trim_markers_eat_adjacent_whitespace_only() {
        assert_eq!(
            toks("a \n{{- .X -}}\n b"),
            vec![
                Tok::Text("a".into()),
                Tok::LeftDelim,
                Tok::Field("X".into()),
                Tok::RightDelim,
                Tok::Text("b".into()),
                Tok::Eof
            ]
        );
        // `{{-3}}` is the number -3, not a trim marker.
        assert_eq!(toks("{{-3}}")[1], Tok::Number("-3".into()));
    }

    #[test]
    fn comments_vanish() {
        assert_eq!(
            toks("a {{- /* x }} y */ -}} b"),
            vec![Tok::Text("a".into()), Tok::Text("b".into()), Tok::Eof]
        );
        assert!(lex("{{/* x */ .X}}").is_err());
        assert!(lex("{{/* x").is_err());
    }

    #[test]
    fn strings_and_chars_decode_escapes() {
        assert_eq!(
            toks(r#"{{"a\tb\x41\u00e9"}}"#)[1],
            Tok::Str("a\tbAé".into())
        );
        assert_eq!(toks("{{`a\\n`}}")[1], Tok::Str("a\\n".into()));
        assert_eq!(toks(r"{{'\n'}}")[1], Tok::Char('\n'));
        assert!(lex("{{\"abc}}").is_err());
        assert!(lex("{{'ab'}}").is_err());
    }

    #[test]
    fn bad_characters_are_reported() {
        assert_eq!(lex("{{.A#}}").unwrap_err().msg, "bad character U+0023 '#'");
        assert_eq!(
            lex("{{ ; }}").unwrap_err().msg,
            "unrecognized character in action: U+003B ';'"
        );
        assert_eq!(lex("{{.A").unwrap_err().msg, "unclosed action");
        assert_eq!(lex("{{1x}}").unwrap_err().msg, "bad number syntax: \"1x\"");
    }
}
