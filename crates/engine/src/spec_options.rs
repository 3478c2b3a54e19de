//! The `run`/`create` options that shape config.json beyond the basics:
//! resources (`--memory-swap`, `--cpu-shares`, `--cpuset-cpus`,
//! `--shm-size`), `--sysctl`, `--oom-score-adj`, `--device`, the
//! namespace modes (`--pid`, `--ipc`, `--uts`, `--cgroupns`, and
//! `--network container:NAME`),
//! `--group-add`, the `--security-opt` family, `--annotation`, `--tz`,
//! `--expose` and `--stop-timeout`. Parsed here with podman 4.3's syntax
//! and wording; applied to the spec by `spec_apply`. Kept with the
//! container (a field of [`crate::CreateOptions`]), every field with a
//! serde default so records written before them still load.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The spec-shaping options of a container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SpecOptions {
    /// `--memory-swap` in bytes (memory plus swap); -1 is unlimited.
    pub memory_swap: Option<i64>,
    /// `--cpu-shares`.
    pub cpu_shares: Option<u64>,
    /// `--cpuset-cpus` (`0-2,4`).
    pub cpuset_cpus: Option<String>,
    /// `--shm-size` in bytes (the size of `/dev/shm`).
    pub shm_size: Option<i64>,
    /// `--sysctl NAME=VALUE` (namespaced ones only).
    pub sysctls: BTreeMap<String, String>,
    /// `--oom-score-adj`.
    pub oom_score_adj: Option<i32>,
    /// `--device`.
    pub devices: Vec<DeviceMapping>,
    /// `--pid`.
    pub pid: Option<NamespaceMode>,
    /// `--ipc`.
    pub ipc: Option<NamespaceMode>,
    /// `--uts`.
    pub uts: Option<NamespaceMode>,
    /// `--cgroupns`.
    pub cgroupns: Option<NamespaceMode>,
    /// `--network container:NAME` (the only mode kept here: the others
    /// are [`crate::NetworkMode`], which is then `None`, its namespace
    /// replaced by the other's).
    pub net: Option<NamespaceMode>,
    /// `--group-add`: gids or group names of the image's `/etc/group`.
    pub group_add: Vec<String>,
    /// `--security-opt` other than `seccomp=unconfined`.
    pub security: SecurityOptions,
    /// `--annotation KEY=VALUE`.
    pub annotations: BTreeMap<String, String>,
    /// `--tz`: a zone of the host's zoneinfo, or `local`.
    pub timezone: Option<String>,
    /// `--expose`: `PORT/PROTO` keys added to the image's exposed ports.
    pub expose: Vec<String>,
    /// `--stop-timeout`: the default of `stop` in seconds.
    pub stop_timeout: Option<u64>,
}

/// Which namespace of a kind a container gets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NamespaceMode {
    /// The host's.
    Host,
    /// A new one.
    Private,
    /// That of another container (its id once created), joined through
    /// `/proc/PID/ns/` of its running process.
    Container(String),
}

impl NamespaceMode {
    /// Parse `host`, `private` or `container:NAME` for `option`.
    pub fn parse(option: &'static str, s: &str) -> Result<NamespaceMode> {
        match s.split_once(':') {
            None if s == "host" => Ok(NamespaceMode::Host),
            None if s == "private" => Ok(NamespaceMode::Private),
            Some(("container", name)) if !name.is_empty() => {
                Ok(NamespaceMode::Container(name.to_string()))
            }
            _ => Err(Error::InvalidOption {
                option,
                value: s.into(),
                reason: "unrecognized namespace mode (host, private or container:NAME)".into(),
            }),
        }
    }
}

/// A `--device HOST[:CTR][:PERMS]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMapping {
    /// The host's device node.
    pub host: String,
    /// Its path in the container.
    pub container: String,
    /// The cgroup access: a combination of `r`, `w`, `m`.
    pub permissions: String,
}

impl DeviceMapping {
    /// Parse podman's `HOST[:CTR[:PERMS]]` (or `HOST:PERMS`).
    pub fn parse(s: &str) -> Result<DeviceMapping> {
        let bad = |reason: String| Error::InvalidOption {
            option: "--device",
            value: s.into(),
            reason,
        };
        let is_perms = |p: &str| !p.is_empty() && p.chars().all(|c| "rwm".contains(c));
        let check_perms = |p: &str| match is_perms(p) {
            true => Ok(p.to_string()),
            false => Err(bad(format!("invalid device mode: {p}"))),
        };
        let parts: Vec<&str> = s.split(':').collect();
        let (host, container, permissions) = match parts.as_slice() {
            [h] => (*h, *h, "rwm".to_string()),
            [h, p] if !p.starts_with('/') => (*h, *h, check_perms(p)?),
            [h, c] => (*h, *c, "rwm".to_string()),
            [h, c, p] if c.starts_with('/') => (*h, *c, check_perms(p)?),
            _ => return Err(bad("invalid device specification".into())),
        };
        if !host.starts_with('/') || !container.starts_with('/') {
            return Err(bad("device paths must be absolute".into()));
        }
        Ok(DeviceMapping {
            host: host.into(),
            container: container.into(),
            permissions,
        })
    }
}

/// The `--security-opt` options besides `seccomp=unconfined`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SecurityOptions {
    /// `no-new-privileges`.
    pub no_new_privileges: bool,
    /// `seccomp=PROFILE.json`: the profile's text (docker's format, with
    /// `includes`/`excludes`), kept so a rewritten bundle does not depend
    /// on the file still being there.
    pub seccomp_profile: Option<String>,
    /// `mask=PATH:PATH`: more paths masked.
    pub mask: Vec<String>,
    /// `unmask=PATH:PATH` or `unmask=ALL`: masked and read-only paths
    /// given back.
    pub unmask: Vec<String>,
    /// `label=…` as given (SELinux is not enabled here: kept, not applied).
    pub label: Vec<String>,
}

/// What one `--security-opt` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecurityOpt {
    /// `seccomp=unconfined`.
    SeccompUnconfined,
    /// `seccomp=PATH`.
    SeccompProfile(String),
    /// `no-new-privileges[=true|false]`.
    NoNewPrivileges(bool),
    /// `mask=PATHS`.
    Mask(Vec<String>),
    /// `unmask=PATHS|ALL`.
    Unmask(Vec<String>),
    /// `label=…`.
    Label(String),
    /// `apparmor=unconfined` (AppArmor is not enabled here).
    ApparmorUnconfined,
}

impl SecurityOpt {
    /// Parse one `--security-opt` (podman takes `=` or docker's old `:`).
    pub fn parse(s: &str) -> Result<SecurityOpt> {
        let bad = |reason: String| Error::InvalidOption {
            option: "--security-opt",
            value: s.into(),
            reason,
        };
        if s == "no-new-privileges" {
            return Ok(SecurityOpt::NoNewPrivileges(true));
        }
        let (key, value) = s
            .split_once('=')
            .or_else(|| s.split_once(':'))
            .ok_or_else(|| bad("must be KEY=VALUE or no-new-privileges".into()))?;
        let paths = |v: &str| -> Result<Vec<String>> {
            let list: Vec<String> = v.split(':').map(str::to_string).collect();
            match list.iter().all(|p| p.starts_with('/') || p == "ALL") {
                true => Ok(list),
                false => Err(bad("paths must be absolute".into())),
            }
        };
        match key {
            "seccomp" if value == "unconfined" => Ok(SecurityOpt::SeccompUnconfined),
            "seccomp" if !value.is_empty() => Ok(SecurityOpt::SeccompProfile(value.into())),
            "no-new-privileges" => match value {
                "true" => Ok(SecurityOpt::NoNewPrivileges(true)),
                "false" => Ok(SecurityOpt::NoNewPrivileges(false)),
                _ => Err(bad("no-new-privileges takes true or false".into())),
            },
            "mask" => Ok(SecurityOpt::Mask(paths(value)?)),
            "unmask" => Ok(SecurityOpt::Unmask(paths(value)?)),
            "label" => Ok(SecurityOpt::Label(value.into())),
            "apparmor" if value == "unconfined" => Ok(SecurityOpt::ApparmorUnconfined),
            // podman 4.3's words on a host without AppArmor.
            "apparmor" => Err(bad(format!(
                "apparmor profile {value:?} specified, but Apparmor is not enabled on this system"
            ))),
            _ => Err(bad(
                "one of no-new-privileges, seccomp=, mask=, unmask=, label=, apparmor=".into(),
            )),
        }
    }
}

/// The sysctls a container may set: those of the namespaces it owns
/// (podman's list: IPC's `kernel.*` ones, `fs.mqueue.*`, `net.*`).
const IPC_SYSCTLS: [&str; 8] = [
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// Which namespace a sysctl belongs to, or None when it is the host's.
pub(crate) fn sysctl_namespace(name: &str) -> Option<&'static str> {
    if IPC_SYSCTLS.contains(&name) || name.starts_with("fs.mqueue.") {
        Some("ipc")
    } else if name.starts_with("net.") {
        Some("net")
    } else if name == "kernel.hostname" || name == "kernel.domainname" {
        Some("uts")
    } else {
        None
    }
}

/// Parse `--sysctl NAME=VALUE`; a sysctl of no namespace is refused with
/// podman's words.
pub fn parse_sysctl(s: &str) -> Result<(String, String)> {
    let bad = |reason: String| Error::InvalidOption {
        option: "--sysctl",
        value: s.into(),
        reason,
    };
    let (name, value) = s
        .split_once('=')
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| bad("sysctl values must be in the form of KEY=VALUE".into()))?;
    if sysctl_namespace(name).is_none() {
        return Err(bad(format!("sysctl {name:?} is not allowed")));
    }
    Ok((name.to_string(), value.to_string()))
}

/// Parse `--expose PORT[-PORT][/PROTO]` into `PORT/PROTO` keys.
pub fn parse_expose(s: &str) -> Result<Vec<String>> {
    let bad = |reason: &str| Error::InvalidOption {
        option: "--expose",
        value: s.into(),
        reason: reason.into(),
    };
    let (ports, proto) = s.split_once('/').unwrap_or((s, "tcp"));
    if !["tcp", "udp", "sctp"].contains(&proto) {
        return Err(bad("the protocol is tcp, udp or sctp"));
    }
    let port = |p: &str| {
        p.parse::<u16>()
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| bad("invalid port or range"))
    };
    let (first, last) = match ports.split_once('-') {
        Some((a, b)) => (port(a)?, port(b)?),
        None => {
            let p = port(ports)?;
            (p, p)
        }
    };
    if first > last {
        return Err(bad("invalid port or range"));
    }
    Ok((first..=last).map(|p| format!("{p}/{proto}")).collect())
}

/// Parse `--oom-score-adj` (the kernel's range; podman leaves a value
/// out of it to fail in the runtime).
pub fn parse_oom_score_adj(s: &str) -> Result<i32> {
    s.trim()
        .parse::<i32>()
        .ok()
        .filter(|v| (-1000..=1000).contains(v))
        .ok_or_else(|| Error::InvalidOption {
            option: "--oom-score-adj",
            value: s.into(),
            reason: "must be a number from -1000 to 1000".into(),
        })
}

/// Whether a container name is one podman takes: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn check_name(name: &str) -> Result<()> {
    let mut chars = name.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
    match ok {
        true => Ok(()),
        false => Err(Error::InvalidOption {
            option: "--name",
            value: name.into(),
            reason: "names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*".into(),
        }),
    }
}

/// A `--cpuset-cpus` list (`0-2,4`) as the cpus it names.
pub(crate) fn cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in s.split(',') {
        let (a, b) = part.split_once('-').unwrap_or((part, part));
        let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
        if a > b {
            return None;
        }
        cpus.extend(a..=b);
    }
    Some(cpus)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices() {
        let d = DeviceMapping::parse("/dev/zero").unwrap();
        assert_eq!(
            (d.container.as_str(), d.permissions.as_str()),
            ("/dev/zero", "rwm")
        );
        let d = DeviceMapping::parse("/dev/zero:/dev/z:r").unwrap();
        assert_eq!(
            (d.container.as_str(), d.permissions.as_str()),
            ("/dev/z", "r")
        );
        let d = DeviceMapping::parse("/dev/zero:rw").unwrap();
        assert_eq!(
            (d.container.as_str(), d.permissions.as_str()),
            ("/dev/zero", "rw")
        );
        for bad in [
            "/dev/zero:z",
            "/dev/zero:/dev/z:q",
            "/dev/a:/dev/b:/dev/c:rw",
            "zero",
        ] {
            assert!(DeviceMapping::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn namespaces() {
        assert_eq!(
            NamespaceMode::parse("--pid", "host").unwrap(),
            NamespaceMode::Host
        );
        assert_eq!(
            NamespaceMode::parse("--pid", "container:a").unwrap(),
            NamespaceMode::Container("a".into())
        );
        assert!(NamespaceMode::parse("--pid", "bogus").is_err());
        assert!(NamespaceMode::parse("--pid", "container:").is_err());
    }

    #[test]
    fn sysctls_of_namespaces_only() {
        assert!(parse_sysctl("kernel.shmmax=1000").is_ok());
        assert!(parse_sysctl("net.ipv4.ip_forward=1").is_ok());
        assert!(parse_sysctl("fs.mqueue.msg_max=20").is_ok());
        let e = parse_sysctl("vm.swappiness=1").unwrap_err().to_string();
        assert!(e.contains("is not allowed"), "{e}");
        assert!(parse_sysctl("bad").is_err());
    }

    #[test]
    fn security_opts() {
        use SecurityOpt as S;
        assert_eq!(
            SecurityOpt::parse("no-new-privileges").unwrap(),
            S::NoNewPrivileges(true)
        );
        assert_eq!(
            SecurityOpt::parse("seccomp:unconfined").unwrap(),
            S::SeccompUnconfined
        );
        assert_eq!(
            SecurityOpt::parse("mask=/a:/b").unwrap(),
            S::Mask(vec!["/a".into(), "/b".into()])
        );
        assert_eq!(
            SecurityOpt::parse("unmask=ALL").unwrap(),
            S::Unmask(vec!["ALL".into()])
        );
        assert!(SecurityOpt::parse("apparmor=unconfined").is_ok());
        assert!(SecurityOpt::parse("label=disable").is_ok());
        let e = SecurityOpt::parse("apparmor=foo").unwrap_err().to_string();
        assert!(e.contains("Apparmor is not enabled"), "{e}");
        assert!(SecurityOpt::parse("bogus").is_err());
        assert!(SecurityOpt::parse("mask=rel").is_err());
    }

    #[test]
    fn exposes_names_and_lists() {
        assert_eq!(parse_expose("80").unwrap(), ["80/tcp"]);
        assert_eq!(parse_expose("90-91/udp").unwrap(), ["90/udp", "91/udp"]);
        assert!(parse_expose("bogus").is_err() && parse_expose("80/xx").is_err());
        assert!(check_name("ok.name-1_x").is_ok());
        assert!(check_name("-bad").is_err() && check_name("a b").is_err());
        assert!(check_name("").is_err());
        assert_eq!(cpu_list("0-2,4"), Some(vec![0, 1, 2, 4]));
        assert_eq!(cpu_list("x"), None);
        assert_eq!(parse_oom_score_adj("-1000").unwrap(), -1000);
        assert!(parse_oom_score_adj("5000").is_err());
    }
}
