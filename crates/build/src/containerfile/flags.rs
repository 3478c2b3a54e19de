//! Checking an instruction's `--flags` against the ones it takes.

use super::error::ParseErrorKind;
use super::words::RawFlag;

/// The flags given to one instruction, checked against those it takes.
pub(crate) struct Flags {
    instruction: &'static str,
    given: Vec<RawFlag>,
}

impl Flags {
    /// Refuses flags not in `allowed` and single flags given twice (those
    /// in `repeatable` may come many times).
    pub fn check(
        instruction: &'static str,
        given: Vec<RawFlag>,
        allowed: &[&str],
        repeatable: &[&str],
    ) -> Result<Flags, ParseErrorKind> {
        for (i, f) in given.iter().enumerate() {
            if !allowed.contains(&f.name.as_str()) && !repeatable.contains(&f.name.as_str()) {
                return Err(ParseErrorKind::UnknownFlag {
                    instruction,
                    flag: f.name.clone(),
                });
            }
            if !repeatable.contains(&f.name.as_str()) && given[..i].iter().any(|g| g.name == f.name)
            {
                return Err(bad(instruction, &f.name, "given twice"));
            }
        }
        Ok(Flags { instruction, given })
    }

    /// A flag that needs a value.
    pub fn value(&self, name: &str) -> Result<Option<String>, ParseErrorKind> {
        match self.given.iter().find(|f| f.name == name) {
            None => Ok(None),
            Some(RawFlag { value: Some(v), .. }) => Ok(Some(v.clone())),
            Some(_) => Err(bad(self.instruction, name, "needs a value (--name=value)")),
        }
    }

    /// Every value of a repeatable flag.
    pub fn values(&self, name: &str) -> Result<Vec<String>, ParseErrorKind> {
        self.given
            .iter()
            .filter(|f| f.name == name)
            .map(|f| {
                f.value
                    .clone()
                    .ok_or_else(|| bad(self.instruction, name, "needs a value (--name=value)"))
            })
            .collect()
    }

    /// A boolean flag: `--x`, `--x=true` or `--x=false`.
    pub fn boolean(&self, name: &str) -> Result<bool, ParseErrorKind> {
        match self.given.iter().find(|f| f.name == name) {
            None => Ok(false),
            Some(f) => match f.value.as_deref() {
                None | Some("true") => Ok(true),
                Some("false") => Ok(false),
                Some(_) => Err(bad(self.instruction, name, "takes true or false")),
            },
        }
    }

    /// No flags at all were given.
    pub fn is_empty(&self) -> bool {
        self.given.is_empty()
    }
}

pub(crate) fn bad(instruction: &'static str, flag: &str, reason: &str) -> ParseErrorKind {
    ParseErrorKind::BadFlag {
        instruction,
        flag: flag.to_string(),
        reason: reason.to_string(),
    }
}
