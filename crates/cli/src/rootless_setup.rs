//! berth for an unprivileged user (docs/rootless.md), set up before any
//! command runs: the store's default paths (podman's rules, under berth's
//! name), the checks that keep one user off another's store, and the join
//! into the user's namespace, where berth then runs as root of the
//! namespace over the user's subordinate ids.

use berth_engine::rootless::{self, userns, IdMapping};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// The user berth runs for, when it runs rootless: `None` for the host's
/// root. Inside the namespace (where the uid is 0) the uid outside comes
/// from [`userns::ROOTLESS_UID_ENV`].
pub fn rootless_uid() -> Option<u32> {
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    if uid != 0 {
        return Some(uid);
    }
    if !rootless::in_user_namespace() {
        return None;
    }
    std::env::var(userns::ROOTLESS_UID_ENV)
        .ok()
        .and_then(|v| v.parse().ok())
}

/// podman's rootless defaults under berth's name: the store in
/// `$XDG_DATA_HOME/berth/storage` (else `~/.local/share/berth/storage`),
/// run state in `$XDG_RUNTIME_DIR/berth` (else `/tmp/berth-$UID`).
pub fn default_paths(uid: u32) -> anyhow::Result<(PathBuf, PathBuf)> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let data = match env("XDG_DATA_HOME") {
        Some(d) => d,
        None => env("HOME")
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "neither XDG_DATA_HOME nor HOME is set: berth cannot place your store \
                     (set one, or give --root and --runroot)"
                )
            })?
            .join(".local/share"),
    };
    let run = match env("XDG_RUNTIME_DIR") {
        Some(d) => d.join("berth"),
        None => PathBuf::from(format!("/tmp/berth-{uid}")),
    };
    Ok((data.join("berth/storage"), run))
}

/// Enter the user's namespace for `cli`'s command when berth runs for an
/// unprivileged user; `berth mount` only from inside `berth unshare`, as
/// podman's (its paths mean nothing outside the namespace).
pub fn enter_for(cli: &crate::Cli) -> anyhow::Result<()> {
    // SAFETY: getuid cannot fail and touches no memory.
    if unsafe { libc::getuid() } == 0 {
        return Ok(());
    }
    if matches!(cli.command, crate::Command::Mount(_)) {
        anyhow::bail!(
            "berth mount as an unprivileged user: its mounts exist only in your user              namespace; run it inside `berth unshare` (e.g. berth unshare berth mount CTR)"
        );
    }
    enter(&cli.root, &cli.runroot)
}

/// Check what an unprivileged user's berth will use, then join (or make)
/// the user's namespace. Nothing is created before the checks pass.
pub fn enter(root: &Path, runroot: &Path) -> anyhow::Result<()> {
    // SAFETY: getuid/getgid cannot fail and touch no memory.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    if uid == 0 {
        return Ok(());
    }
    check_runtime_dir()?;
    for dir in [root, runroot] {
        check_owner(dir, uid)?;
    }
    let user = crate::newcomer::user_name(uid).unwrap_or_else(|| uid.to_string());
    // Read (and checked) before anything is made, though only a new
    // namespace uses it: a broken file is an error either way.
    let read = IdMapping::read(&user, uid, gid)?;
    let single = read.is_none();
    let mapping = read.unwrap_or_else(|| IdMapping::single(uid, gid));
    let created = userns::join(runroot, &mapping)?;
    if created && single {
        // Once per namespace: it lives until the user's last process.
        eprintln!(
            "WARN: {user} has no subordinate ids in {} and {}: only your own uid and gid are \
             mapped (as root) in containers; images with files of other owners will fail to \
             pull. As root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}",
            rootless::idmap::SUBUID,
            rootless::idmap::SUBGID
        );
    }
    // Commands started in the namespace (monitors, `berth unshare`'s
    // command) run as its root for this user.
    std::env::set_var(userns::ROOTLESS_UID_ENV, uid.to_string());
    Ok(())
}

/// `dir`, when it exists, must be the user's: another user's store is
/// never read or written.
fn check_owner(dir: &Path, uid: u32) -> anyhow::Result<()> {
    let meta = match std::fs::metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        // Above it, a directory closed to the user: someone else's.
        Err(e) => anyhow::bail!(
            "{}: {e}: berth will not use another user's store; choose your own with \
             --root/--runroot",
            dir.display()
        ),
    };
    if meta.uid() != uid {
        return Err(rootless::Error::NotYours {
            path: dir.into(),
            owner: meta.uid(),
            uid,
        }
        .into());
    }
    Ok(())
}

/// `$XDG_RUNTIME_DIR`, when set, must be a directory of the user's that
/// it can write (podman's check): run state elsewhere would be lost or
/// shared.
fn check_runtime_dir() -> anyhow::Result<()> {
    let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let path = PathBuf::from(dir);
    let bad = |reason: String| -> anyhow::Result<()> {
        Err(rootless::Error::RuntimeDir {
            path: path.clone(),
            reason,
        }
        .into())
    };
    if !path.is_absolute() {
        return bad("not an absolute path".into());
    }
    let meta = match std::fs::metadata(&path) {
        Ok(m) => m,
        Err(e) => return bad(format!("{e}")),
    };
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    if !meta.is_dir() {
        return bad("not a directory".into());
    }
    if meta.uid() != uid {
        return bad(format!(
            "owned by uid {}, not by you (uid {uid})",
            meta.uid()
        ));
    }
    Ok(())
}
