//! The `run`/`create` flags that shape the container's config.json
//! further, with podman 4.3's syntax: resources, sysctls, devices,
//! namespace modes, supplementary groups, `--security-opt`, annotations,
//! the time zone, exposed ports, the stop timeout and the platform. They
//! become the engine's [`SpecOptions`]; the engine checks what depends on
//! the rest of the container.

use anyhow::Context as _;
use berth_engine::options::parse_size;
use berth_engine::spec_options::{
    parse_expose, parse_oom_score_adj, parse_sysctl, DeviceMapping, NamespaceMode, SecurityOpt,
    SpecOptions,
};
use berth_engine::CreateOptions;
use clap::Args;

/// Flags of `create` and `run` that end in [`SpecOptions`].
#[derive(Args, Debug, Default)]
pub struct SpecFlags {
    /// Memory plus swap limit (e.g. 1g; -1 for unlimited); needs --memory.
    #[arg(long, allow_hyphen_values = true)]
    pub memory_swap: Option<String>,
    /// CPU shares (relative weight). No `-c` short form: clap would take
    /// it from the command after the image (`run IMAGE sh -c …`).
    #[arg(long)]
    pub cpu_shares: Option<u64>,
    /// CPUs the container may use (0-3, 0,1).
    #[arg(long)]
    pub cpuset_cpus: Option<String>,
    /// Size of /dev/shm (e.g. 64m).
    #[arg(long)]
    pub shm_size: Option<String>,
    /// A namespaced kernel parameter: NAME=VALUE.
    #[arg(long)]
    pub sysctl: Vec<String>,
    /// The OOM killer's score adjustment (-1000 to 1000).
    #[arg(long, allow_hyphen_values = true)]
    pub oom_score_adj: Option<String>,
    /// A host device: HOST[:CONTAINER][:PERMISSIONS] (r, w, m).
    #[arg(long)]
    pub device: Vec<String>,
    /// PID namespace: host, private or container:NAME.
    #[arg(long)]
    pub pid: Option<String>,
    /// IPC namespace: host, private or container:NAME.
    #[arg(long)]
    pub ipc: Option<String>,
    /// UTS namespace: host, private or container:NAME.
    #[arg(long)]
    pub uts: Option<String>,
    /// Cgroup namespace: host, private or container:NAME.
    #[arg(long)]
    pub cgroupns: Option<String>,
    /// A supplementary group: a gid or a name in the image's /etc/group.
    #[arg(long)]
    pub group_add: Vec<String>,
    /// An annotation: KEY=VALUE.
    #[arg(long)]
    pub annotation: Vec<String>,
    /// Time zone of the container: a zone of the host's zoneinfo, or local.
    #[arg(long)]
    pub tz: Option<String>,
    /// Expose a port or range: PORT[-PORT][/PROTO] (published by -P).
    #[arg(long)]
    pub expose: Vec<String>,
    /// Seconds `stop` waits before SIGKILL (default 10).
    #[arg(long)]
    pub stop_timeout: Option<u64>,
    /// The image's platform: only this host's (os/arch[/variant]).
    #[arg(long)]
    pub platform: Option<String>,
}

/// Go's name of the architecture we run on, as image platforms name it.
fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

/// `--platform`: berth runs images of this host's platform only.
fn check_platform(p: &str) -> anyhow::Result<()> {
    let mut parts = p.split('/');
    let (os, arch) = (parts.next().unwrap_or(""), parts.next());
    let host = format!("linux/{}", host_arch());
    anyhow::ensure!(
        os == "linux" && arch.is_none_or(|a| a == host_arch()),
        "--platform {p}: berth runs images of this host's platform ({host}) only"
    );
    Ok(())
}

fn namespace(option: &'static str, v: &Option<String>) -> anyhow::Result<Option<NamespaceMode>> {
    Ok(v.as_deref()
        .map(|s| NamespaceMode::parse(option, s))
        .transpose()?)
}

fn key_values(list: &[String]) -> std::collections::BTreeMap<String, String> {
    list.iter()
        .map(|l| match l.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (l.clone(), String::new()),
        })
        .collect()
}

impl SpecFlags {
    /// Fill `opts.spec` (and `seccomp_unconfined`) from these flags and
    /// the `--security-opt` list.
    pub fn apply(&self, opts: &mut CreateOptions, security_opt: &[String]) -> anyhow::Result<()> {
        if let Some(p) = &self.platform {
            check_platform(p)?;
        }
        let mut s = SpecOptions {
            memory_swap: self
                .memory_swap
                .as_deref()
                .map(|v| match v.trim() {
                    "-1" => Ok(-1),
                    v => parse_size(v).map_err(|_| {
                        anyhow::anyhow!(
                            "invalid --memory-swap {v:?}: must be a size (e.g. 1g) or -1"
                        )
                    }),
                })
                .transpose()?,
            cpu_shares: self.cpu_shares,
            cpuset_cpus: self.cpuset_cpus.clone(),
            shm_size: self
                .shm_size
                .as_deref()
                .map(|v| {
                    parse_size(v).map_err(|_| {
                        anyhow::anyhow!("unable to translate --shm-size: invalid size: {v:?}")
                    })
                })
                .transpose()?,
            oom_score_adj: self
                .oom_score_adj
                .as_deref()
                .map(parse_oom_score_adj)
                .transpose()?,
            devices: self
                .device
                .iter()
                .map(|d| DeviceMapping::parse(d))
                .collect::<Result<_, _>>()?,
            pid: namespace("--pid", &self.pid)?,
            ipc: namespace("--ipc", &self.ipc)?,
            uts: namespace("--uts", &self.uts)?,
            cgroupns: namespace("--cgroupns", &self.cgroupns)?,
            group_add: self.group_add.clone(),
            annotations: key_values(&self.annotation),
            timezone: self.tz.clone(),
            stop_timeout: self.stop_timeout,
            ..Default::default()
        };
        for v in &self.sysctl {
            let (k, v) = parse_sysctl(v)?;
            s.sysctls.insert(k, v);
        }
        for e in &self.expose {
            for key in parse_expose(e)? {
                if !s.expose.contains(&key) {
                    s.expose.push(key);
                }
            }
        }
        for o in security_opt {
            match SecurityOpt::parse(o)? {
                SecurityOpt::SeccompUnconfined => opts.seccomp_unconfined = true,
                SecurityOpt::SeccompProfile(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("opening seccomp profile {path} failed"))?;
                    s.security.seccomp_profile = Some(text);
                }
                SecurityOpt::NoNewPrivileges(on) => s.security.no_new_privileges = on,
                SecurityOpt::Mask(paths) => s.security.mask.extend(paths),
                SecurityOpt::Unmask(paths) => s.security.unmask.extend(paths),
                SecurityOpt::Label(l) => {
                    // podman ignores labels on a host without SELinux.
                    tracing::debug!("SELinux is not enabled: --security-opt label={l} ignored");
                    s.security.label.push(l);
                }
                SecurityOpt::ApparmorUnconfined => {}
            }
        }
        opts.spec = s;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        assert!(check_platform(&format!("linux/{}", host_arch())).is_ok());
        assert!(check_platform("linux").is_ok());
        let e = check_platform("linux/s390x-nope").unwrap_err().to_string();
        assert!(e.contains("this host's platform"), "{e}");
        assert!(check_platform("windows/amd64").is_err());
    }
}
