//! What the user asks of a container (`berth run`/`create` options), kept
//! with the container in storage so its bundle can be written again.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// How the container is networked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NetworkMode {
    /// Its own network namespace with only loopback.
    #[default]
    None,
    /// The host's network namespace.
    Host,
    /// A veth on berth's bridge (see the `network` module).
    Bridge,
    /// Its own namespace connected by pasta, a rootless user's default
    /// (see `crate::rootless::pasta`).
    Pasta,
}

impl NetworkMode {
    /// Whether the container's namespace is pinned under the runroot
    /// before it starts (a bridge's veth or pasta connects it there).
    pub fn pins_netns(self) -> bool {
        matches!(self, NetworkMode::Bridge | NetworkMode::Pasta)
    }

    /// Parse `--network`.
    pub fn parse(s: &str) -> Result<NetworkMode> {
        match s {
            "none" => Ok(NetworkMode::None),
            "host" => Ok(NetworkMode::Host),
            "bridge" => Ok(NetworkMode::Bridge),
            "pasta" => Ok(NetworkMode::Pasta),
            _ => Err(Error::InvalidOption {
                option: "--network",
                value: s.into(),
                reason: "must be none, host, bridge, pasta or container:NAME".into(),
            }),
        }
    }
}

/// A `-v host:ctr[:ro]` bind mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Volume {
    /// The host path (must exist), or the name of a volume.
    pub source: String,
    /// The path in the container.
    pub destination: String,
    /// Mounted read-only.
    pub readonly: bool,
    /// An anonymous volume made for the image's `Volumes` (source is its
    /// name); removed with the container by `rm -v` and `--rm`.
    #[serde(default)]
    pub anonymous: bool,
    /// `U`, `O`, `nocopy`, `idmap` and propagation.
    #[serde(default)]
    pub options: crate::volume_options::MountOptions,
}

impl Volume {
    /// Parse `host:ctr[:OPTIONS]`, `volume-name:ctr[:OPTIONS]`, or a lone
    /// `/ctr` (an anonymous volume, made at create). Options are `ro`,
    /// `rw`, and `z`/`Z`, which ask for an SELinux relabel: accepted as
    /// podman does on a host without SELinux, where they do nothing.
    pub fn parse(s: &str) -> Result<Volume> {
        let bad = |reason: &str| Error::InvalidOption {
            option: "--volume",
            value: s.into(),
            reason: reason.into(),
        };
        let parts: Vec<&str> = s.split(':').collect();
        let (src, dst, opts) = match parts.as_slice() {
            [dst] => ("", *dst, ""),
            [src, dst] => (*src, *dst, ""),
            [src, dst, opts] => (*src, *dst, *opts),
            _ => return Err(bad("must be HOST-DIR:CONTAINER-DIR[:ro]")),
        };
        if src.is_empty() && parts.len() > 1 {
            return Err(bad("the host path or volume name is empty"));
        }
        if !dst.starts_with('/') {
            return Err(bad("the container path must be absolute"));
        }
        let mut readonly = false;
        let mut options = crate::volume_options::MountOptions::default();
        for o in opts.split(',').filter(|o| !o.is_empty()) {
            match o {
                "ro" | "rw" => {
                    readonly = o == "ro";
                    options.given.push(o.into());
                }
                "z" | "Z" => {}
                _ => match options.take(o) {
                    Ok(true) => {}
                    Ok(false) => return Err(bad(&format!("invalid option type {o:?}"))),
                    Err(e) => return Err(bad(&e)),
                },
            }
        }
        options.check(src).map_err(|e| bad(&e))?;
        Ok(Volume {
            source: src.into(),
            destination: dst.into(),
            readonly,
            // An empty source is made an anonymous volume at create.
            anonymous: src.is_empty(),
            options,
        })
    }
}

/// Everything `berth create`/`run` takes about the container itself.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateOptions {
    /// The image (name, id or prefix).
    pub image: String,
    /// The container's name; the first 12 digits of the id when None.
    pub name: Option<String>,
    /// The command (replaces the image's Cmd).
    pub command: Vec<String>,
    /// `--entrypoint` (empty string: none).
    pub entrypoint: Option<String>,
    /// `-e NAME=VALUE` or `-e NAME` (taken from the caller's environment
    /// when the CLI parsed it), after `--env-file` entries.
    pub env: Vec<String>,
    /// `-w`.
    pub workdir: Option<String>,
    /// `-u user[:group]`.
    pub user: Option<String>,
    /// `--hostname` (default: the first 12 digits of the id).
    pub hostname: Option<String>,
    /// `--read-only`.
    pub read_only: bool,
    /// `--tmpfs PATH[:OPTIONS]`.
    pub tmpfs: Vec<String>,
    /// `-v`.
    pub volumes: Vec<Volume>,
    /// `--cgroups=disabled`: no cgroup at all (rootless: limits are then
    /// dropped instead of refused).
    pub cgroups_disabled: bool,
    /// `--memory` in bytes.
    pub memory: Option<i64>,
    /// `--cpus` (fraction of CPUs).
    pub cpus: Option<f64>,
    /// `--pids-limit`.
    pub pids_limit: Option<i64>,
    /// `--privileged`.
    pub privileged: bool,
    /// `--cap-add`.
    pub cap_add: Vec<String>,
    /// `--cap-drop`.
    pub cap_drop: Vec<String>,
    /// `--security-opt seccomp=unconfined`.
    pub seccomp_unconfined: bool,
    /// `--network`.
    pub network: NetworkMode,
    /// `-p`, and with `-P` the image's exposed ports (added at create).
    pub ports: Vec<crate::network::ports::PortMapping>,
    /// `-P`: publish the image's `ExposedPorts` on random host ports.
    pub publish_all: bool,
    /// `--ip`: the container's address on the bridge network (else the
    /// network picks one).
    pub ip: Option<String>,
    /// `--network-alias`: more names of the container on its network.
    pub network_aliases: Vec<String>,
    /// `--network NAME`: the user-defined network a bridge container is
    /// on (None: the default one).
    pub network_name: Option<String>,
    /// `-i`: keep stdin open.
    pub interactive: bool,
    /// `-t`: a terminal.
    pub tty: bool,
    /// `--rm`: removed once it exited.
    pub remove: bool,
    /// `--stop-signal` (overrides the image's StopSignal).
    pub stop_signal: Option<String>,
    /// `--init`: berth-init runs as pid 1 with the command as its child.
    pub init: bool,
    /// `--ulimit`: over the defaults' limit of the same name.
    pub ulimits: Vec<Ulimit>,
    /// `--label`: over the image's labels of the same name.
    pub labels: std::collections::BTreeMap<String, String>,
    /// The host's defaults (containers.conf), below the image's settings
    /// and the options above. Kept with the container, so a bundle
    /// written again after a reboot has what it was created with.
    pub defaults: ContainerDefaults,
    /// `--restart`, `--add-host`, `--dns*`, `--no-hosts`.
    pub life: crate::life_options::LifeOptions,
    /// The options that shape config.json further (`spec_options`).
    pub spec: crate::spec_options::SpecOptions,
    /// The pod (id or id prefix; kept as the id) whose namespaces, files
    /// and cgroup parent the container shares (see the `pod` module).
    pub pod: Option<String>,
    /// Where its log goes (absolute; the CRI's `log_directory/log_path`):
    /// the record's `ctr.log` is made a link to it at create, and again
    /// when a reboot lost the record. None: `ctr.log` itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_path: Option<std::path::PathBuf>,
    /// The command line that created it (podman's `CreateCommand`), for
    /// `generate systemd --new`; empty when not made from a command line.
    #[serde(default)]
    pub create_command: Vec<String>,
}

/// What the host's configuration (containers.conf's `[containers]`) gives
/// every container unless the image or the user says otherwise. The
/// empty value is berth's built-in behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerDefaults {
    /// The capabilities a container starts from before `--cap-add` and
    /// `--cap-drop` (`CAP_` names); `None` is podman's 11
    /// ([`crate::confinement::DEFAULT_CAPABILITIES`]).
    pub capabilities: Option<Vec<String>>,
    /// Resource limits of the container's process; none means the
    /// caller's own limits carry over.
    pub ulimits: Vec<Ulimit>,
    /// `NAME=VALUE` entries below the image's Env and `--env`.
    pub env: Vec<String>,
}

/// A resource limit: `--ulimit name=soft[:hard]` or a containers.conf
/// `default_ulimits` entry (the same syntax, as podman).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ulimit {
    /// The name as written (`nofile`, `nproc`, ...).
    pub name: String,
    /// Soft limit; `u64::MAX` is unlimited.
    pub soft: u64,
    /// Hard limit; `u64::MAX` is unlimited.
    pub hard: u64,
}

/// The names `--ulimit` knows (docker's and podman's), and the OCI names.
pub(crate) const ULIMITS: [(&str, &str); 16] = [
    ("as", "RLIMIT_AS"),
    ("core", "RLIMIT_CORE"),
    ("cpu", "RLIMIT_CPU"),
    ("data", "RLIMIT_DATA"),
    ("fsize", "RLIMIT_FSIZE"),
    ("locks", "RLIMIT_LOCKS"),
    ("memlock", "RLIMIT_MEMLOCK"),
    ("msgqueue", "RLIMIT_MSGQUEUE"),
    ("nice", "RLIMIT_NICE"),
    ("nofile", "RLIMIT_NOFILE"),
    ("nproc", "RLIMIT_NPROC"),
    ("rss", "RLIMIT_RSS"),
    ("rtprio", "RLIMIT_RTPRIO"),
    ("rttime", "RLIMIT_RTTIME"),
    ("sigpending", "RLIMIT_SIGPENDING"),
    ("stack", "RLIMIT_STACK"),
];

impl Ulimit {
    /// Parse `name=soft[:hard]`; a value of `-1` or `unlimited` is no
    /// limit, a missing hard limit is the soft one.
    pub fn parse(s: &str) -> Result<Ulimit> {
        let bad = |reason: &str| Error::InvalidOption {
            option: "--ulimit",
            value: s.into(),
            reason: reason.into(),
        };
        let (name, values) = s
            .split_once('=')
            .ok_or_else(|| bad("must be NAME=SOFT[:HARD]"))?;
        let name = name.trim().to_ascii_lowercase();
        if !ULIMITS.iter().any(|(n, _)| *n == name) {
            return Err(bad(&format!(
                "unknown limit {name:?} (one of {})",
                ULIMITS.map(|(n, _)| n).join(", ")
            )));
        }
        let value = |v: &str| match v.trim() {
            "-1" | "unlimited" => Ok(u64::MAX),
            n => n
                .parse::<u64>()
                .map_err(|_| bad("limits are numbers, -1 or unlimited")),
        };
        let (soft, hard) = match values.split_once(':') {
            Some((soft, hard)) => (value(soft)?, value(hard)?),
            None => {
                let v = value(values)?;
                (v, v)
            }
        };
        if soft > hard {
            return Err(bad("the soft limit is above the hard limit"));
        }
        Ok(Ulimit { name, soft, hard })
    }

    /// The OCI name (`RLIMIT_NOFILE`).
    pub fn rlimit_type(&self) -> String {
        ULIMITS
            .iter()
            .find(|(n, _)| *n == self.name)
            .map(|(_, t)| t.to_string())
            .unwrap_or_else(|| format!("RLIMIT_{}", self.name.to_ascii_uppercase()))
    }
}

/// Parse a size like `512m`, `1g`, `100000` (bytes) for `--memory`: binary
/// units b, k, m, g, t, an optional trailing `b`, fractions allowed — the
/// rules of berth-runtime's `update` sizes, which also take `-1`.
pub fn parse_size(s: &str) -> Result<i64> {
    let bad = || Error::InvalidOption {
        option: "--memory",
        value: s.into(),
        reason: "must be a number with an optional unit b, k, m, g or t".into(),
    };
    let lower = s.trim().to_ascii_lowercase();
    let lower = lower
        .strip_suffix('b')
        .filter(|r| !r.is_empty())
        .unwrap_or(&lower);
    let (num, mult) = match lower.chars().last() {
        Some('k') => (&lower[..lower.len() - 1], 1i64 << 10),
        Some('m') => (&lower[..lower.len() - 1], 1 << 20),
        Some('g') => (&lower[..lower.len() - 1], 1 << 30),
        Some('t') => (&lower[..lower.len() - 1], 1 << 40),
        _ => (lower, 1),
    };
    let n: f64 = num.trim().parse().map_err(|_| bad())?;
    if !n.is_finite() || n <= 0.0 {
        return Err(bad());
    }
    Ok((n * mult as f64) as i64)
}

/// Read a `--env-file`: `NAME=VALUE` lines, `#` comments, blank lines
/// skipped; a bare `NAME` takes the caller's value.
pub fn parse_env_file(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(expand_env)
        .collect()
}

/// `NAME=VALUE` as is; `NAME` alone becomes `NAME=<caller's value>`, or is
/// dropped when the caller has none (as podman does).
pub fn expand_env(e: &str) -> Option<String> {
    if e.contains('=') {
        return Some(e.to_string());
    }
    std::env::var(e).ok().map(|v| format!("{e}={v}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn volumes() {
        let v = Volume::parse("/a:/b:ro").unwrap();
        assert!(v.readonly);
        assert_eq!(v.destination, "/b");
        assert!(!Volume::parse("/a:/b").unwrap().readonly);
        assert_eq!(Volume::parse("data:/b").unwrap().source, "data");
        assert!(Volume::parse(":/b").is_err());
        assert!(Volume::parse("/a:b").is_err());
        assert!(Volume::parse("/a:/b:xx").is_err());
        let anon = Volume::parse("/data").unwrap();
        assert!(anon.anonymous && anon.source.is_empty());
        assert!(Volume::parse("data").is_err());
        assert!(!Volume::parse("/a:/b:z,ro").unwrap().anonymous);
        let v = Volume::parse("/a:/b:U,rshared,ro").unwrap();
        assert!(v.readonly && v.options.chown);
        assert_eq!(v.options.given, ["rshared", "ro"]);
        assert!(Volume::parse("/a:/b:O").unwrap().options.overlay);
        assert!(Volume::parse("data:/b:nocopy").unwrap().options.nocopy);
        assert!(Volume::parse("data:/b:O").is_err());
        assert!(Volume::parse("/a:/b:shared,slave").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("512m").unwrap(), 512 << 20);
        assert_eq!(parse_size("1g").unwrap(), 1 << 30);
        assert_eq!(parse_size("100").unwrap(), 100);
        assert_eq!(parse_size("64mb").unwrap(), 64 << 20);
        assert!(parse_size("x").is_err());
        assert!(parse_size("-1").is_err());
        assert_eq!(parse_size("1t").unwrap(), 1 << 40);
        assert!(parse_size("inf").is_err() && parse_size("nan").is_err());
    }

    #[test]
    fn ulimits() {
        let u = Ulimit::parse("nofile=1024:2048").unwrap();
        assert_eq!((u.soft, u.hard), (1024, 2048));
        assert_eq!(u.rlimit_type(), "RLIMIT_NOFILE");
        let u = Ulimit::parse("NPROC=-1").unwrap();
        assert_eq!(
            (u.name.as_str(), u.soft, u.hard),
            ("nproc", u64::MAX, u64::MAX)
        );
        assert_eq!(Ulimit::parse("core=0:unlimited").unwrap().hard, u64::MAX);
        for bad in ["nofile", "bogus=1", "nofile=x", "nofile=10:5", "nofile=1:"] {
            assert!(Ulimit::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn networks() {
        assert_eq!(NetworkMode::parse("host").unwrap(), NetworkMode::Host);
        assert!(NetworkMode::parse("nope").is_err());
    }
}
