//! Users and groups of an image: `user[:group]` resolved in its
//! `/etc/passwd` and `/etc/group`, read in-root ([`RootfsReader`]) so a
//! symlinked passwd never reaches the host's. An id that does not parse is
//! an error naming the file and line, never a default of 0 (root).

use crate::error::{Error, Result};
use crate::rootfs_reader::RootfsReader;

/// passwd and group are small; a bigger one is not what it claims to be.
const MAX_ID_FILE: u64 = 4 << 20;

/// A user resolved in the image: uid, gid and supplementary groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    /// The uid.
    pub uid: u32,
    /// The primary gid.
    pub gid: u32,
    /// Supplementary groups from /etc/group.
    pub additional_gids: Vec<u32>,
    /// The home directory (for HOME), when known.
    pub home: Option<String>,
}

/// One line of a passwd or group file, split on `:`, with its number.
struct Entry<'a> {
    file: &'static str,
    line: usize,
    fields: Vec<&'a str>,
}

impl Entry<'_> {
    /// Field `i` as an id; an error naming the line when it is no u32.
    fn id(&self, i: usize, field: &'static str) -> Result<u32> {
        let value = self.fields.get(i).copied().unwrap_or_default();
        value.parse().map_err(|_| Error::BadUserEntry {
            file: self.file,
            line: self.line,
            field,
            value: value.into(),
        })
    }
}

/// The text of `file` in the root; empty when it does not exist (it then
/// resolves no names, as in runc's libcontainer/user).
fn read_id_file(root: &RootfsReader, file: &'static str) -> Result<String> {
    let bytes = root.read_small(file, MAX_ID_FILE)?.unwrap_or_default();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn entries<'a>(file: &'static str, text: &'a str, min_fields: usize) -> Vec<Entry<'a>> {
    text.lines()
        .enumerate()
        .map(|(i, l)| Entry {
            file,
            line: i + 1,
            fields: l.split(':').collect(),
        })
        .filter(|e| e.fields.len() >= min_fields)
        .collect()
}

/// `(id, name)` of every well-formed entry of passwd or group `file` in
/// the root, for display (`top`); lines whose id does not parse are left
/// out, as is everything when the file cannot be read.
pub(crate) fn names_by_id(root: &RootfsReader, file: &'static str) -> Vec<(u32, String)> {
    let text = read_id_file(root, file).unwrap_or_default();
    entries(file, &text, 3)
        .iter()
        .filter_map(|e| Some((e.id(2, "id").ok()?, e.fields[0].to_string())))
        .collect()
}

/// Resolve `user[:group]` (names or numbers) in the image's files, as
/// podman does: a name must exist; a number need not.
pub(crate) fn resolve_user(root: &RootfsReader, spec: &str) -> Result<ResolvedUser> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = read_id_file(root, "/etc/passwd")?;
    let groups = read_id_file(root, "/etc/group")?;
    let number = user.parse::<u32>().ok();
    let users = entries("/etc/passwd", &passwd, 7);
    let entry = users
        .iter()
        .find(|e| e.fields[0] == user || (number.is_some() && e.fields[2] == user));
    let (uid, mut gid, home, name) = match (number, entry) {
        (_, Some(e)) => (
            e.id(2, "uid")?,
            e.id(3, "gid")?,
            Some(e.fields[5].to_string()),
            Some(e.fields[0]),
        ),
        (Some(n), None) => (n, 0, None, None),
        (None, None) if user.is_empty() => (0, 0, None, None),
        (None, None) => {
            return Err(Error::UnknownUser {
                what: "user",
                name: user.into(),
                file: "/etc/passwd",
            })
        }
    };
    let groups = entries("/etc/group", &groups, 3);
    if let Some(g) = group {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => groups
                .iter()
                .find(|e| e.fields[0] == g)
                .ok_or_else(|| Error::UnknownUser {
                    what: "group",
                    name: g.into(),
                    file: "/etc/group",
                })?
                .id(2, "gid")?,
        };
    }
    let mut additional_gids = Vec::new();
    if let (Some(name), None) = (name, group) {
        for e in groups.iter().filter(|e| e.fields.len() >= 4) {
            if e.fields[3].split(',').any(|m| m == name) {
                let g = e.id(2, "gid")?;
                if g != gid && !additional_gids.contains(&g) {
                    additional_gids.push(g);
                }
            }
        }
    }
    Ok(ResolvedUser {
        uid,
        gid,
        additional_gids,
        home,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn root(passwd: &str, group: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let etc = d.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(etc.join("passwd"), passwd).unwrap();
        std::fs::write(etc.join("group"), group).unwrap();
        d
    }

    fn reader(d: &tempfile::TempDir) -> RootfsReader {
        RootfsReader::open(d.path()).unwrap()
    }

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n";
    const GROUP: &str = "root:x:0:\nweb:x:34:\nextra:x:50:www\n";

    #[test]
    fn users() {
        let d = root(PASSWD, GROUP);
        let r = reader(&d);
        let u = resolve_user(&r, "www").unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (33, 34, vec![50])
        );
        assert_eq!(u.home.as_deref(), Some("/var/www"));
        let u = resolve_user(&r, "www:root").unwrap();
        assert_eq!((u.uid, u.gid), (33, 0));
        let u = resolve_user(&r, "1234:5").unwrap();
        assert_eq!((u.uid, u.gid), (1234, 5));
        assert_eq!(
            resolve_user(&r, "33").unwrap().home.as_deref(),
            Some("/var/www")
        );
        assert!(matches!(
            resolve_user(&r, "nobody"),
            Err(Error::UnknownUser { what: "user", .. })
        ));
        assert!(matches!(
            resolve_user(&r, "www:nogroup"),
            Err(Error::UnknownUser { what: "group", .. })
        ));
        assert_eq!(names_by_id(&r, "/etc/group")[1], (34, "web".to_string()));
    }

    #[test]
    fn garbage_ids_are_errors_not_root() {
        let d = root(
            "root:x:0:0:root:/root:/bin/sh\nbad:x:12ab:0::/:/bin/sh\nbadg:x:5:-1::/:/bin/sh\n",
            "root:x:0:\nodd:x:9x:\nmembers:x:oops:root\n",
        );
        let r = reader(&d);
        let e = resolve_user(&r, "bad").unwrap_err().to_string();
        assert!(e.contains("/etc/passwd, line 2: uid \"12ab\""), "{e}");
        let e = resolve_user(&r, "badg").unwrap_err().to_string();
        assert!(e.contains("line 3: gid \"-1\""), "{e}");
        let e = resolve_user(&r, "0:odd").unwrap_err().to_string();
        assert!(e.contains("/etc/group, line 2: gid \"9x\""), "{e}");
        // root is a member of a group whose gid is garbage.
        let e = resolve_user(&r, "root").unwrap_err().to_string();
        assert!(e.contains("/etc/group, line 3"), "{e}");
        // A number with no entry needs no parse of the others.
        assert_eq!(resolve_user(&r, "4321").unwrap().uid, 4321);
        // Display lookups skip the bad lines.
        assert_eq!(
            names_by_id(&r, "/etc/passwd"),
            [(0, "root".to_string()), (5, "badg".to_string())]
        );
    }

    #[test]
    fn missing_files_resolve_no_names() {
        let d = tempfile::tempdir().unwrap();
        let r = reader(&d);
        assert_eq!(resolve_user(&r, "").unwrap().uid, 0);
        assert_eq!(resolve_user(&r, "77:88").unwrap().gid, 88);
        assert!(resolve_user(&r, "www").is_err());
        assert!(names_by_id(&r, "/etc/passwd").is_empty());
    }

    #[test]
    fn symlinked_files_stay_in_the_root() {
        // The image's passwd and group point at a host canary naming a
        // user the image lacks, absolutely and through `..` chains.
        let host = root("canary:x:4242:4242::/:/bin/sh\n", "canary:x:4242:\n");
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join("etc")).unwrap();
        symlink(host.path().join("etc/passwd"), d.path().join("etc/passwd")).unwrap();
        let up = format!("../../../../..{}", host.path().join("etc/group").display());
        symlink(up, d.path().join("etc/group")).unwrap();
        let r = reader(&d);
        assert!(matches!(
            resolve_user(&r, "canary"),
            Err(Error::UnknownUser { what: "user", .. })
        ));
        assert!(matches!(
            resolve_user(&r, "0:canary"),
            Err(Error::UnknownUser { what: "group", .. })
        ));
        assert!(names_by_id(&r, "/etc/passwd").is_empty());
        // A symlink to a path that exists in both resolves to the image's.
        std::fs::remove_file(d.path().join("etc/passwd")).unwrap();
        std::fs::write(d.path().join("etc/passwd.real"), PASSWD).unwrap();
        symlink("/etc/passwd.real", d.path().join("etc/passwd")).unwrap();
        assert_eq!(resolve_user(&r, "www").unwrap().uid, 33);
        // A loop is an error, not "no names".
        std::fs::remove_file(d.path().join("etc/passwd")).unwrap();
        symlink("/etc/passwd", d.path().join("etc/passwd")).unwrap();
        assert!(matches!(resolve_user(&r, "www"), Err(Error::InRoot { .. })));
    }
}
