//! `builder copy` and `builder add`: host files into a working container.
//! Sources are read on the host (inside the build context when one is
//! given: neither `..` nor a symlink may lead out of it); the destination
//! is resolved inside the container's root and written one name at a time
//! by storage's unpacker, which refuses to write through symlinks. As
//! docker's COPY, new files belong to root (0:0) unless `chown` says
//! otherwise, and a directory source gives its contents.

use super::in_root::{absolute, fd_path, Root};
use super::{Builder, WorkingContainer};
use crate::error::{Error, Result};
use std::fs::Metadata;
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

/// What `copy`/`add` copies where.
#[derive(Debug, Clone, Default)]
pub struct CopyOptions {
    /// Host paths (relative ones to `context`, or to the current
    /// directory without one); with `add`, `http://`/`https://` URLs too.
    pub sources: Vec<String>,
    /// The destination in the container (relative: to its WorkingDir); a
    /// trailing `/`, several sources or an existing directory make it a
    /// directory to copy into.
    pub dest: String,
    /// The build context the sources must stay in.
    pub context: Option<PathBuf>,
    /// `user[:group]` (names looked up in the container's files) owning
    /// what is copied; root when None.
    pub chown: Option<String>,
    /// Permission bits for everything copied.
    pub chmod: Option<u32>,
    /// ADD's rules: a local tar (plain or gzip) is unpacked at the
    /// destination, a URL is fetched.
    pub add: bool,
}

/// One thing to copy, read on the host.
enum Source {
    /// A host path, symlinks followed at the top.
    Path { path: PathBuf, meta: Metadata },
    /// A URL's body, spooled, with the name it is saved as.
    Fetched { name: String, data: std::fs::File },
}

impl Builder<'_> {
    /// Copy `opts.sources` into working container `key`. On error the
    /// root may hold part of the copy (as a failed `cp`); a build then
    /// removes the container.
    pub fn copy(&self, key: &str, opts: &CopyOptions) -> Result<()> {
        let wc = self.container(key)?;
        if opts.sources.is_empty() {
            return Err(Error::BadSource {
                path: String::new(),
                reason: "no source given".into(),
            });
        }
        let sources = opts
            .sources
            .iter()
            .map(|s| source(s, opts))
            .collect::<Result<Vec<_>>>()?;
        let workdir = wc
            .config
            .exec()
            .working_dir()
            .clone()
            .unwrap_or_else(|| "/".into());
        let dest = absolute(&opts.dest, &workdir);
        let rootfs = self.engine.mount_working(&wc.id)?;
        let copied = self.copy_mounted(&wc, &rootfs, &sources, &dest, opts);
        let _ = self.engine.unmount_working(&wc.id, false);
        copied?;
        let verb = if opts.add { "ADD" } else { "COPY" };
        self.note_step(
            &wc,
            format!(
                "/bin/sh -c #(nop) {verb} {} {}",
                opts.sources.join(" "),
                opts.dest
            ),
        )
    }

    fn copy_mounted(
        &self,
        wc: &WorkingContainer,
        rootfs: &Path,
        sources: &[Source],
        dest: &str,
        opts: &CopyOptions,
    ) -> Result<()> {
        let in_root = |op: &'static str, path: &str| {
            let (path, container) = (path.to_string(), wc.name.clone());
            move |source| Error::InRoot {
                op,
                path,
                container,
                source,
            }
        };
        let root = Root::at(rootfs).map_err(in_root("open", "/"))?;
        let owner = match &opts.chown {
            Some(spec) => owner_of(&root, spec)?,
            None => (0, 0),
        };
        let into_dir = dest.ends_with('/') || sources.len() > 1 || root.is_dir(dest);
        for src in sources {
            let (dir, name) = match src {
                Source::Path { meta, .. } if meta.is_dir() => (dest.to_string(), None),
                Source::Path { path, .. } if opts.add && is_archive(path)? => {
                    (dest.to_string(), None)
                }
                Source::Path { path, .. } if into_dir => (dest.to_string(), base(path)),
                Source::Fetched { name, .. } if into_dir => (dest.to_string(), Some(name.clone())),
                _ => {
                    let trimmed = dest.trim_end_matches('/');
                    let (parent, file) = trimmed.rsplit_once('/').unwrap_or(("", trimmed));
                    (
                        format!("/{}", parent.trim_start_matches('/')),
                        Some(file.to_string()),
                    )
                }
            };
            // The directory found in-root; the unpacker works below its
            // /proc/self/fd path, never the host's view of the root.
            let dir_fd = root
                .mkdir_all(&dir)
                .map_err(in_root("make directory", &dir))?;
            let target = fd_path(&dir_fd);
            match src {
                Source::Path { path, .. } if opts.add && is_archive(path)? => {
                    let chown = opts.chown.as_ref().map(|_| owner);
                    let file = open_host(path)?;
                    let mut head = [0u8; 2];
                    let n = (&file).read(&mut head).map_err(host("read", path))?;
                    (&file)
                        .seek(SeekFrom::Start(0))
                        .map_err(host("read", path))?;
                    if n == 2 && head == [0x1f, 0x8b] {
                        berth_storage::untar_into(
                            &target,
                            flate2::read::GzDecoder::new(file),
                            chown,
                        )?;
                    } else {
                        berth_storage::untar_into(&target, file, chown)?;
                    }
                }
                Source::Path { path, meta } => {
                    // Tarred by a thread straight into the unpacker: no
                    // spool file written and read back, and the reading
                    // and the writing of the files overlap.
                    let (mut reader, writer) =
                        std::io::pipe().map_err(host("make a pipe for", path))?;
                    let w = Walk {
                        owner,
                        chmod: opts.chmod,
                    };
                    std::thread::scope(|s| {
                        let producer = s.spawn(move || -> Result<()> {
                            let mut tar = tar::Builder::new(writer);
                            match &name {
                                Some(n) => w.append(&mut tar, path, meta, Path::new(n))?,
                                None => w.append_contents(&mut tar, path)?,
                            }
                            tar.finish().map_err(host("write a tar of", path))?;
                            Ok(())
                        });
                        let unpacked = berth_storage::untar_into(&target, &mut reader, None);
                        // The unpacker stops at the end-of-archive block:
                        // take the rest, so the writer never meets a
                        // closed pipe after a good copy.
                        let _ = std::io::copy(&mut reader, &mut std::io::sink());
                        drop(reader);
                        let produced = producer.join().unwrap_or_else(|_| {
                            Err(Error::BadSource {
                                path: path.display().to_string(),
                                reason: "the thread reading it panicked".into(),
                            })
                        });
                        // A source that failed to read ends the archive
                        // early: its error is the one to tell.
                        produced?;
                        Ok::<_, Error>(unpacked?)
                    })?;
                }
                Source::Fetched { data, .. } => {
                    let n = name.clone().unwrap_or_default();
                    let mut spool = spool()?;
                    {
                        let mut tar = tar::Builder::new(&mut spool);
                        let mut data = data;
                        let len = data
                            .seek(SeekFrom::End(0))
                            .map_err(host("read", Path::new(&n)))?;
                        data.seek(SeekFrom::Start(0))
                            .map_err(host("read", Path::new(&n)))?;
                        let mut h = tar::Header::new_gnu();
                        h.set_entry_type(tar::EntryType::Regular);
                        h.set_mode(opts.chmod.unwrap_or(0o600));
                        h.set_uid(u64::from(owner.0));
                        h.set_gid(u64::from(owner.1));
                        h.set_mtime(now());
                        h.set_size(len);
                        tar.append_data(&mut h, &n, data)
                            .map_err(host("write a tar of", Path::new(&n)))?;
                        tar.finish()
                            .map_err(host("write a tar of", Path::new(&n)))?;
                    }
                    spool
                        .seek(SeekFrom::Start(0))
                        .map_err(host("read", Path::new(&n)))?;
                    berth_storage::untar_into(&target, spool, None)?;
                }
            }
        }
        Ok(())
    }
}

/// Read source `s` on the host as `opts` say.
fn source(s: &str, opts: &CopyOptions) -> Result<Source> {
    if s.starts_with("http://") || s.starts_with("https://") {
        if !opts.add {
            return Err(Error::BadSource {
                path: s.into(),
                reason: "a URL is ADD's, not COPY's".into(),
            });
        }
        return fetch(s);
    }
    let bad = |reason: &str| Error::BadSource {
        path: s.into(),
        reason: reason.into(),
    };
    let path = match &opts.context {
        Some(ctx) => {
            // Lexically first: `..` may not climb out.
            let mut rel = PathBuf::new();
            for c in Path::new(s).components() {
                match c {
                    Component::Normal(n) => rel.push(n),
                    Component::ParentDir if !rel.pop() => {
                        return Err(bad("outside the build context"));
                    }
                    _ => {}
                }
            }
            let real_ctx = ctx.canonicalize().map_err(host("open the context", ctx))?;
            let joined = real_ctx.join(&rel);
            let real = joined
                .canonicalize()
                .map_err(|e| bad(&format!("not found in the build context: {e}")))?;
            // Then for real: a symlink may not lead out either.
            if !real.starts_with(&real_ctx) {
                return Err(bad("a symlink leads outside the build context"));
            }
            real
        }
        None => PathBuf::from(s),
    };
    let meta = std::fs::metadata(&path).map_err(|e| bad(&e.to_string()))?;
    Ok(Source::Path { path, meta })
}

/// Whether host file `path` is a tar (plain or gzip), by its first bytes.
fn is_archive(path: &Path) -> Result<bool> {
    let meta = std::fs::metadata(path).map_err(host("stat", path))?;
    if !meta.is_file() {
        return Ok(false);
    }
    let mut head = vec![0u8; 512];
    let mut f = open_host(path)?;
    let n = read_up_to(&mut f, &mut head).map_err(host("read", path))?;
    if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
        let mut gz = flate2::read::GzDecoder::new(open_host(path)?);
        let mut inner = vec![0u8; 512];
        let m = read_up_to(&mut gz, &mut inner).unwrap_or(0);
        return Ok(m == 512 && &inner[257..262] == b"ustar");
    }
    Ok(n == 512 && &head[257..262] == b"ustar")
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..])? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

fn base(path: &Path) -> Option<String> {
    path.file_name().map(|n| n.to_string_lossy().into_owned())
}

fn open_host(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(host("open", path))
}

fn host(op: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.to_path_buf();
    move |source| Error::Io { op, path, source }
}

/// A temporary file, gone once closed.
fn spool() -> Result<std::fs::File> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!("berth-copy-{}", berth_storage::random_hex(8)));
    let f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(host("create", &path))?;
    let _ = std::fs::remove_file(&path);
    Ok(f)
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// A host tree written as tar entries owned by `owner`, with `chmod`'s
/// bits when given. Symlinks below the top are copied as symlinks.
struct Walk {
    owner: (u32, u32),
    chmod: Option<u32>,
}

impl Walk {
    fn header(&self, meta: &Metadata) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_mode(self.chmod.unwrap_or(meta.mode() & 0o7777));
        h.set_uid(u64::from(self.owner.0));
        h.set_gid(u64::from(self.owner.1));
        h.set_mtime(meta.mtime().max(0) as u64);
        h.set_size(0);
        h
    }

    fn append<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        path: &Path,
        meta: &Metadata,
        name: &Path,
    ) -> Result<()> {
        let werr = host("write a tar of", path);
        let ft = meta.file_type();
        let mut h = self.header(meta);
        if ft.is_dir() {
            h.set_entry_type(tar::EntryType::Directory);
            tar.append_data(&mut h, name, std::io::empty())
                .map_err(werr)?;
            return self.append_children(tar, path, name);
        }
        if ft.is_symlink() {
            let target = std::fs::read_link(path).map_err(host("read link", path))?;
            h.set_entry_type(tar::EntryType::Symlink);
            h.set_mode(0o777);
            return tar.append_link(&mut h, name, target).map_err(werr);
        }
        if ft.is_file() {
            h.set_entry_type(tar::EntryType::Regular);
            h.set_size(meta.len());
            let f = open_host(path)?;
            return tar.append_data(&mut h, name, f).map_err(werr);
        }
        // Sockets, fifos and devices are not copied, as docker's COPY.
        Ok(())
    }

    fn append_children<W: Write>(
        &self,
        tar: &mut tar::Builder<W>,
        dir: &Path,
        prefix: &Path,
    ) -> Result<()> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(host("read", dir))?
            .map(|e| e.map(|e| e.file_name()))
            .collect::<std::io::Result<_>>()
            .map_err(host("read", dir))?;
        // Sorted: the same tree always gives the same layer.
        names.sort();
        for n in names {
            let path = dir.join(&n);
            let meta = std::fs::symlink_metadata(&path).map_err(host("stat", &path))?;
            self.append(tar, &path, &meta, &prefix.join(&n))?;
        }
        Ok(())
    }

    /// The contents of directory `dir`, named relative to it.
    fn append_contents<W: Write>(&self, tar: &mut tar::Builder<W>, dir: &Path) -> Result<()> {
        self.append_children(tar, dir, Path::new(""))
    }
}

/// The uid and gid `spec` (`user[:group]`, names or numbers) names in the
/// container's `/etc/passwd` and `/etc/group`; a user alone brings its
/// primary group (a number alone: the same number, as docker).
fn owner_of(root: &Root, spec: &str) -> Result<(u32, u32)> {
    let bad = |reason: String| Error::InvalidOption {
        option: "--chown",
        value: spec.into(),
        reason,
    };
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd =
        String::from_utf8_lossy(&root.read("/etc/passwd").unwrap_or_default()).into_owned();
    let groups = String::from_utf8_lossy(&root.read("/etc/group").unwrap_or_default()).into_owned();
    let lookup = |text: &str, name: &str, gid_field: bool| -> Option<(u32, Option<u32>)> {
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 3 || f[0] != name {
                return None;
            }
            let id = f[2].parse().ok()?;
            let gid = if gid_field {
                f.get(3).and_then(|g| g.parse().ok())
            } else {
                None
            };
            Some((id, gid))
        })
    };
    let (uid, primary) = match user.parse::<u32>() {
        Ok(n) => (n, lookup_by_uid(&passwd, n).or(Some(n))),
        Err(_) => {
            let (uid, gid) = lookup(&passwd, user, true)
                .ok_or_else(|| bad(format!("no user {user:?} in the container's /etc/passwd")))?;
            (uid, gid)
        }
    };
    let gid = match group {
        Some(g) => match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => lookup(&groups, g, false)
                .map(|(id, _)| id)
                .ok_or_else(|| bad(format!("no group {g:?} in the container's /etc/group")))?,
        },
        None => primary.unwrap_or(uid),
    };
    Ok((uid, gid))
}

fn lookup_by_uid(passwd: &str, uid: u32) -> Option<u32> {
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.len() > 3 && f[2].parse::<u32>().ok() == Some(uid)).then(|| f[3].parse().ok())?
    })
}

/// Fetch `url` (ADD): the body spooled, named as the URL's last path
/// segment.
fn fetch(url: &str) -> Result<Source> {
    let fail = |message: String| Error::Fetch {
        url: url.into(),
        message,
    };
    let path = url.split(['?', '#']).next().unwrap_or(url);
    let name = path
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty() && !path.ends_with("//") && path.matches('/').count() > 2)
        .ok_or_else(|| fail("the URL names no file".into()))?
        .to_string();
    let response = ureq::get(url).call().map_err(|e| fail(e.to_string()))?;
    let mut body = response.into_body();
    let mut data = spool()?;
    std::io::copy(&mut body.as_reader(), &mut data).map_err(|e| fail(e.to_string()))?;
    data.seek(SeekFrom::Start(0))
        .map_err(|e| fail(e.to_string()))?;
    Ok(Source::Fetched { name, data })
}
