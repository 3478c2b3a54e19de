//! Renaming the top of a tar stream on its way between a container and the
//! host: `berth cp ctr:/etc/hosts ./h` makes `hosts` arrive as `h`, and a
//! source ending in `/.` gives its contents without the directory itself.

use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};

/// What becomes of the archive's first path component.
pub enum Top {
    /// Entries named `new/...`.
    Rename(String),
    /// The top entry dropped, the rest named relative to it.
    Strip,
    /// Names kept (an archive of a whole root has no top entry).
    Keep,
}

/// Copy the tar `input` to `out` with the top renamed and, when given,
/// every entry owned by `owner` (podman's files from a container belong to
/// the user who copied them). Entries that name `..` are refused.
pub fn rewrite(
    input: impl Read,
    out: impl Write,
    top: &Top,
    owner: Option<(u64, u64)>,
) -> anyhow::Result<()> {
    let mut archive = tar::Archive::new(input);
    let mut builder = tar::Builder::new(out);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let Some(path) = renamed(&entry.path()?, top)? else {
            continue;
        };
        let mut header = entry.header().clone();
        if let Some((uid, gid)) = owner {
            header.set_uid(uid);
            header.set_gid(gid);
        }
        let kind = header.entry_type();
        if kind.is_hard_link() {
            let target = entry.link_name()?.map(|t| t.into_owned());
            let target = match target.as_deref().map(|t| renamed(t, top)) {
                Some(Ok(Some(t))) => t,
                _ => anyhow::bail!("hard link {} has no target in the copy", path.display()),
            };
            builder.append_link(&mut header, &path, &target)?;
        } else if kind.is_symlink() {
            let target = entry
                .link_name()?
                .map(|t| t.into_owned())
                .unwrap_or_default();
            builder.append_link(&mut header, &path, &target)?;
        } else {
            builder.append_data(&mut header, &path, &mut entry)?;
        }
    }
    builder.into_inner()?.flush()?;
    Ok(())
}

/// `path` with its first component replaced as `top` says; None for the
/// top itself when it is stripped.
fn renamed(path: &Path, top: &Top) -> anyhow::Result<Option<PathBuf>> {
    let mut comps = path.components().filter(|c| *c != Component::CurDir);
    if comps.clone().any(|c| !matches!(c, Component::Normal(_))) {
        anyhow::bail!("archive entry {} leaves its directory", path.display());
    }
    if let Top::Keep = top {
        return Ok(Some(comps.collect()));
    }
    let Some(_) = comps.next() else {
        return Ok(None);
    };
    let rest: PathBuf = comps.collect();
    Ok(match top {
        Top::Keep => None,
        Top::Rename(new) if rest.as_os_str().is_empty() => Some(PathBuf::from(new)),
        Top::Rename(new) => Some(Path::new(new).join(rest)),
        Top::Strip if rest.as_os_str().is_empty() => None,
        Top::Strip => Some(rest),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_and_strips_the_top() {
        assert_eq!(
            renamed(Path::new("data/sub/f"), &Top::Rename("new".into())).unwrap(),
            Some(PathBuf::from("new/sub/f"))
        );
        assert_eq!(
            renamed(Path::new("data/"), &Top::Rename("new".into())).unwrap(),
            Some(PathBuf::from("new"))
        );
        assert_eq!(renamed(Path::new("data/"), &Top::Strip).unwrap(), None);
        assert_eq!(
            renamed(Path::new("./data/f"), &Top::Strip).unwrap(),
            Some(PathBuf::from("f"))
        );
        assert!(renamed(Path::new("data/../../etc"), &Top::Strip).is_err());
        assert_eq!(
            renamed(Path::new("bin/sh"), &Top::Keep).unwrap(),
            Some(PathBuf::from("bin/sh"))
        );
        assert!(renamed(Path::new("/etc/x"), &Top::Keep).is_err());
    }
}
