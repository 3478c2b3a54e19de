//! The id mapping of a user's namespace, from `/etc/subuid` and
//! `/etc/subgid` (subuid(5)): the user's own id becomes 0, its subordinate
//! ranges follow from 1, as podman maps them.

use super::error::{Error, Result};
use std::path::Path;

/// The subordinate uid file.
pub const SUBUID: &str = "/etc/subuid";
/// The subordinate gid file.
pub const SUBGID: &str = "/etc/subgid";

/// One `inside outside count` line of a uid_map or gid_map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    /// The first id inside the namespace.
    pub inside: u32,
    /// The first id outside.
    pub outside: u32,
    /// How many.
    pub count: u32,
}

/// The maps of one namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdMapping {
    /// uid_map lines.
    pub uids: Vec<IdRange>,
    /// gid_map lines.
    pub gids: Vec<IdRange>,
}

impl IdMapping {
    /// Only the user itself, as root: what a user without subordinate ids
    /// gets (and may write without the setuid helpers).
    pub fn single(uid: u32, gid: u32) -> IdMapping {
        let one = |id| {
            vec![IdRange {
                inside: 0,
                outside: id,
                count: 1,
            }]
        };
        IdMapping {
            uids: one(uid),
            gids: one(gid),
        }
    }

    /// Whether only the user itself is mapped.
    pub fn is_single(&self) -> bool {
        self.uids.len() == 1 && self.gids.len() == 1
    }

    /// The mapping for `user` (`uid`, `gid`) from the two files' text:
    /// `None` when either file gives the user no range.
    pub fn from_files(
        user: &str,
        uid: u32,
        gid: u32,
        subuid: (&Path, &str),
        subgid: (&Path, &str),
    ) -> Result<Option<IdMapping>> {
        let uids = own_ranges(subuid.0, subuid.1, user, uid)?;
        let gids = own_ranges(subgid.0, subgid.1, user, uid)?;
        if uids.is_empty() || gids.is_empty() {
            return Ok(None);
        }
        Ok(Some(IdMapping {
            uids: with_self(uid, &uids),
            gids: with_self(gid, &gids),
        }))
    }

    /// Read /etc/subuid and /etc/subgid (a missing file gives no ranges).
    pub fn read(user: &str, uid: u32, gid: u32) -> Result<Option<IdMapping>> {
        let read = |p: &'static str| match std::fs::read_to_string(p) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(source) => Err(Error::ReadIds {
                path: p.into(),
                source,
            }),
        };
        let (u, g) = (read(SUBUID)?, read(SUBGID)?);
        IdMapping::from_files(
            user,
            uid,
            gid,
            (Path::new(SUBUID), &u),
            (Path::new(SUBGID), &g),
        )
    }
}

/// `0 -> id`, then the ranges one after another from 1.
fn with_self(id: u32, ranges: &[(u32, u32)]) -> Vec<IdRange> {
    let mut out = vec![IdRange {
        inside: 0,
        outside: id,
        count: 1,
    }];
    let mut next = 1u32;
    for &(start, count) in ranges {
        out.push(IdRange {
            inside: next,
            outside: start,
            count,
        });
        next = next.saturating_add(count);
    }
    out
}

/// The ranges the file gives `user` (by name or uid), checked against
/// each other and every other owner's: an overlap is an error, since two
/// users' containers would then own each other's files.
fn own_ranges(path: &Path, text: &str, user: &str, uid: u32) -> Result<Vec<(u32, u32)>> {
    let mut all = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || Error::BadIdLine {
            path: path.into(),
            line: n + 1,
            text: line.into(),
        };
        let mut f = line.split(':');
        let (Some(owner), Some(start), Some(count), None) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            return Err(bad());
        };
        let start: u32 = start.parse().map_err(|_| bad())?;
        let count: u32 = count.parse().map_err(|_| bad())?;
        if count == 0 || start.checked_add(count).is_none() {
            return Err(bad());
        }
        all.push((owner.to_string(), start, count));
    }
    let uid_text = uid.to_string();
    let mine = |o: &str| o == user || o == uid_text;
    let span = |s: u32, c: u32| format!("{s}-{}", s + (c - 1));
    let mut own = Vec::new();
    for (i, (owner, start, count)) in all.iter().enumerate() {
        if !mine(owner) {
            continue;
        }
        for (j, (other, ostart, ocount)) in all.iter().enumerate() {
            let apart = start + (count - 1) < *ostart || ostart + (ocount - 1) < *start;
            // The same range listed twice under the user's name and uid
            // is one range.
            let same = mine(other) && (start, count) == (ostart, ocount);
            if i != j && !apart && !same {
                return Err(Error::Overlap {
                    path: path.into(),
                    owner: user.into(),
                    first: span(*start, *count),
                    second: format!("{other}:{}", span(*ostart, *ocount)),
                });
            }
        }
        if !own.contains(&(*start, *count)) {
            own.push((*start, *count));
        }
    }
    Ok(own)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(subuid: &str, subgid: &str) -> Result<Option<IdMapping>> {
        IdMapping::from_files(
            "alice",
            1000,
            1001,
            (Path::new("/etc/subuid"), subuid),
            (Path::new("/etc/subgid"), subgid),
        )
    }

    #[test]
    fn maps_self_then_the_ranges() {
        let m = map(
            "bob:100000:65536\nalice:165536:65536\n",
            "1000:165536:1000\n1000:300000:10\n",
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            m.uids,
            vec![
                IdRange {
                    inside: 0,
                    outside: 1000,
                    count: 1
                },
                IdRange {
                    inside: 1,
                    outside: 165536,
                    count: 65536
                }
            ]
        );
        assert_eq!(m.gids[0].outside, 1001);
        assert_eq!(m.gids[2].inside, 1001);
        assert!(!m.is_single());
    }

    #[test]
    fn no_ranges_is_none() {
        assert_eq!(map("bob:100000:65536\n", "alice:1:2\n").unwrap(), None);
        assert_eq!(map("", "").unwrap(), None);
    }

    #[test]
    fn overlaps_are_refused() {
        let e = map(
            "bob:100000:65536\nalice:165000:65536\n",
            "alice:200000:10\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("/etc/subuid") && e.contains("bob:100000-165535"),
            "{e}"
        );
        let e = map("alice:100000:10\nalice:100005:10\n", "alice:1:1\n").unwrap_err();
        assert!(matches!(e, Error::Overlap { .. }), "{e}");
        // The same range under name and uid is one range.
        let m = map("alice:100000:10\n1000:100000:10\n", "alice:5:1\n")
            .unwrap()
            .unwrap();
        assert_eq!(m.uids.len(), 2);
    }

    #[test]
    fn malformed_lines_are_named() {
        for bad in [
            "alice:1",
            "alice:x:3",
            "alice:1:0",
            "alice:4294967295:2",
            "a:1:2:3",
        ] {
            let e = map(bad, "alice:1:1").unwrap_err().to_string();
            assert!(e.contains("/etc/subuid:1"), "{bad}: {e}");
        }
    }
}
