//! `berth cp`: files between a container and the host, either way, or a
//! tar stream on stdin/stdout with `-`, with podman's rules: a directory
//! lands inside an existing directory or becomes a new one, `SRC/.` copies
//! what is in SRC, files copied in belong to the container's user
//! (`--archive`, the default), files copied out to the caller. The
//! container's side goes through the engine, which resolves every path
//! inside the container's root.

use crate::tar_rewrite::{rewrite, Top};
use crate::Cli;
use anyhow::{bail, Context as _};
use berth_engine::{Engine, PathKind};
use clap::{ArgAction, Args};
use std::io::{Seek, SeekFrom};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct CpArgs {
    /// Chown files copied into a container to its user's uid and gid
    /// (false keeps the source's owners).
    #[arg(short, long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = true, default_missing_value = "true")]
    pub archive: bool,
    /// What to copy: CONTAINER:PATH, a host path, or - for a tar on stdin.
    pub source: String,
    /// Where to: CONTAINER:PATH, a host path, or - for a tar on stdout.
    pub destination: String,
}

/// One side of a copy.
enum End {
    Stdio,
    Host(PathBuf),
    Container { name: String, path: String },
}

impl End {
    fn parse(s: &str) -> End {
        if s == "-" {
            return End::Stdio;
        }
        if !s.starts_with(['/', '.']) {
            if let Some((name, path)) = s.split_once(':') {
                if !name.is_empty() {
                    return End::Container {
                        name: name.into(),
                        path: if path.is_empty() {
                            "/".into()
                        } else {
                            path.into()
                        },
                    };
                }
            }
        }
        End::Host(s.into())
    }
}

pub fn cp(cli: &Cli, a: &CpArgs) -> anyhow::Result<()> {
    match (End::parse(&a.source), End::parse(&a.destination)) {
        (End::Container { name, path }, to @ (End::Host(_) | End::Stdio)) => {
            let engine = cli.engine()?;
            copy_out(&engine, &name, &path, to)
        }
        (from @ (End::Host(_) | End::Stdio), End::Container { name, path }) => {
            let engine = cli.engine()?;
            copy_in(&engine, from, &name, &path, a.archive)
        }
        (End::Container { .. }, End::Container { .. }) => {
            bail!("copying from a container to a container is not supported")
        }
        _ => bail!(
            "invalid arguments {}, {}: one must be a container's CONTAINER:PATH",
            a.source,
            a.destination
        ),
    }
}

/// The last name of `path` as given, and whether it asks for the contents
/// of a directory (`DIR/.`).
fn last_name(path: &str) -> (Option<String>, bool) {
    let contents = path.ends_with("/.") || path == ".";
    let name = Path::new(path)
        .components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            _ => None,
        })
        .next_back();
    (name, contents)
}

/// podman's words for a container that is not there; other errors as they are.
pub fn no_such_container(name: &str) -> impl FnOnce(berth_engine::Error) -> anyhow::Error + '_ {
    move |e| match e {
        berth_engine::Error::NotFound(_) => {
            anyhow::anyhow!("no container with name or ID {name:?} found: no such container")
        }
        e => e.into(),
    }
}

fn not_in_container(name: &str, path: &str) -> anyhow::Error {
    anyhow::anyhow!("{path:?} could not be found on container {name}: no such file or directory")
}

fn not_on_host(path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "{:?} could not be found on the host: no such file or directory",
        path.display().to_string()
    )
}

fn copy_out(engine: &Engine, name: &str, path: &str, to: End) -> anyhow::Result<()> {
    let kind = engine
        .container_path_kind(name, path)
        .map_err(no_such_container(name))?
        .ok_or_else(|| not_in_container(name, path))?;
    if kind != PathKind::Dir && path.ends_with('/') {
        return Err(not_in_container(name, path));
    }
    let (src_name, contents) = last_name(path);
    let mut spool = tempfile::tempfile().context("creating a spool file")?;
    let top_entry = engine.copy_from_container(name, path, &mut spool)?;
    spool.seek(SeekFrom::Start(0))?;
    // SAFETY: getuid and getgid cannot fail.
    let owner = unsafe { (libc::getuid() as u64, libc::getgid() as u64) };
    // What the top entry becomes: nothing for `DIR/.`, else the name given.
    let top_as = |name: Option<&str>| match (&top_entry, contents, name) {
        (None, _, _) => Top::Keep,
        (Some(_), true, _) => Top::Strip,
        (Some(_), false, Some(n)) => Top::Rename(n.to_string()),
        (Some(t), false, None) => Top::Rename(t.clone()),
    };
    let End::Host(dst) = to else {
        let top = top_as(src_name.as_deref());
        return rewrite(spool, std::io::stdout().lock(), &top, Some(owner));
    };
    let (dir, top) = match std::fs::metadata(&dst) {
        Ok(m) if m.is_dir() => (dst.clone(), top_as(src_name.as_deref())),
        Ok(_) if kind == PathKind::Dir => {
            bail!("destination must be a directory when copying a directory")
        }
        Ok(_) => {
            let (parent, n) = split_host(&dst)?;
            (parent, top_as(Some(&n)))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let (parent, n) = split_host(&dst)?;
            if kind == PathKind::Dir && (contents || top_entry.is_none()) {
                // The contents of a directory into a new one.
                let new = parent.join(&n);
                std::fs::create_dir(&new).with_context(|| format!("mkdir {}", new.display()))?;
                (new, top_as(None))
            } else {
                (parent, top_as(Some(&n)))
            }
        }
        Err(e) => return Err(e).with_context(|| format!("stat {}", dst.display())),
    };
    let mut renamed = tempfile::tempfile().context("creating a spool file")?;
    rewrite(spool, &mut renamed, &top, Some(owner))?;
    renamed.seek(SeekFrom::Start(0))?;
    let mut archive = tar::Archive::new(renamed);
    archive.set_overwrite(true);
    archive.set_preserve_permissions(true);
    archive
        .unpack(&dir)
        .with_context(|| format!("copying into {}", dir.display()))
}

/// A host destination that is not a directory: its parent, which must
/// exist, and the name the copy takes there.
fn split_host(dst: &Path) -> anyhow::Result<(PathBuf, String)> {
    if dst.to_string_lossy().ends_with('/') {
        return Err(not_on_host(dst));
    }
    let name = dst
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| not_on_host(dst))?;
    let parent = match dst.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        return Err(not_on_host(dst));
    }
    Ok((parent, name))
}

fn copy_in(engine: &Engine, from: End, name: &str, path: &str, chown: bool) -> anyhow::Result<()> {
    let dst_kind = engine
        .container_path_kind(name, path)
        .map_err(no_such_container(name))?;
    let End::Host(src) = from else {
        if dst_kind != Some(PathKind::Dir) {
            bail!("destination must be a directory when copying from stdin");
        }
        let stdin = std::io::stdin();
        return Ok(engine.copy_into_container(name, path, stdin, chown)?);
    };
    let meta = std::fs::metadata(&src).map_err(|_| not_on_host(&src))?;
    let (src_name, contents) = last_name(&src.to_string_lossy());
    let contents = contents && meta.is_dir();
    let (dir, top) = match dst_kind {
        Some(PathKind::Dir) => (path.to_string(), (!contents).then_some(src_name).flatten()),
        Some(PathKind::Other) if meta.is_dir() => {
            bail!("destination must be a directory when copying a directory")
        }
        _ => {
            if path.ends_with('/') {
                return Err(not_in_container(name, path));
            }
            let (parent, last) = match path.rsplit_once('/') {
                Some((p, l)) => (if p.is_empty() { "/" } else { p }, l),
                None => (".", path),
            };
            if engine.container_path_kind(name, parent)? != Some(PathKind::Dir) {
                return Err(not_in_container(name, path));
            }
            (parent.to_string(), Some(last.to_string()))
        }
    };
    let mut spool = tempfile::tempfile().context("creating a spool file")?;
    {
        let mut b = tar::Builder::new(&mut spool);
        b.follow_symlinks(false);
        match (&top, meta.is_dir()) {
            (Some(n), true) => b.append_dir_all(n, &src)?,
            (Some(n), false) => b.append_path_with_name(std::fs::canonicalize(&src)?, n)?,
            (None, _) => {
                for e in std::fs::read_dir(&src)? {
                    let e = e?;
                    if e.file_type()?.is_dir() {
                        b.append_dir_all(e.file_name(), e.path())?;
                    } else {
                        b.append_path_with_name(e.path(), e.file_name())?;
                    }
                }
            }
        }
        b.finish()?;
    }
    spool.seek(SeekFrom::Start(0))?;
    engine.copy_into_container(name, &dir, spool, chown)?;
    Ok(())
}
