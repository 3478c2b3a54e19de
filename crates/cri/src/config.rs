//! berthd's configuration: `/etc/berth/berthd.toml` (`--config`). Every
//! key is optional; a missing file is the defaults, a malformed one or an
//! unknown key is an error naming the file, so a typo never silently
//! becomes a default. Each key is documented in docs/berthd.md.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where berthd looks for its configuration unless `--config` says.
pub const DEFAULT_PATH: &str = "/etc/berth/berthd.toml";

/// The whole file.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The gRPC socket (`--listen` overrides it).
    pub listen: PathBuf,
    /// The image and container store (the CLI's `--root`).
    pub root: PathBuf,
    /// Run state: container records, bundles, pinned namespaces (`--runroot`).
    pub runroot: PathBuf,
    /// `overlay` or `vfs`; empty: the store's own, else overlay where it works.
    pub storage_driver: String,
    /// The OCI runtime binary; empty: berth-runtime next to berthd, else PATH.
    pub runtime: PathBuf,
    /// The cgroup every pod's and container's cgroup goes under.
    pub cgroup_parent: String,
    /// `cgroupfs` (the only driver built); `systemd` is accepted, and
    /// `Status` reports it unsupported (pods are refused). CRI-O's name
    /// for the key, `cgroup_manager`, is read too.
    #[serde(alias = "cgroup_manager")]
    pub cgroup_driver: String,
    /// Where CNI network configurations are looked for (NetworkReady).
    pub cni_config_dir: PathBuf,
    /// Where the CNI plugin binaries are.
    pub cni_plugin_dir: PathBuf,
    /// The capabilities a container starts from (`CAP_` names); empty:
    /// the engine's default set.
    pub default_capabilities: Vec<String>,
    /// The seccomp profile for `RuntimeDefault` (a JSON file); empty: the
    /// engine's built-in profile.
    pub seccomp_profile: PathBuf,
    /// `error`, `warn`, `info`, `debug` or `trace` (`--log-level` overrides).
    pub log_level: String,
    /// Pin a pod's namespaces without a pause process (true) or in a pause
    /// container (`pause_image`).
    pub pause_free: bool,
    /// The image of the pause container when `pause_free` is false
    /// (pulled by berthd when missing).
    pub pause_image: String,
    /// The pause container's command; empty: the image's.
    pub pause_command: Vec<String>,
    /// The registries configuration for pulls; empty: the system's.
    pub registries_conf: PathBuf,
    /// The auth file pulls read credentials from (kubelet's AuthConfig
    /// wins); empty: the system's.
    pub auth_file: PathBuf,
    /// Registries reached over plain HTTP or unverified TLS when false.
    pub tls_verify: bool,
    /// Where a container's log goes when kubelet names no log path.
    pub log_dir: PathBuf,
    /// The streaming server's `host:port` (Exec, Attach, PortForward
    /// URLs); port 0 picks a free one.
    pub streaming_address: String,
    /// HOST:PORT of the Prometheus `/metrics` endpoint; empty: off.
    pub metrics_address: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "/run/berth/berthd.sock".into(),
            root: "/var/lib/berth/storage".into(),
            runroot: "/run/berth".into(),
            storage_driver: String::new(),
            runtime: PathBuf::new(),
            cgroup_parent: "/berth".into(),
            cgroup_driver: "cgroupfs".into(),
            cni_config_dir: "/etc/cni/net.d".into(),
            cni_plugin_dir: "/usr/lib/cni".into(),
            default_capabilities: Vec::new(),
            seccomp_profile: PathBuf::new(),
            log_level: "info".into(),
            pause_free: true,
            pause_image: "registry.k8s.io/pause:3.9".into(),
            pause_command: Vec::new(),
            registries_conf: PathBuf::new(),
            auth_file: PathBuf::new(),
            tls_verify: true,
            log_dir: "/var/log/berth/containers".into(),
            streaming_address: "127.0.0.1:0".into(),
            metrics_address: String::new(),
        }
    }
}

/// Why the configuration cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file exists but cannot be read.
    #[error("reading {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has a key berthd does not know.
    #[error("{}: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's error, with the line.
        #[source]
        source: toml::de::Error,
    },
    /// A key has a value berthd refuses.
    #[error("{}: {key} = {value:?}: {reason}", path.display())]
    Value {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What it holds.
        value: String,
        /// Why it is refused.
        reason: &'static str,
    },
}

impl Config {
    /// Read `path`; a missing file is the defaults only when `required`
    /// is false (the default path), never for a path the user named.
    pub fn load(path: &Path, required: bool) -> Result<Config, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                return Ok(Config::default())
            }
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.into(),
                    source,
                })
            }
        };
        let config: Config = toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.into(),
            source,
        })?;
        config.check(path)?;
        Ok(config)
    }

    fn check(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |key, value: &str, reason| ConfigError::Value {
            path: path.into(),
            key,
            value: value.into(),
            reason,
        };
        if !matches!(self.storage_driver.as_str(), "" | "overlay" | "vfs") {
            return Err(bad(
                "storage_driver",
                &self.storage_driver,
                "must be overlay or vfs",
            ));
        }
        if self.cgroup_driver != "cgroupfs" && self.cgroup_driver != "systemd" {
            return Err(bad(
                "cgroup_driver",
                &self.cgroup_driver,
                "must be cgroupfs or systemd",
            ));
        }
        if !self.cgroup_parent.starts_with('/') {
            return Err(bad(
                "cgroup_parent",
                &self.cgroup_parent,
                "must be an absolute cgroup path",
            ));
        }
        if !matches!(
            self.log_level.as_str(),
            "error" | "warn" | "info" | "debug" | "trace"
        ) {
            return Err(bad(
                "log_level",
                &self.log_level,
                "must be error, warn, info, debug or trace",
            ));
        }
        Ok(())
    }

    /// The storage driver asked for, if any.
    pub fn driver(&self) -> Option<berth_storage::DriverKind> {
        match self.storage_driver.as_str() {
            "overlay" => Some(berth_storage::DriverKind::Overlay),
            "vfs" => Some(berth_storage::DriverKind::Vfs),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("berthd.toml");
        std::fs::write(&p, text).unwrap();
        Config::load(&p, true)
    }

    #[test]
    fn keys_override_defaults() {
        let c = parse("root = \"/srv/b\"\nstorage_driver = \"vfs\"\npause_free = false\n").unwrap();
        assert_eq!(c.root, PathBuf::from("/srv/b"));
        assert_eq!(c.driver(), Some(berth_storage::DriverKind::Vfs));
        assert!(!c.pause_free);
        assert_eq!(c.runroot, Config::default().runroot);
    }

    #[test]
    fn unknown_key_and_bad_value_are_refused() {
        let e = parse("rooot = \"/x\"\n").unwrap_err().to_string();
        assert!(e.contains("rooot"), "{e}");
        let e = parse("storage_driver = \"zfs\"\n").unwrap_err().to_string();
        assert!(e.contains("storage_driver"), "{e}");
        let e = parse("cgroup_parent = \"rel\"\n").unwrap_err().to_string();
        assert!(e.contains("absolute"), "{e}");
    }

    #[test]
    fn cri_o_s_cgroup_manager_key_is_the_driver() {
        let c = parse("cgroup_manager = \"systemd\"\n").unwrap();
        assert_eq!(c.cgroup_driver, "systemd");
        let e = parse("cgroup_manager = \"sytemd\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cgroup_driver") && e.contains("sytemd"), "{e}");
    }

    #[test]
    fn missing_default_file_is_defaults_but_named_file_is_required() {
        let p = Path::new("/nonexistent/berthd.toml");
        assert_eq!(Config::load(p, false).unwrap(), Config::default());
        assert!(Config::load(p, true).is_err());
    }
}
