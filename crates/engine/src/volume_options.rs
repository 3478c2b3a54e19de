//! The options of a `-v`/`--mount` beyond read-only: `U` (chown the
//! source to the container's user), `O` (an overlay whose writes never
//! reach the host), `nocopy` (a new volume is not filled from the image),
//! a propagation mode, `idmap`, and `bind` (not recursive: what is mounted
//! under the source stays out) or `rbind`. Parsed here with podman 4.3's names;
//! applied to config.json by `mount_apply`, and to a new volume's copy-up
//! by `volumes`. Kept with the container inside its [`crate::Volume`]s.

use serde::{Deserialize, Serialize};

/// The propagation modes a bind takes (podman's; berth's default is
/// `rprivate`).
pub const PROPAGATIONS: [&str; 6] = [
    "shared", "slave", "private", "rshared", "rslave", "rprivate",
];

/// What a volume or bind asks beyond `ro`/`rw`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MountOptions {
    /// `U`: the source (recursively) belongs to the container's user and
    /// group, chowned when the bundle is written, as podman does.
    pub chown: bool,
    /// `O`: the host directory is the lower layer of an overlay; the
    /// upper and work directories are the container's own.
    pub overlay: bool,
    /// `nocopy`: a new named volume is not filled from the image.
    pub nocopy: bool,
    /// `idmap`: an idmapped mount to the container's user namespace (with
    /// none, the identity).
    pub idmap: bool,
    /// `bind` (`--mount`'s `bind-nonrecursive`): the source alone, not
    /// the mounts under it; else `rbind`.
    pub nonrecursive: bool,
    /// One of [`PROPAGATIONS`]; None is `rprivate`.
    pub propagation: Option<String>,
    /// The options as given that inspect's `Binds` repeats, in the user's
    /// order (`nocopy`, `ro`, a propagation…).
    pub given: Vec<String>,
}

impl MountOptions {
    /// Take one option of a `-v` list; false when it is none of these.
    /// An error names a second propagation mode.
    pub fn take(&mut self, o: &str) -> Result<bool, String> {
        match o {
            "U" => self.chown = true,
            "O" => self.overlay = true,
            "nocopy" => {
                self.nocopy = true;
                self.given.push(o.into());
            }
            "idmap" => self.idmap = true,
            "bind" | "rbind" => {
                if self.given.iter().any(|g| g == "bind" || g == "rbind") {
                    return Err("can only specify 1 '[r]bind' option".into());
                }
                self.nonrecursive = o == "bind";
                self.given.push(o.into());
            }
            p if PROPAGATIONS.contains(&p) => {
                if self.propagation.as_deref().is_some_and(|q| q != p) {
                    return Err("only one root propagation mode can be used".into());
                }
                self.propagation = Some(p.into());
                self.given.push(o.into());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The bind option the runtime gets and inspect shows.
    pub fn bind_kind(&self) -> &'static str {
        if self.nonrecursive {
            "bind"
        } else {
            "rbind"
        }
    }

    /// The propagation inspect shows and the runtime gets.
    pub fn propagation(&self) -> &str {
        self.propagation.as_deref().unwrap_or("rprivate")
    }

    /// Combinations podman refuses, checked once the whole list is read:
    /// `source` is the host path or volume name.
    pub fn check(&self, source: &str) -> Result<(), String> {
        if self.overlay && !source.starts_with('/') {
            return Err("the O (overlay) option is for host directories, not volumes".into());
        }
        if self.overlay && (self.chown || self.idmap) {
            return Err("the O (overlay) option cannot be combined with U or idmap".into());
        }
        if self.overlay && source.contains([',', ':']) {
            return Err("an overlay's host directory cannot contain ',' or ':'".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_as_podman_names_them() {
        let mut m = MountOptions::default();
        for o in ["U", "nocopy", "rshared"] {
            assert_eq!(m.take(o), Ok(true), "{o}");
        }
        assert_eq!(m.take("bogus"), Ok(false));
        assert!(m.chown && m.nocopy && m.propagation() == "rshared");
        assert_eq!(m.given, ["nocopy", "rshared"]);
        assert!(m.take("slave").is_err());
        assert_eq!(MountOptions::default().propagation(), "rprivate");
        let mut b = MountOptions::default();
        assert_eq!(b.take("bind"), Ok(true));
        assert!(b.nonrecursive && b.bind_kind() == "bind");
        assert!(b.take("rbind").is_err());
        assert_eq!(MountOptions::default().bind_kind(), "rbind");
        let overlay = MountOptions {
            overlay: true,
            ..Default::default()
        };
        assert!(overlay.check("/a").is_ok());
        assert!(overlay.check("vol").is_err());
        assert!(overlay.check("/a,b").is_err());
    }
}
