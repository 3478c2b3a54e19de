//! `storage.conf` (containers-storage.conf(5)): the `[storage]` keys
//! `driver`, `graphroot` and `runroot`.
//!
//! berth's store has its own on-disk format, not containers/storage's, so
//! it must never take podman's `graphroot` and write its layout there.
//! Hence two files with different reach:
//! - berth's own `/etc/berth/storage.conf` (`$BERTH_STORAGE_CONF`), in the
//!   same format, gives `driver`, `graphroot` and `runroot`;
//! - the containers ecosystem's (`$CONTAINERS_STORAGE_CONF`, else
//!   `/etc/containers/storage.conf`, else `/usr/share/containers/storage.conf`;
//!   a non-root user's `$XDG_CONFIG_HOME/containers/storage.conf` first)
//!   gives only `driver`, and only as a preference: a driver berth lacks
//!   (btrfs, zfs, ...) is a warning, and a store that exists keeps its own.
//!
//! Precedence: `--root`/`--runroot`/`--storage-driver` and `$BERTH_ROOT`/
//! `$BERTH_RUNROOT`/`$BERTH_STORAGE_DRIVER` > berth's storage.conf >
//! containers' storage.conf (driver only) > built-in defaults.

use super::read_toml;
use anyhow::Context as _;
use berth_image::config_paths;
use berth_storage::{DriverKind, Store, StoreOptions};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// berth's own storage.conf.
pub const BERTH_STORAGE_CONF: &str = "/etc/berth/storage.conf";
/// The containers ecosystem's storage.conf.
pub const CONTAINERS_STORAGE_CONF: &str = "/etc/containers/storage.conf";
/// Where packages put the containers ecosystem's defaults.
pub const CONTAINERS_STORAGE_CONF_SHARE: &str = "/usr/share/containers/storage.conf";
/// The built-in storage root (also `--root`'s default).
pub const DEFAULT_ROOT: &str = "/var/lib/berth/storage";
/// The built-in run state root (also `--runroot`'s default).
pub const DEFAULT_RUNROOT: &str = "/run/berth";
/// containers/storage's default graphroot and runroot for root.
const PODMAN_GRAPHROOT: &str = "/var/lib/containers/storage";
const PODMAN_RUNROOT: &str = "/run/containers/storage";

#[derive(Debug, Default, Deserialize)]
struct FileFormat {
    #[serde(default)]
    storage: Section,
}

#[derive(Debug, Default, Deserialize)]
struct Section {
    driver: Option<String>,
    graphroot: Option<PathBuf>,
    runroot: Option<PathBuf>,
}

/// The keys berth reads from one storage.conf.
#[derive(Debug, Clone, Default)]
pub struct StorageConf {
    /// The file.
    pub path: PathBuf,
    /// `driver` (empty: choose).
    pub driver: Option<String>,
    /// `graphroot`.
    pub graphroot: Option<PathBuf>,
    /// `runroot`.
    pub runroot: Option<PathBuf>,
}

impl StorageConf {
    /// Parse storage.conf text read from `path`.
    #[cfg(test)]
    fn parse(text: &str, path: &Path) -> anyhow::Result<StorageConf> {
        let f: FileFormat = super::parse_toml(text, path)?;
        StorageConf::from_format(f, path)
    }

    fn from_format(f: FileFormat, path: &Path) -> anyhow::Result<StorageConf> {
        for (key, value) in [
            ("graphroot", &f.storage.graphroot),
            ("runroot", &f.storage.runroot),
        ] {
            if let Some(v) = value.as_ref().filter(|v| !v.is_absolute()) {
                anyhow::bail!(
                    "{}: [storage] {key} {:?} must be an absolute path",
                    path.display(),
                    v
                );
            }
        }
        Ok(StorageConf {
            path: path.to_path_buf(),
            driver: f.storage.driver.filter(|d| !d.is_empty()),
            graphroot: f.storage.graphroot,
            runroot: f.storage.runroot,
        })
    }

    fn read(path: &Path, must_exist: bool) -> anyhow::Result<Option<StorageConf>> {
        match read_toml::<FileFormat>(path, must_exist)? {
            Some(f) => StorageConf::from_format(f, path).map(Some),
            None => Ok(None),
        }
    }

    /// berth's own file: `$BERTH_STORAGE_CONF` (must exist), else
    /// `/etc/berth/storage.conf` if it exists.
    pub fn berth() -> anyhow::Result<Option<StorageConf>> {
        match config_paths::env_path("BERTH_STORAGE_CONF") {
            Some(p) => StorageConf::read(&p, true),
            None => StorageConf::read(&config_paths::system(BERTH_STORAGE_CONF), false),
        }
    }

    /// The containers ecosystem's file, looked up as containers/storage does.
    pub fn containers() -> anyhow::Result<Option<StorageConf>> {
        if let Some(p) = config_paths::env_path("CONTAINERS_STORAGE_CONF") {
            return StorageConf::read(&p, true);
        }
        let mut candidates = Vec::new();
        if !super::running_as_root() {
            candidates.extend(config_paths::xdg_config("containers/storage.conf"));
        }
        candidates.push(config_paths::system(CONTAINERS_STORAGE_CONF));
        candidates.push(config_paths::system(CONTAINERS_STORAGE_CONF_SHARE));
        for p in candidates {
            if let Some(c) = StorageConf::read(&p, false)? {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }
}

/// The driver a name stands for: `Some(None)` for "choose", `None` for a
/// driver berth does not have.
fn driver_kind(name: &str) -> Option<Option<DriverKind>> {
    match name {
        "" => Some(None),
        // containers/storage accepts overlay2 as another name of overlay.
        "overlay" | "overlay2" => Some(Some(DriverKind::Overlay)),
        "vfs" => Some(Some(DriverKind::Vfs)),
        _ => None,
    }
}

/// How to open the store, as resolved from flags and files.
#[derive(Debug, Clone, Default)]
pub struct StorageSettings {
    /// The driver asked for; `None` lets the store choose (its recorded
    /// driver, else overlay where it works, else vfs).
    pub driver: Option<DriverKind>,
    /// The driver came only from the containers ecosystem's storage.conf:
    /// a preference for a new store, never a reason to fail.
    pub driver_is_preference: bool,
}

/// What the command line (or the `BERTH_*` variables behind its flags)
/// gave; `None` where it gave nothing.
#[derive(Debug, Clone, Default)]
pub struct Given {
    /// `--root` / `$BERTH_ROOT`.
    pub root: Option<PathBuf>,
    /// `--runroot` / `$BERTH_RUNROOT`.
    pub runroot: Option<PathBuf>,
    /// `--storage-driver` / `$BERTH_STORAGE_DRIVER`.
    pub driver: Option<String>,
}

/// The store root, the run root and the driver settings, by the
/// precedence in the module documentation.
pub fn resolve(
    given: &Given,
    berth: Option<&StorageConf>,
    containers: Option<&StorageConf>,
) -> anyhow::Result<(PathBuf, PathBuf, StorageSettings)> {
    let mut settings = StorageSettings::default();
    if let Some(name) = &given.driver {
        settings.driver = driver_kind(name).with_context(|| {
            format!("--storage-driver {name:?}: berth has the overlay and vfs drivers")
        })?;
    } else if let Some((conf, name)) = berth.and_then(|c| c.driver.as_ref().map(|d| (c, d))) {
        settings.driver = driver_kind(name).with_context(|| {
            format!(
                "{}: [storage] driver {name:?}: berth has the overlay and vfs drivers",
                conf.path.display()
            )
        })?;
    } else if let Some((conf, name)) = containers.and_then(|c| c.driver.as_ref().map(|d| (c, d))) {
        match driver_kind(name) {
            Some(kind) => {
                settings.driver = kind;
                settings.driver_is_preference = true;
            }
            // It is podman's setting for podman's store; berth only takes
            // it as a hint, so one it cannot follow is no error.
            None => tracing::warn!(
                file = %conf.path.display(),
                "storage driver {name:?} is not one berth has (overlay, vfs); \
                 choosing one as if none were set"
            ),
        }
    }
    let root = given
        .root
        .clone()
        .or_else(|| berth.and_then(|c| c.graphroot.clone()))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_ROOT));
    let runroot = given
        .runroot
        .clone()
        .or_else(|| berth.and_then(|c| c.runroot.clone()))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUNROOT));
    let theirs = |key: &str, default: &str| -> Vec<PathBuf> {
        let configured = containers.and_then(|c| match key {
            "graphroot" => c.graphroot.clone(),
            _ => c.runroot.clone(),
        });
        std::iter::once(PathBuf::from(default))
            .chain(configured)
            .collect()
    };
    for (what, ours, key, default) in [
        ("storage root", &root, "graphroot", PODMAN_GRAPHROOT),
        ("run root", &runroot, "runroot", PODMAN_RUNROOT),
    ] {
        if theirs(key, default).iter().any(|p| same_path(p, ours)) {
            anyhow::bail!(
                "the {what} {} is containers/storage's (podman's) {key}; berth's store has \
                 its own format and must not write there: choose another (--root/--runroot, \
                 or {key} in {})",
                ours.display(),
                BERTH_STORAGE_CONF
            );
        }
    }
    Ok((root, runroot, settings))
}

fn same_path(a: &Path, b: &Path) -> bool {
    a == b
        || matches!(
            (std::fs::canonicalize(a), std::fs::canonicalize(b)),
            (Ok(x), Ok(y)) if x == y
        )
}

/// Open the store at `root`. A driver that was only a preference gives way
/// to the one an existing store was made with, or to the store's own
/// choice where it cannot work here.
pub fn open_store(root: &Path, settings: &StorageSettings) -> anyhow::Result<Store> {
    let opts = |driver| StoreOptions {
        driver,
        ..StoreOptions::at(root)
    };
    let opened = match Store::open(opts(settings.driver)) {
        Err(
            e @ (berth_storage::Error::DriverMismatch { .. }
            | berth_storage::Error::DriverUnavailable { .. }),
        ) if settings.driver_is_preference => {
            tracing::info!(error = %e, "not following containers' storage.conf driver");
            Store::open(opts(None))
        }
        r => r,
    };
    opened.with_context(|| format!("opening storage at {}", root.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(path: &str, text: &str) -> StorageConf {
        StorageConf::parse(text, Path::new(path)).unwrap()
    }

    #[test]
    fn parses_the_storage_table() {
        let c = conf(
            "/b/storage.conf",
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"/srv/berth\"\nrunroot = \"/run/b\"\n\
             [storage.options]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n",
        );
        assert_eq!(c.driver.as_deref(), Some("vfs"));
        assert_eq!(c.graphroot.as_deref(), Some(Path::new("/srv/berth")));
        assert_eq!(c.runroot.as_deref(), Some(Path::new("/run/b")));
        // An empty driver is "choose".
        assert_eq!(conf("/x", "[storage]\ndriver = \"\"\n").driver, None);
        assert_eq!(conf("/x", "").driver, None);
    }

    #[test]
    fn malformed_files_are_named() {
        for (text, want) in [
            ("[storage\n", "TOML"),
            ("[storage]\ndriver = 3\n", "driver"),
            ("[storage]\ngraphroot = \"rel/dir\"\n", "absolute"),
        ] {
            let e = StorageConf::parse(text, Path::new("/etc/berth/storage.conf")).unwrap_err();
            let msg = format!("{e:#}");
            assert!(
                msg.contains("/etc/berth/storage.conf") && msg.contains(want),
                "{text}: {msg}"
            );
        }
    }

    #[test]
    fn precedence() {
        let berth = conf(
            "/etc/berth/storage.conf",
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"/srv/b\"\nrunroot = \"/run/b\"\n",
        );
        let podman = conf(
            "/etc/containers/storage.conf",
            "[storage]\ndriver = \"overlay\"\ngraphroot = \"/srv/podman\"\nrunroot = \"/run/p\"\n",
        );
        // Files alone: berth's everything; podman's roots never.
        let (root, run, s) = resolve(&Given::default(), Some(&berth), Some(&podman)).unwrap();
        assert_eq!(
            (root.as_path(), run.as_path()),
            (Path::new("/srv/b"), Path::new("/run/b"))
        );
        assert_eq!(
            (s.driver, s.driver_is_preference),
            (Some(DriverKind::Vfs), false)
        );
        // Only podman's: its driver as a preference, berth's own roots.
        let (root, run, s) = resolve(&Given::default(), None, Some(&podman)).unwrap();
        assert_eq!(root, Path::new(DEFAULT_ROOT));
        assert_eq!(run, Path::new(DEFAULT_RUNROOT));
        assert_eq!(
            (s.driver, s.driver_is_preference),
            (Some(DriverKind::Overlay), true)
        );
        // Flags and BERTH_* variables win.
        let given = Given {
            root: Some("/r".into()),
            runroot: Some("/rr".into()),
            driver: Some("overlay".into()),
        };
        let (root, run, s) = resolve(&given, Some(&berth), Some(&podman)).unwrap();
        assert_eq!(
            (root.as_path(), run.as_path()),
            (Path::new("/r"), Path::new("/rr"))
        );
        assert_eq!(
            (s.driver, s.driver_is_preference),
            (Some(DriverKind::Overlay), false)
        );
        // Nothing: built-in defaults, the store chooses.
        let (root, _, s) = resolve(&Given::default(), None, None).unwrap();
        assert_eq!(root, Path::new(DEFAULT_ROOT));
        assert_eq!(s.driver, None);
    }

    #[test]
    fn drivers_berth_lacks() {
        let btrfs = |p: &str| conf(p, "[storage]\ndriver = \"btrfs\"\n");
        // podman's choice for podman's store: ignored with a warning.
        let (_, _, s) = resolve(&Given::default(), None, Some(&btrfs("/c/storage.conf"))).unwrap();
        assert_eq!(s.driver, None);
        // berth's own file or flag: an error naming it.
        let e = resolve(&Given::default(), Some(&btrfs("/b/storage.conf")), None).unwrap_err();
        assert!(e.to_string().contains("/b/storage.conf"), "{e}");
        let given = Given {
            driver: Some("zfs".into()),
            ..Given::default()
        };
        assert!(resolve(&given, None, None).is_err());
        let overlay2 = conf("/c", "[storage]\ndriver = \"overlay2\"\n");
        let (_, _, s) = resolve(&Given::default(), None, Some(&overlay2)).unwrap();
        assert_eq!(s.driver, Some(DriverKind::Overlay));
    }

    #[test]
    fn podmans_store_is_never_berths() {
        let given = Given {
            root: Some(PODMAN_GRAPHROOT.into()),
            ..Given::default()
        };
        let e = resolve(&given, None, None).unwrap_err();
        assert!(e.to_string().contains("podman"), "{e}");
        let podman = conf("/c", "[storage]\ngraphroot = \"/srv/podman\"\n");
        let berth = conf("/b", "[storage]\ngraphroot = \"/srv/podman/\"\n");
        assert!(resolve(&Given::default(), Some(&berth), Some(&podman)).is_err());
        let given = Given {
            runroot: Some(PODMAN_RUNROOT.into()),
            ..Given::default()
        };
        assert!(resolve(&given, None, None).is_err());
    }
}
