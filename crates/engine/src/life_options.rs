//! The `run`/`create` options about a container's life and its name
//! service: `--restart`, `--add-host`, `--dns`, `--dns-search`,
//! `--dns-option`, `--no-hosts`. Parsed and checked with podman 4.3's
//! rules and words, so a script's mistake reads as it does under podman.

use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// A bad lifecycle or name-service option, in podman's words.
#[derive(Debug, thiserror::Error)]
pub enum LifeOptionError {
    /// `--restart` with an unknown policy.
    #[error("{0:?} is not a valid restart policy: invalid argument")]
    UnknownPolicy(String),
    /// `--restart on-failure:x`.
    #[error("parsing restart policy retry count: strconv.Atoi: parsing {0:?}: invalid syntax")]
    RetryCount(String),
    /// `--restart on-failure:0` or below.
    #[error("must specify restart policy retry count as a number greater than 0")]
    RetryNotPositive,
    /// `--restart always:3`.
    #[error("restart policy retries can only be specified with on-failure restart policy")]
    RetriesWithoutOnFailure,
    /// `--rm` with a policy that restarts.
    #[error(
        "the --rm option conflicts with --restart, when the restartPolicy is not \"\" and \"no\""
    )]
    RemoveConflict,
    /// `--add-host` without `HOST:` or `:IP`.
    #[error("bad format for add-host: {0:?}")]
    AddHostFormat(String),
    /// `--add-host HOST:not-an-ip`.
    #[error("invalid IP address in add-host: {0:?}")]
    AddHostIp(String),
    /// `--dns not-an-ip`.
    #[error("{0} is not an ip address")]
    DnsIp(String),
    /// `--no-hosts` with `--add-host`.
    #[error("--no-hosts and --add-host cannot be set together")]
    NoHostsConflict,
    /// A `--health-*` duration that is not Go's syntax.
    #[error("invalid healthcheck-{what}: time: invalid duration {value:?}")]
    HealthDuration {
        /// interval, timeout or start-period.
        what: &'static str,
        /// As given.
        value: String,
    },
    /// `--health-retries` under 1.
    #[error("healthcheck-retries must be greater than 0")]
    HealthRetries,
    /// `--health-on-failure` with an unknown action.
    #[error("invalid on-failure action {0:?} for health check: supported actions are: none,kill,restart,stop")]
    HealthOnFailure(String),
    /// `--health-timeout` under a second.
    #[error("healthcheck-timeout must be at least 1 second")]
    HealthTimeout,
    /// A negative `--health-start-period`.
    #[error("healthcheck-start-period must be 0 seconds or greater")]
    HealthStartPeriod,
    /// A `--health-cmd` JSON array that does not parse.
    #[error("invalid --health-cmd {0:?}: {1}")]
    HealthCmd(String, String),
    /// `--sdnotify` with an unknown mode.
    #[error("invalid sdnotify value {0:?}: must be conmon, container or ignore")]
    SdNotify(String),
    /// `healthcheck run` of a container without a check.
    #[error("container has no defined healthcheck")]
    NoHealthcheck,
}

/// When the container's monitor starts its process again after an exit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicyName {
    /// Never (podman's default).
    #[default]
    No,
    /// After a non-zero exit, at most `max_retries` times (0: no limit).
    OnFailure,
    /// After every exit that `stop`/`kill` did not cause.
    Always,
    /// As `always` (podman treats them alike: a stop by the user is never
    /// restarted, and nothing restarts containers at boot).
    UnlessStopped,
}

/// `--restart NAME[:RETRIES]`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RestartPolicy {
    /// The policy.
    pub name: RestartPolicyName,
    /// `on-failure:N`'s N; 0 is no limit.
    pub max_retries: u32,
}

impl RestartPolicy {
    /// Parse `--restart` as podman 4.3 does (an empty value is `no`).
    pub fn parse(s: &str) -> Result<RestartPolicy, LifeOptionError> {
        let (name, retries) = match s.split_once(':') {
            Some((n, r)) => (n, Some(r)),
            None => (s, None),
        };
        let name = match name {
            "" | "no" => RestartPolicyName::No,
            "on-failure" => RestartPolicyName::OnFailure,
            "always" => RestartPolicyName::Always,
            "unless-stopped" => RestartPolicyName::UnlessStopped,
            _ => return Err(LifeOptionError::UnknownPolicy(name.into())),
        };
        let max_retries = match retries {
            None => 0,
            Some(_) if name != RestartPolicyName::OnFailure => {
                return Err(LifeOptionError::RetriesWithoutOnFailure)
            }
            Some(r) => {
                let n: i64 = r
                    .parse()
                    .map_err(|_| LifeOptionError::RetryCount(r.into()))?;
                if n <= 0 {
                    return Err(LifeOptionError::RetryNotPositive);
                }
                u32::try_from(n).map_err(|_| LifeOptionError::RetryCount(r.into()))?
            }
        };
        Ok(RestartPolicy { name, max_retries })
    }

    /// podman's name in inspect's `HostConfig.RestartPolicy.Name` (`""`
    /// for none).
    pub fn inspect_name(&self) -> &'static str {
        match self.name {
            RestartPolicyName::No => "",
            RestartPolicyName::OnFailure => "on-failure",
            RestartPolicyName::Always => "always",
            RestartPolicyName::UnlessStopped => "unless-stopped",
        }
    }

    /// Whether an exit with `code` is started again, after `restarts`
    /// restarts so far (podman's handleRestartPolicy).
    pub fn restarts_after(&self, code: Option<i32>, restarts: u32) -> bool {
        match self.name {
            RestartPolicyName::No => false,
            RestartPolicyName::Always | RestartPolicyName::UnlessStopped => true,
            RestartPolicyName::OnFailure => {
                code != Some(0) && (self.max_retries == 0 || restarts < self.max_retries)
            }
        }
    }
}

/// The lifecycle and name-service options, kept with the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LifeOptions {
    /// `--restart`.
    pub restart: RestartPolicy,
    /// `--add-host HOST:IP`, checked; first in `/etc/hosts` as in podman.
    pub add_hosts: Vec<String>,
    /// `--dns`: replaces the host's nameservers.
    pub dns: Vec<String>,
    /// `--dns-search`: replaces the host's search domains (`.`: none).
    pub dns_search: Vec<String>,
    /// `--dns-option`: replaces the host's options.
    pub dns_options: Vec<String>,
    /// `--no-hosts`: the image's own `/etc/hosts` is left in place.
    pub no_hosts: bool,
    /// `--health-cmd` and companions, or `--no-healthcheck` (`NONE`).
    pub healthcheck: Option<crate::health::Healthcheck>,
    /// `--health-on-failure`.
    pub health_on_failure: crate::health_action::HealthOnFailure,
    /// `--sdnotify` with the caller's `NOTIFY_SOCKET` (see `sd_notify`).
    pub sd_notify: Option<crate::sd_notify::SdNotify>,
}

/// Check `--add-host HOST:IP` (IPv6 addresses keep their colons: only
/// the first one splits).
pub fn check_add_host(s: &str) -> Result<String, LifeOptionError> {
    match s.split_once(':') {
        Some((host, ip)) if !host.is_empty() => {
            ip.parse::<IpAddr>()
                .map_err(|_| LifeOptionError::AddHostIp(ip.into()))?;
            Ok(s.to_string())
        }
        _ => Err(LifeOptionError::AddHostFormat(s.into())),
    }
}

/// Check `--dns IP`.
pub fn check_dns(s: &str) -> Result<String, LifeOptionError> {
    s.parse::<IpAddr>()
        .map(|_| s.to_string())
        .map_err(|_| LifeOptionError::DnsIp(s.into()))
}

impl LifeOptions {
    /// The checks across options, made at create (`remove` is `--rm`).
    pub fn check(&self, remove: bool) -> Result<(), LifeOptionError> {
        if remove && self.restart.name != RestartPolicyName::No {
            return Err(LifeOptionError::RemoveConflict);
        }
        if self.no_hosts && !self.add_hosts.is_empty() {
            return Err(LifeOptionError::NoHostsConflict);
        }
        Ok(())
    }

    /// The `--add-host` lines of `/etc/hosts` (`IP\tHOST`).
    pub(crate) fn hosts_lines(&self) -> String {
        self.add_hosts
            .iter()
            .filter_map(|h| h.split_once(':'))
            .map(|(host, ip)| format!("{ip}\t{host}\n"))
            .collect()
    }

    /// `resolv.conf` from the host's `text` with `--dns`, `--dns-search`
    /// and `--dns-option` each replacing the lines of its kind.
    pub(crate) fn resolv_conf(&self, text: &str) -> String {
        let keep = |l: &&str| {
            let key = l.split_whitespace().next().unwrap_or("");
            !(key == "nameserver" && !self.dns.is_empty()
                || (key == "search" || key == "domain") && !self.dns_search.is_empty()
                || key == "options" && !self.dns_options.is_empty())
        };
        let mut out = String::new();
        let search: Vec<&str> = self
            .dns_search
            .iter()
            .map(String::as_str)
            .filter(|d| *d != ".")
            .collect();
        if !search.is_empty() {
            out.push_str(&format!("search {}\n", search.join(" ")));
        }
        for l in text.lines().filter(keep) {
            out.push_str(l);
            out.push('\n');
        }
        for ns in &self.dns {
            out.push_str(&format!("nameserver {ns}\n"));
        }
        if !self.dns_options.is_empty() {
            out.push_str(&format!("options {}\n", self.dns_options.join(" ")));
        }
        out
    }
}

/// With `--no-hosts`, the bundle's `/etc/hosts` is not mounted: the
/// image's own file (or none) is what the container sees, as in podman.
pub(crate) fn apply_no_hosts(config: &mut oci_spec::runtime::Spec, life: &LifeOptions) {
    if !life.no_hosts {
        return;
    }
    if let Some(mounts) = config.mounts().clone() {
        let kept = mounts
            .into_iter()
            .filter(|m| m.destination() != std::path::Path::new("/etc/hosts"))
            .collect();
        config.set_mounts(Some(kept));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies() {
        let p = RestartPolicy::parse("on-failure:3").unwrap();
        assert_eq!((p.name, p.max_retries), (RestartPolicyName::OnFailure, 3));
        assert!(p.restarts_after(Some(1), 2) && !p.restarts_after(Some(1), 3));
        assert!(!p.restarts_after(Some(0), 0));
        let p = RestartPolicy::parse("always").unwrap();
        assert!(p.restarts_after(Some(0), 100));
        assert_eq!(
            RestartPolicy::parse("").unwrap().name,
            RestartPolicyName::No
        );
        assert!(RestartPolicy::parse("on-failure")
            .unwrap()
            .restarts_after(Some(2), 99));
        let errs = [
            (
                "bogus",
                "\"bogus\" is not a valid restart policy: invalid argument",
            ),
            (
                "on-failure:x",
                "parsing restart policy retry count: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                "on-failure:-1",
                "must specify restart policy retry count as a number greater than 0",
            ),
            (
                "always:3",
                "restart policy retries can only be specified with on-failure restart policy",
            ),
        ];
        for (s, msg) in errs {
            assert_eq!(RestartPolicy::parse(s).unwrap_err().to_string(), msg, "{s}");
        }
    }

    #[test]
    fn hosts_and_dns() {
        assert!(check_add_host("foo:1.2.3.4").is_ok());
        assert!(check_add_host("v6:::1").is_ok());
        for bad in ["foo", ":1.2.3.4"] {
            assert!(matches!(
                check_add_host(bad),
                Err(LifeOptionError::AddHostFormat(_))
            ));
        }
        assert!(matches!(
            check_add_host("foo:bar"),
            Err(LifeOptionError::AddHostIp(_))
        ));
        assert!(check_dns("bogus").is_err() && check_dns("::1").is_ok());
        let life = LifeOptions {
            dns: vec!["1.2.3.4".into()],
            dns_search: vec![".".into()],
            dns_options: vec!["ndots:2".into()],
            ..Default::default()
        };
        let host = "search example.com\nnameserver 10.0.0.1\noptions edns0\n# kept\n";
        assert_eq!(
            life.resolv_conf(host),
            "# kept\nnameserver 1.2.3.4\noptions ndots:2\n"
        );
        let life = LifeOptions {
            dns_search: vec!["a.com".into()],
            ..Default::default()
        };
        assert_eq!(
            life.resolv_conf(host),
            "search a.com\nnameserver 10.0.0.1\noptions edns0\n# kept\n"
        );
    }
}
