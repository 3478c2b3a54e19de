//! The build context: the directory COPY and ADD read from. Sources are
//! resolved inside it (no `..` and no symlink leads out), wildcards are
//! expanded, `.containerignore`/`.dockerignore` hide what they exclude, and
//! what a source holds is hashed (names, content, mode, owner, link
//! targets; not times) for the layer cache.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::containerfile::ignore::{glob_match, IgnoreRules};

/// A source that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// `..` or a symlink leading out of the context.
    #[error("{source_path:?} is outside the build context {}", context.display())]
    Outside {
        /// The source as written.
        source_path: String,
        /// The context.
        context: PathBuf,
    },
    /// Nothing at that path, or only what the ignore file excludes.
    #[error("{0:?}: no such file or directory in the build context")]
    NotFound(String),
    /// A wildcard matching nothing.
    #[error("{0:?}: no source files match")]
    NoMatch(String),
    /// A malformed wildcard.
    #[error("{pattern:?}: bad pattern: {reason}")]
    BadPattern {
        /// The source.
        pattern: String,
        /// Why.
        reason: &'static str,
    },
    /// Reading the context failed.
    #[error("{op} {}: {source}", path.display())]
    Io {
        /// What was done.
        op: &'static str,
        /// Where.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

fn io(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ContextError {
    let path = path.to_path_buf();
    move |source| ContextError::Io { op, path, source }
}

/// A build context directory with its ignore rules.
#[derive(Debug)]
pub struct BuildContext {
    root: PathBuf,
    rules: IgnoreRules,
}

impl BuildContext {
    /// Opens `dir` and reads its ignore file.
    pub fn open(dir: &Path) -> Result<BuildContext, ContextError> {
        let root = fs::canonicalize(dir).map_err(io("open build context", dir))?;
        let rules = IgnoreRules::for_context(&root).map_err(io("read ignore file in", &root))?;
        Ok(BuildContext { root, rules })
    }

    /// A tree with no ignore file (an image's root for `COPY --from`):
    /// wildcards match in it, nothing leads out of it.
    pub fn tree(dir: &Path) -> Result<BuildContext, ContextError> {
        let root = fs::canonicalize(dir).map_err(io("open", dir))?;
        Ok(BuildContext {
            root,
            rules: IgnoreRules::default(),
        })
    }

    /// The context's real path.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The context paths (relative, `/`-separated) a COPY source names:
    /// one, or each match of a wildcard, sorted.
    pub fn resolve(&self, source: &str) -> Result<Vec<String>, ContextError> {
        let outside = || ContextError::Outside {
            source_path: source.to_string(),
            context: self.root.clone(),
        };
        let mut parts: Vec<String> = Vec::new();
        for c in Path::new(source).components() {
            match c {
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
                Component::ParentDir => {
                    if parts.pop().is_none() {
                        return Err(outside());
                    }
                }
                Component::Normal(n) => parts.push(n.to_string_lossy().into_owned()),
            }
        }
        let mut found: Vec<String> = vec![String::new()];
        let wildcard = parts.iter().any(|p| p.contains(['*', '?', '[']));
        for part in &parts {
            let mut next = Vec::new();
            for base in &found {
                if part.contains(['*', '?', '[']) {
                    let dir = self.root.join(base);
                    let Ok(entries) = fs::read_dir(&dir) else {
                        continue;
                    };
                    for entry in entries {
                        let entry = entry.map_err(io("read", &dir))?;
                        let name = entry.file_name().to_string_lossy().into_owned();
                        let hit =
                            glob_match(part, &name).map_err(|reason| ContextError::BadPattern {
                                pattern: source.to_string(),
                                reason,
                            })?;
                        if hit {
                            next.push(join(base, &name));
                        }
                    }
                } else {
                    next.push(join(base, part));
                }
            }
            found = next;
        }
        found.retain(|rel| rel.is_empty() || !self.rules.is_excluded(rel));
        found.sort();
        if found.is_empty() {
            return Err(if wildcard {
                ContextError::NoMatch(source.to_string())
            } else {
                ContextError::NotFound(source.to_string())
            });
        }
        for rel in &found {
            let host = self.root.join(rel);
            // Following symlinks on the host is right here: the context is
            // the user's own directory; what matters is where they lead.
            let real = match fs::canonicalize(&host) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    // Where the part that exists leads tells outside from
                    // missing: `link-to-parent/missing` is outside.
                    let leads_out = host
                        .ancestors()
                        .skip(1)
                        .find_map(|a| fs::canonicalize(a).ok())
                        .is_some_and(|a| !a.starts_with(&self.root))
                        || fs::symlink_metadata(&host).is_ok();
                    return Err(if leads_out {
                        outside()
                    } else {
                        ContextError::NotFound(source.to_string())
                    });
                }
                Err(e) => return Err(io("resolve", &host)(e)),
            };
            if !real.starts_with(&self.root) {
                return Err(outside());
            }
        }
        Ok(found)
    }

    /// Hash of what the context paths hold, for the cache key.
    pub fn digest(&self, rels: &[String]) -> Result<String, ContextError> {
        let mut h = Sha256::new();
        for rel in rels {
            h.update(rel.as_bytes());
            h.update([0]);
            let real =
                fs::canonicalize(self.root.join(rel)).map_err(io("resolve", Path::new(rel)))?;
            self.hash_tree(&real, rel, &mut h)?;
        }
        Ok(format!("{:x}", h.finalize()))
    }

    fn hash_tree(&self, host: &Path, rel: &str, h: &mut Sha256) -> Result<(), ContextError> {
        let meta = fs::symlink_metadata(host).map_err(io("stat", host))?;
        h.update(format!("{rel}\0{:o}\0{}\0{}\0", meta.mode(), meta.uid(), meta.gid()).as_bytes());
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = fs::read_link(host).map_err(io("read link", host))?;
            h.update(target.as_os_str().as_encoded_bytes());
        } else if kind.is_file() {
            let mut f = fs::File::open(host).map_err(io("open", host))?;
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                let n = f.read(&mut buf).map_err(io("read", host))?;
                if n == 0 {
                    break;
                }
                h.update(&buf[..n]);
            }
        } else if kind.is_dir() {
            let mut names: Vec<String> = fs::read_dir(host)
                .map_err(io("read", host))?
                .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
                .collect::<Result<_, _>>()
                .map_err(io("read", host))?;
            names.sort();
            for name in names {
                let child_rel = join(rel, &name);
                if self.rules.is_excluded(&child_rel) {
                    continue;
                }
                self.hash_tree(&host.join(&name), &child_rel, h)?;
            }
        }
        h.update([0xff]);
        Ok(())
    }

    /// Whether the ignore file hides something under context path `rel`.
    pub fn excludes_under(&self, rel: &str) -> Result<bool, ContextError> {
        let host = self.root.join(rel);
        let meta = fs::metadata(&host).map_err(io("stat", &host))?;
        if !meta.is_dir() || self.rules.is_empty() {
            return Ok(false);
        }
        let mut todo = vec![rel.to_string()];
        while let Some(dir) = todo.pop() {
            let path = self.root.join(&dir);
            for entry in fs::read_dir(&path).map_err(io("read", &path))? {
                let entry = entry.map_err(io("read", &path))?;
                let child = join(&dir, &entry.file_name().to_string_lossy());
                if self.rules.is_excluded(&child) {
                    return Ok(true);
                }
                if entry.file_type().map_err(io("stat", &path))?.is_dir() {
                    todo.push(child);
                }
            }
        }
        Ok(false)
    }

    /// A copy of directory `rel` without what the ignore file excludes,
    /// under `into` (hard links where the file system allows, else
    /// copies), for a COPY of a directory the ignore file thins out.
    pub fn stage_filtered(&self, rel: &str, into: &Path) -> Result<PathBuf, ContextError> {
        let out = into.join("filtered");
        self.stage_dir(&self.root.join(rel), rel, &out)?;
        Ok(out)
    }

    fn stage_dir(&self, host: &Path, rel: &str, out: &Path) -> Result<(), ContextError> {
        let meta = fs::metadata(host).map_err(io("stat", host))?;
        fs::create_dir_all(out).map_err(io("create", out))?;
        fs::set_permissions(out, fs::Permissions::from_mode(meta.mode() & 0o7777))
            .map_err(io("chmod", out))?;
        for entry in fs::read_dir(host).map_err(io("read", host))? {
            let entry = entry.map_err(io("read", host))?;
            let name = entry.file_name();
            let child_rel = join(rel, &name.to_string_lossy());
            if self.rules.is_excluded(&child_rel) && !self.rules.has_exceptions() {
                continue;
            }
            let from = entry.path();
            let to = out.join(&name);
            let kind = entry.file_type().map_err(io("stat", &from))?;
            if kind.is_dir() {
                self.stage_dir(&from, &child_rel, &to)?;
            } else if self.rules.is_excluded(&child_rel) {
                continue;
            } else if kind.is_symlink() {
                let target = fs::read_link(&from).map_err(io("read link", &from))?;
                std::os::unix::fs::symlink(target, &to).map_err(io("link", &to))?;
            } else if fs::hard_link(&from, &to).is_err() {
                fs::copy(&from, &to).map_err(io("copy", &from))?;
            }
        }
        Ok(())
    }
}

fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_string()
    } else {
        format!("{base}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let p = d.path();
        fs::create_dir_all(p.join("src/sub")).unwrap();
        fs::write(p.join("src/a.txt"), "a").unwrap();
        fs::write(p.join("src/b.md"), "b").unwrap();
        fs::write(p.join("src/sub/c.txt"), "c").unwrap();
        fs::write(p.join("top.txt"), "t").unwrap();
        std::os::unix::fs::symlink("/etc/passwd", p.join("escape")).unwrap();
        fs::create_dir(p.join("links")).unwrap();
        std::os::unix::fs::symlink("../..", p.join("links/up")).unwrap();
        std::os::unix::fs::symlink("top.txt", p.join("inside")).unwrap();
        fs::write(p.join(".dockerignore"), "*.md\n**/*.md\nsecret*\n").unwrap();
        fs::write(p.join("secret.key"), "k").unwrap();
        d
    }

    #[test]
    fn resolving_sources() {
        let d = context();
        let c = BuildContext::open(d.path()).unwrap();
        assert_eq!(c.resolve("top.txt").unwrap(), vec!["top.txt"]);
        assert_eq!(c.resolve("/src/./sub/../a.txt").unwrap(), vec!["src/a.txt"]);
        assert_eq!(c.resolve("src/*").unwrap(), vec!["src/a.txt", "src/sub"]);
        assert_eq!(c.resolve("src/*.t?t").unwrap(), vec!["src/a.txt"]);
        assert_eq!(c.resolve(".").unwrap(), vec![""]);
        assert_eq!(c.resolve("inside").unwrap(), vec!["inside"]);
        assert!(matches!(
            c.resolve("../x"),
            Err(ContextError::Outside { .. })
        ));
        assert!(matches!(
            c.resolve("escape"),
            Err(ContextError::Outside { .. })
        ));
        assert!(matches!(
            c.resolve("links/up/etc"),
            Err(ContextError::Outside { .. })
        ));
        assert!(matches!(
            c.resolve("secret.key"),
            Err(ContextError::NotFound(_))
        ));
        assert!(matches!(
            c.resolve("src/b.md"),
            Err(ContextError::NotFound(_))
        ));
        assert!(matches!(
            c.resolve("nothing"),
            Err(ContextError::NotFound(_))
        ));
        assert!(matches!(
            c.resolve("links/*"),
            Err(ContextError::Outside { .. })
        ));
        assert!(matches!(c.resolve("*.none"), Err(ContextError::NoMatch(_))));
        assert!(matches!(
            c.resolve("[z-a]"),
            Err(ContextError::BadPattern { .. })
        ));
    }

    #[test]
    fn digests_follow_content_not_times() {
        let d = context();
        let c = BuildContext::open(d.path()).unwrap();
        let one = c.digest(&["src".to_string()]).unwrap();
        // An excluded file changing does not change the digest.
        fs::write(d.path().join("src/b.md"), "changed").unwrap();
        assert_eq!(c.digest(&["src".to_string()]).unwrap(), one);
        let f = fs::File::options()
            .write(true)
            .open(d.path().join("src/a.txt"))
            .unwrap();
        f.set_modified(std::time::SystemTime::UNIX_EPOCH).unwrap();
        assert_eq!(c.digest(&["src".to_string()]).unwrap(), one);
        fs::write(d.path().join("src/sub/c.txt"), "C").unwrap();
        assert_ne!(c.digest(&["src".to_string()]).unwrap(), one);
        let two = c.digest(&["src".to_string()]).unwrap();
        fs::set_permissions(
            d.path().join("src/a.txt"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        assert_ne!(c.digest(&["src".to_string()]).unwrap(), two);
    }

    #[test]
    fn filtered_copy_leaves_out_excluded_files() {
        let d = context();
        let c = BuildContext::open(d.path()).unwrap();
        assert!(c.excludes_under("src").unwrap());
        let out = tempfile::tempdir().unwrap();
        let staged = c.stage_filtered("src", out.path()).unwrap();
        assert!(staged.join("a.txt").exists());
        assert!(staged.join("sub/c.txt").exists());
        assert!(!staged.join("b.md").exists());
    }
}
