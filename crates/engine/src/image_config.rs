//! The parts of an OCI image config that a container starts from, and the
//! lookups done in the image's files: users in `/etc/passwd` and
//! `/etc/group`, the command in `$PATH`.

use crate::error::{Error, Result};
use oci_spec::image::ImageConfiguration;
use std::path::{Path, PathBuf};

/// The execution parameters of an image (`config` of its
/// `ImageConfiguration`): entrypoint, cmd, env, user, ports, volumes.
pub use oci_spec::image::Config as ImageConfig;

/// Parse an image config blob. Docker's configs parse too: the fields the
/// OCI spec lacks (Healthcheck, OnBuild, ArgsEscaped…) are ignored and
/// `null` lists are absent.
pub fn parse(image: &str, bytes: &[u8]) -> Result<ImageConfiguration> {
    serde_json::from_slice(bytes).map_err(|source| Error::ImageConfig {
        image: image.into(),
        source,
    })
}

/// The execution parameters of a parsed image config; an image without
/// any (the spec allows it) gets the empty set.
pub fn execution(config: &ImageConfiguration) -> ImageConfig {
    config.config().clone().unwrap_or_default()
}

/// `port/proto` keys (`80/tcp`) the image exposes, sorted (oci-spec keeps
/// them in hash order).
pub fn exposed_ports(image: &ImageConfig) -> Vec<String> {
    sorted(image.exposed_ports())
}

/// Paths the image wants a volume on, sorted.
pub fn volumes(image: &ImageConfig) -> Vec<String> {
    sorted(image.volumes())
}

fn sorted(list: &Option<Vec<String>>) -> Vec<String> {
    let mut list = list.clone().unwrap_or_default();
    list.sort();
    list
}

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

fn read_in_root(rootfs: &Path, file: &str) -> String {
    // A missing or unreadable file resolves no names, as in runc's libcontainer/user.
    std::fs::read_to_string(rootfs.join(file.trim_start_matches('/'))).unwrap_or_default()
}

/// `(id, name)` of every entry of a passwd or group file in `rootfs`.
pub(crate) fn names_by_id(rootfs: &Path, file: &str) -> Vec<(u32, String)> {
    read_in_root(rootfs, file)
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            Some((f.get(2)?.parse().ok()?, f.first()?.to_string()))
        })
        .collect()
}

/// Resolve `user[:group]` (names or numbers) in the image's files, as
/// podman does: a name must exist; a number need not.
pub fn resolve_user(rootfs: &Path, spec: &str) -> Result<ResolvedUser> {
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    let passwd = read_in_root(rootfs, "/etc/passwd");
    let groups = read_in_root(rootfs, "/etc/group");
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() >= 7 && (f[0] == user || (user.parse::<u32>().is_ok() && f[2] == user)));
    let (uid, mut gid, home, name) = match (user.parse::<u32>(), &entry) {
        (_, Some(f)) => (
            f[2].parse().unwrap_or(0),
            f[3].parse().unwrap_or(0),
            Some(f[5].to_string()),
            Some(f[0].to_string()),
        ),
        (Ok(n), None) => (n, 0, None, None),
        (Err(_), None) if user.is_empty() => (0, 0, None, None),
        (Err(_), None) => {
            return Err(Error::UnknownUser {
                what: "user",
                name: user.into(),
                file: "/etc/passwd",
            })
        }
    };
    if let Some(g) = group {
        gid = match g.parse::<u32>() {
            Ok(n) => n,
            Err(_) => groups
                .lines()
                .map(|l| l.split(':').collect::<Vec<_>>())
                .find(|f| f.len() >= 3 && f[0] == g)
                .and_then(|f| f[2].parse().ok())
                .ok_or_else(|| Error::UnknownUser {
                    what: "group",
                    name: g.into(),
                    file: "/etc/group",
                })?,
        };
    }
    let mut additional_gids = Vec::new();
    if let (Some(name), None) = (&name, group) {
        for f in groups.lines().map(|l| l.split(':').collect::<Vec<_>>()) {
            if f.len() >= 4 && f[3].split(',').any(|m| m == name) {
                if let Ok(g) = f[2].parse::<u32>() {
                    if g != gid && !additional_gids.contains(&g) {
                        additional_gids.push(g);
                    }
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

/// Follow `path` inside `rootfs` (symlinks resolved against the rootfs, not
/// the host) and say whether it ends at an executable regular file.
fn executable_in_root(rootfs: &Path, path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let mut current = PathBuf::from(path);
    for _ in 0..40 {
        let mut host = rootfs.to_path_buf();
        let mut resolved = PathBuf::from("/");
        let mut followed = None;
        for comp in current.components() {
            use std::path::Component;
            match comp {
                Component::Normal(c) => {
                    resolved.push(c);
                    host.push(c);
                    match std::fs::symlink_metadata(&host) {
                        Ok(m) if m.file_type().is_symlink() => {
                            let Ok(target) = std::fs::read_link(&host) else {
                                return false;
                            };
                            let base = resolved.parent().unwrap_or(Path::new("/")).to_path_buf();
                            let rest: PathBuf = current
                                .strip_prefix(&resolved)
                                .map(Path::to_path_buf)
                                .unwrap_or_default();
                            followed = Some(base.join(target).join(rest));
                            break;
                        }
                        Ok(_) => {}
                        Err(_) => return false,
                    }
                }
                Component::ParentDir => {
                    resolved.pop();
                    host = rootfs.join(resolved.strip_prefix("/").unwrap_or(&resolved));
                }
                _ => {}
            }
        }
        match followed {
            Some(next) => current = next,
            None => {
                return std::fs::metadata(&host)
                    .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                    .unwrap_or(false)
            }
        }
    }
    false
}

/// Check that `cmd` can be executed in `rootfs` with this environment's
/// PATH, so a typo is a clear error before anything starts.
pub fn check_command(rootfs: &Path, cmd: &str, env: &[String]) -> Result<()> {
    if cmd.contains('/') {
        let path = if cmd.starts_with('/') {
            cmd.to_string()
        } else {
            // Relative to the working directory: the runtime decides.
            return Ok(());
        };
        if executable_in_root(rootfs, &path) {
            return Ok(());
        }
        return Err(Error::CommandNotFound(cmd.into()));
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        if executable_in_root(rootfs, &format!("{dir}/{cmd}")) {
            return Ok(());
        }
    }
    Err(Error::CommandNotFound(cmd.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let etc = d.path().join("etc");
        std::fs::create_dir_all(&etc).unwrap();
        std::fs::write(
            etc.join("passwd"),
            "root:x:0:0:root:/root:/bin/sh\nwww:x:33:34:www:/var/www:/bin/false\n",
        )
        .unwrap();
        std::fs::write(etc.join("group"), "root:x:0:\nweb:x:34:\nextra:x:50:www\n").unwrap();
        d
    }

    #[test]
    fn users() {
        let d = root();
        let u = resolve_user(d.path(), "www").unwrap();
        assert_eq!(
            (u.uid, u.gid, u.additional_gids.clone()),
            (33, 34, vec![50])
        );
        assert_eq!(u.home.as_deref(), Some("/var/www"));
        let u = resolve_user(d.path(), "www:root").unwrap();
        assert_eq!((u.uid, u.gid), (33, 0));
        let u = resolve_user(d.path(), "1234:5").unwrap();
        assert_eq!((u.uid, u.gid), (1234, 5));
        assert!(resolve_user(d.path(), "nobody").is_err());
        assert!(resolve_user(d.path(), "www:nogroup").is_err());
    }

    #[test]
    fn commands() {
        use std::os::unix::fs::PermissionsExt;
        let d = root();
        let bin = d.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::write(bin.join("busybox"), "x").unwrap();
        std::fs::set_permissions(bin.join("busybox"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        std::os::unix::fs::symlink("/bin/busybox", bin.join("sh")).unwrap();
        std::os::unix::fs::symlink("busybox", bin.join("ls")).unwrap();
        let env = vec!["PATH=/bin".to_string()];
        check_command(d.path(), "sh", &env).unwrap();
        check_command(d.path(), "ls", &env).unwrap();
        check_command(d.path(), "/bin/sh", &env).unwrap();
        assert!(check_command(d.path(), "nope", &env).is_err());
        assert!(check_command(d.path(), "/etc/passwd", &env).is_err());
    }
}
