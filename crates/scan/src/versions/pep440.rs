//! PEP 440 versions (Python): `[N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`,
//! with the spellings the spec normalises (`alpha`, `c`, `pre`, `-1` as a
//! post-release, `_`/`-` separators, upper case, a leading `v`).

use std::cmp::Ordering;

/// A parsed PEP 440 version, ordered as `packaging.version.Version` orders.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pep440Version {
    epoch: u64,
    /// Release numbers with trailing zeros removed (1.0 == 1.0.0).
    release: Vec<u64>,
    /// 0 = dev-only release (before every pre-release), 1 = a, 2 = b,
    /// 3 = rc, 4 = no pre-release.
    pre: (u8, u64),
    post: Option<u64>,
    /// `None` sorts after every dev release.
    dev: Option<u64>,
    local: Vec<LocalPart>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalPart {
    // Declared first: strings sort before numbers.
    Text(String),
    Number(u64),
}

pub(crate) fn compare(a: &str, b: &str) -> Ordering {
    match (Pep440Version::parse(a), Pep440Version::parse(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Greater,
        (None, Some(_)) => Ordering::Less,
        (None, None) => super::natural(a, b),
    }
}

impl Ord for Pep440Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| self.release.cmp(&other.release))
            .then_with(|| self.pre.cmp(&other.pre))
            .then_with(|| self.post.cmp(&other.post))
            .then_with(|| match (self.dev, other.dev) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => x.cmp(&y),
            })
            .then_with(|| self.local.cmp(&other.local))
    }
}

impl PartialOrd for Pep440Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A cursor over the lower-cased version text.
struct Cursor<'a> {
    s: &'a str,
}

impl<'a> Cursor<'a> {
    fn number(&mut self) -> Option<u64> {
        let n = self.s.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        let (digits, rest) = self.s.split_at(n);
        self.s = rest;
        digits.parse().ok()
    }

    fn separator(&mut self) {
        if self.s.starts_with(['.', '-', '_']) {
            self.s = &self.s[1..];
        }
    }

    /// Consumes one of `words` (longest first), after an optional separator.
    fn word(&mut self, words: &[&'static str]) -> Option<&'static str> {
        let save = self.s;
        self.separator();
        for w in words {
            if let Some(rest) = self.s.strip_prefix(w) {
                self.s = rest;
                return Some(w);
            }
        }
        self.s = save;
        None
    }

    /// An optional number after an optional separator; a bare word means 0.
    fn implicit_number(&mut self) -> Option<u64> {
        let save = self.s;
        self.separator();
        match self.number() {
            Some(n) => Some(n),
            None => {
                self.s = save;
                Some(0)
            }
        }
    }
}

impl Pep440Version {
    /// Parses `v`; `None` when it is no PEP 440 version.
    pub fn parse(v: &str) -> Option<Self> {
        let lower = v.trim().to_ascii_lowercase();
        let mut c = Cursor {
            s: lower.strip_prefix('v').unwrap_or(&lower),
        };
        let mut epoch = 0;
        if let Some((e, rest)) = c.s.split_once('!') {
            epoch = e.parse().ok()?;
            c.s = rest;
        }
        let mut release = vec![c.number()?];
        while let Some(rest) = c.s.strip_prefix('.') {
            if !rest.starts_with(|ch: char| ch.is_ascii_digit()) {
                break;
            }
            c.s = rest;
            release.push(c.number()?);
        }
        while release.len() > 1 && release.last() == Some(&0) {
            release.pop();
        }
        let mut pre = None;
        if let Some(w) = c.word(&["alpha", "beta", "preview", "pre", "rc", "a", "b", "c"]) {
            let rank = match w {
                "alpha" | "a" => 1,
                "beta" | "b" => 2,
                _ => 3,
            };
            pre = Some((rank, c.implicit_number()?));
        }
        let mut post = None;
        if let Some(rest) =
            c.s.strip_prefix('-')
                .filter(|r| r.starts_with(|ch: char| ch.is_ascii_digit()))
        {
            c.s = rest;
            post = c.number();
        } else if c.word(&["post", "rev", "r"]).is_some() {
            post = Some(c.implicit_number()?);
        }
        let mut dev = None;
        if c.word(&["dev"]).is_some() {
            dev = Some(c.implicit_number()?);
        }
        let mut local = Vec::new();
        if let Some(rest) = c.s.strip_prefix('+') {
            for part in rest.split(['.', '-', '_']) {
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_alphanumeric()) {
                    return None;
                }
                local.push(match part.parse() {
                    Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => LocalPart::Number(n),
                    _ => LocalPart::Text(part.to_string()),
                });
            }
            c.s = "";
        }
        if !c.s.is_empty() {
            return None;
        }
        let pre = match (pre, post, dev) {
            (Some(p), _, _) => p,
            (None, None, Some(_)) => (0, 0),
            (None, _, _) => (4, 0),
        };
        Some(Self {
            epoch,
            release,
            pre,
            post,
            dev,
            local,
        })
    }
}
