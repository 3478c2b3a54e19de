//! `.containerignore` / `.dockerignore`: which context paths a build does
//! not see, with Docker's rules (moby's patternmatcher): one pattern a line,
//! `#` comments, patterns cleaned and made relative, `*` and `?` within one
//! path element, `**` across any number of them, `[a-z]` classes, `\`
//! escapes, `!` re-including what an earlier pattern excluded; the last
//! matching pattern decides, and a pattern matching a directory matches
//! everything under it.

use std::collections::HashSet;
use std::path::Path;

/// A pattern file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    /// A pattern that is no valid pattern.
    #[error("{file}:{line}: bad pattern {pattern:?}: {reason}")]
    BadPattern {
        /// The ignore file.
        file: String,
        /// Its 1-based line.
        line: usize,
        /// The pattern.
        pattern: String,
        /// Why.
        reason: &'static str,
    },
}

/// The rules of one ignore file.
#[derive(Debug, Clone, Default)]
pub struct IgnoreRules {
    patterns: Vec<Pattern>,
}

#[derive(Debug, Clone)]
struct Pattern {
    exclusion: bool,
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    /// `*`: any run of characters but `/`.
    Star,
    /// `?`: one character but `/`.
    Any,
    /// `**` followed by more: any run of whole elements, `(.*/)?`.
    Elements,
    /// `**` at the end: anything at all.
    Rest,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl IgnoreRules {
    /// The file among `.containerignore` and `.dockerignore` in `context`
    /// (podman reads the former first), parsed; no file means no rules.
    pub fn for_context(context: &Path) -> Result<IgnoreRules, std::io::Error> {
        for name in [".containerignore", ".dockerignore"] {
            let path = context.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => {
                    return IgnoreRules::parse(name, &text)
                        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(IgnoreRules::default())
    }

    /// Parses the text of an ignore file named `file`.
    pub fn parse(file: &str, text: &str) -> Result<IgnoreRules, IgnoreError> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut patterns = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            if raw.starts_with('#') {
                continue;
            }
            let mut p = raw.trim();
            if p.is_empty() {
                continue;
            }
            let exclusion = p.starts_with('!');
            if exclusion {
                p = p[1..].trim();
            }
            let cleaned = clean(p);
            let bad = |reason| IgnoreError::BadPattern {
                file: file.to_string(),
                line: i + 1,
                pattern: raw.to_string(),
                reason,
            };
            if exclusion && cleaned.is_empty() {
                return Err(bad("\"!\" alone excludes nothing"));
            }
            let tokens = compile(&cleaned).map_err(bad)?;
            patterns.push(Pattern { exclusion, tokens });
        }
        Ok(IgnoreRules { patterns })
    }

    /// Whether `path` (relative to the context, `/`-separated) is left out.
    pub fn is_excluded(&self, path: &str) -> bool {
        let path = clean(path);
        let parents: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        let mut excluded = false;
        for p in &self.patterns {
            // An exclusion only matters for a path already excluded, an
            // inclusion only for one not yet excluded.
            if p.exclusion != excluded {
                continue;
            }
            if matches(&p.tokens, &path) || parents.iter().any(|d| matches(&p.tokens, d)) {
                excluded = !p.exclusion;
            }
        }
        excluded
    }

    /// Whether there are no rules at all.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether some `!` pattern could bring back a path under an excluded
    /// directory: a context walker must then still descend into it.
    pub fn has_exceptions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }
}

/// Go's filepath.Clean, made relative: no `.` or empty elements, `..`
/// folded, leading `/` dropped (a context has no outside).
fn clean(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

fn compile(pattern: &str) -> Result<Vec<Token>, &'static str> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' if chars.get(i) == Some(&'*') => {
                i += 1;
                if chars.get(i) == Some(&'/') {
                    i += 1;
                }
                tokens.push(if i >= chars.len() {
                    Token::Rest
                } else {
                    Token::Elements
                });
            }
            '*' => tokens.push(Token::Star),
            '?' => tokens.push(Token::Any),
            '\\' => match chars.get(i) {
                Some(&n) => {
                    tokens.push(Token::Char(n));
                    i += 1;
                }
                None => return Err("ends with an escape"),
            },
            '[' => {
                let negated = matches!(chars.get(i), Some('^' | '!'));
                if negated {
                    i += 1;
                }
                let mut ranges = Vec::new();
                let mut closed = false;
                while i < chars.len() {
                    let mut lo = chars[i];
                    i += 1;
                    if lo == ']' && !ranges.is_empty() {
                        closed = true;
                        break;
                    }
                    if lo == '\\' {
                        lo = *chars.get(i).ok_or("ends with an escape")?;
                        i += 1;
                    }
                    let mut hi = lo;
                    if chars.get(i) == Some(&'-') && chars.get(i + 1).is_some_and(|c| *c != ']') {
                        hi = chars[i + 1];
                        i += 2;
                        if hi < lo {
                            return Err("a class range goes backwards");
                        }
                    }
                    ranges.push((lo, hi));
                }
                if !closed {
                    return Err("a [ class is not closed");
                }
                tokens.push(Token::Class { negated, ranges });
            }
            c => tokens.push(Token::Char(c)),
        }
    }
    Ok(tokens)
}

/// Go's filepath.Match of one path element against one pattern element
/// (COPY's wildcards); `Err` for a malformed pattern.
pub fn glob_match(pattern: &str, name: &str) -> Result<bool, &'static str> {
    Ok(matches(&compile(pattern)?, name))
}

fn matches(tokens: &[Token], path: &str) -> bool {
    let s: Vec<char> = path.chars().collect();
    let mut failed = HashSet::new();
    match_at(tokens, &s, 0, 0, &mut failed)
}

/// Backtracking match; `failed` remembers (token, char) positions already
/// known not to match, so `**` patterns stay linear-ish on long paths.
fn match_at(
    t: &[Token],
    s: &[char],
    ti: usize,
    si: usize,
    failed: &mut HashSet<(usize, usize)>,
) -> bool {
    if failed.contains(&(ti, si)) {
        return false;
    }
    let result = match t.get(ti) {
        None => si == s.len(),
        Some(Token::Rest) => true,
        Some(Token::Char(c)) => s.get(si) == Some(c) && match_at(t, s, ti + 1, si + 1, failed),
        Some(Token::Any) => {
            s.get(si).is_some_and(|c| *c != '/') && match_at(t, s, ti + 1, si + 1, failed)
        }
        Some(Token::Class { negated, ranges }) => {
            s.get(si)
                .is_some_and(|c| ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated)
                && match_at(t, s, ti + 1, si + 1, failed)
        }
        Some(Token::Star) => {
            let mut end = si;
            loop {
                if match_at(t, s, ti + 1, end, failed) {
                    break true;
                }
                if end >= s.len() || s[end] == '/' {
                    break false;
                }
                end += 1;
            }
        }
        Some(Token::Elements) => {
            // Zero elements, or any prefix ending in `/`.
            match_at(t, s, ti + 1, si, failed)
                || (si..s.len())
                    .filter(|&k| s[k] == '/')
                    .any(|k| match_at(t, s, ti + 1, k + 1, failed))
        }
    };
    if !result {
        failed.insert((ti, si));
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (ignore file, path, excluded?), after Docker's documentation of
    /// .dockerignore and moby's patternmatcher tests.
    #[test]
    fn rules_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("*/temp*", "somedir/temporary.txt", true),
            ("*/temp*", "somedir/temp", true),
            ("*/temp*", "temp", false),
            ("*/*/temp*", "somedir/subdir/temporary.txt", true),
            ("temp?", "temp1", true),
            ("temp?", "temp12", false),
            ("**/*.go", "a/b/c.go", true),
            ("**/*.go", "c.go", true),
            ("**/*.go", "c.gox", false),
            ("a/**/b", "a/b", true),
            ("a/**/b", "a/x/y/b", true),
            ("a/**", "a/x/y", true),
            ("**", "anything/at/all", true),
            ("*.md\n!README.md", "README.md", false),
            ("*.md\n!README.md", "CHANGES.md", true),
            ("!README.md\n*.md", "README.md", true),
            (
                "*.md\n!README*.md\nREADME-secret.md",
                "README-secret.md",
                true,
            ),
            (
                "*.md\n!README*.md\nREADME-secret.md",
                "README-public.md",
                false,
            ),
            ("build", "build/out/x.o", true),
            ("build/", "build/out/x.o", true),
            ("/build", "build", true),
            ("./build/../build", "build/x", true),
            ("build\n!build/keep", "build/keep", false),
            ("build\n!build/keep", "build/keep/a", false),
            ("build\n!build/keep", "build/other", true),
            ("# comment\n  \nx", "x", true),
            ("# comment", "# comment", false),
            (" spaced ", "spaced", true),
            ("[a-c]*", "beta", true),
            ("[a-c]*", "delta", false),
            ("[^a-c]*", "delta", true),
            ("\\*", "*", true),
            ("\\*", "x", false),
            ("*", "a/b", true),
            ("a*b", "a/b", false),
            ("Dockerfile", "Dockerfile", true),
        ];
        for (file, path, want) in cases {
            let rules = IgnoreRules::parse(".dockerignore", file).unwrap();
            assert_eq!(rules.is_excluded(path), *want, "{file:?} on {path:?}");
        }
    }

    #[test]
    fn bad_patterns_name_the_line() {
        let err = IgnoreRules::parse(".dockerignore", "ok\n[abc\n").unwrap_err();
        assert!(err.to_string().starts_with(".dockerignore:2:"), "{err}");
        assert!(IgnoreRules::parse("x", "!").is_err());
        assert!(IgnoreRules::parse("x", "a\\").is_err());
        assert!(IgnoreRules::parse("x", "[z-a]").is_err());
    }

    #[test]
    fn long_double_star_paths_stay_quick() {
        let rules = IgnoreRules::parse("x", "**/a/**/b/**/c/**/d").unwrap();
        let path = "a/".repeat(200) + "z";
        assert!(!rules.is_excluded(&path));
    }
}
