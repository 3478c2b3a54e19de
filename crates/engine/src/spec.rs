//! The OCI `config.json` of a container: the image config merged with the
//! user's options, under podman's default confinement.

use crate::confinement;
use crate::error::{Error, Result};
use crate::image_config::ResolvedUser;
use crate::options::{CreateOptions, NetworkMode};
use oci_spec::image::Config as ImageConfig;
use oci_spec::runtime::{
    Capabilities, Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder,
    LinuxDeviceCgroupBuilder, LinuxMemoryBuilder, LinuxNamespace, LinuxNamespaceBuilder,
    LinuxNamespaceType, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder, Mount,
    MountBuilder, PosixRlimit, PosixRlimitBuilder, PosixRlimitType, Process, ProcessBuilder,
    RootBuilder, Spec, SpecBuilder, UserBuilder,
};
use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

/// What [`build`] needs besides the options and image config.
pub struct SpecInputs<'a> {
    /// The container id.
    pub id: &'a str,
    /// The mounted root filesystem.
    pub rootfs: &'a Path,
    /// The directory holding `hosts`, `hostname`, `resolv.conf`.
    pub files: &'a Path,
    /// The absolute cgroupsPath.
    pub cgroups_path: &'a str,
    /// The hostname inside.
    pub hostname: &'a str,
    /// The user to run as.
    pub user: &'a ResolvedUser,
    /// The pinned network namespace to join (bridge networking).
    pub netns: Option<&'a Path>,
}

/// The process's argv: `--entrypoint` replaces the image's Entrypoint and
/// drops its Cmd; a command given replaces the Cmd.
pub fn command(opts: &CreateOptions, image: &ImageConfig) -> Vec<String> {
    let (entry, cmd) = entrypoint_and_cmd(opts, image);
    entry.into_iter().chain(cmd).collect()
}

/// The Entrypoint and the Cmd of [`command`], apart (as `commit` keeps them).
pub fn entrypoint_and_cmd(opts: &CreateOptions, image: &ImageConfig) -> (Vec<String>, Vec<String>) {
    let (entry, default_cmd) = match &opts.entrypoint {
        Some(e) if e.is_empty() => (Vec::new(), Vec::new()),
        // podman: a JSON array is the whole entrypoint, anything else one word.
        Some(e) => (
            serde_json::from_str::<Vec<String>>(e).unwrap_or_else(|_| vec![e.clone()]),
            Vec::new(),
        ),
        None => (
            image.entrypoint().clone().unwrap_or_default(),
            image.cmd().clone().unwrap_or_default(),
        ),
    };
    let cmd = if opts.command.is_empty() {
        default_cmd
    } else {
        opts.command.clone()
    };
    (entry, cmd)
}

/// The environment: PATH and container=berth, then the host's configured
/// defaults (containers.conf `env`), then the image's, then the user's
/// (later names win, podman's order), then HOME when nobody set it.
pub fn environment(
    opts: &CreateOptions,
    image: &ImageConfig,
    user: &ResolvedUser,
    hostname: &str,
) -> Vec<String> {
    let mut env = merged_environment(opts, image, Some(hostname));
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!(
            "HOME={}",
            user.home.clone().unwrap_or_else(|| "/".into())
        ));
    }
    env
}

/// [`environment`] without what only a run adds (HOSTNAME, a default
/// HOME) when `hostname` is None: what `commit` keeps, as podman.
pub fn merged_environment(
    opts: &CreateOptions,
    image: &ImageConfig,
    hostname: Option<&str>,
) -> Vec<String> {
    let mut env: Vec<String> = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        "container=berth".into(),
    ];
    if let Some(h) = hostname {
        env.push(format!("HOSTNAME={h}"));
    }
    if opts.tty {
        env.push("TERM=xterm".into());
    }
    let set = |env: &mut Vec<String>, entry: &str| {
        let name = entry.split('=').next().unwrap_or(entry);
        env.retain(|e| e.split('=').next() != Some(name));
        env.push(entry.to_string());
    };
    for e in opts
        .defaults
        .env
        .iter()
        .chain(image.env().iter().flatten())
        .chain(&opts.env)
    {
        set(&mut env, e);
    }
    env
}

/// What oci-spec's builders refuse, as the engine's error.
fn built<T>(what: &'static str, r: std::result::Result<T, oci_spec::OciSpecError>) -> Result<T> {
    r.map_err(|source| Error::Spec { what, source })
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Result<Mount> {
    built(
        "mounts",
        MountBuilder::default()
            .destination(dest)
            .typ(typ)
            .source(source)
            .options(options.iter().map(|o| o.to_string()).collect::<Vec<_>>())
            .build(),
    )
}

fn bind(dest: &str, source: &Path, ro: bool) -> Result<Mount> {
    let mut o = vec!["rbind", "rprivate", "nosuid", "nodev"];
    if ro {
        o.push("ro");
    }
    mount(dest, "bind", &source.to_string_lossy(), &o)
}

fn mounts(opts: &CreateOptions, files: &Path) -> Result<Vec<Mount>> {
    let sys_ro: &[&str] = if opts.privileged {
        &["nosuid", "noexec", "nodev"]
    } else {
        &["nosuid", "noexec", "nodev", "ro"]
    };
    let mut m = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
        mount("/sys", "sysfs", "sysfs", sys_ro)?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        )?,
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        )?,
        bind("/etc/hosts", &files.join("hosts"), false)?,
        bind("/etc/hostname", &files.join("hostname"), false)?,
        bind("/etc/resolv.conf", &files.join("resolv.conf"), false)?,
    ];
    if opts.read_only {
        // podman's --read-only-tmpfs default: scratch space stays writable.
        for d in ["/tmp", "/var/tmp", "/run"] {
            if !opts.tmpfs.iter().any(|t| t.split(':').next() == Some(d)) {
                m.push(mount(
                    d,
                    "tmpfs",
                    "tmpfs",
                    &["rw", "rprivate", "nosuid", "nodev", "tmpcopyup"],
                )?);
            }
        }
    }
    for t in &opts.tmpfs {
        let (dest, o) = t.split_once(':').unwrap_or((t.as_str(), ""));
        if !dest.starts_with('/') {
            return Err(Error::InvalidOption {
                option: "--tmpfs",
                value: t.clone(),
                reason: "the path must be absolute".into(),
            });
        }
        let mut options: Vec<&str> = vec!["rw", "nosuid", "nodev"];
        options.extend(o.split(',').filter(|s| !s.is_empty()));
        m.push(mount(dest, "tmpfs", "tmpfs", &options)?);
    }
    for v in &opts.volumes {
        m.push(bind(&v.destination, Path::new(&v.source), v.readonly)?);
    }
    Ok(m)
}

/// The `linux.resources` for these options: every device denied (the
/// runtime allows its default set over this), and the limits asked for.
fn resources(opts: &CreateOptions) -> Result<LinuxResources> {
    let deny_all = built(
        "linux.resources.devices",
        LinuxDeviceCgroupBuilder::default()
            .allow(false)
            .access("rwm")
            .build(),
    )?;
    let mut r = LinuxResourcesBuilder::default().devices(vec![deny_all]);
    if let Some(m) = opts.memory {
        r = r.memory(built(
            "linux.resources.memory",
            LinuxMemoryBuilder::default().limit(m).build(),
        )?);
    }
    if let Some(c) = opts.cpus {
        let period = 100_000u64;
        r = r.cpu(built(
            "linux.resources.cpu",
            LinuxCpuBuilder::default()
                .quota((c * period as f64) as i64)
                .period(period)
                .build(),
        )?);
    }
    if let Some(p) = opts.pids_limit {
        r = r.pids(built(
            "linux.resources.pids",
            LinuxPidsBuilder::default().limit(p).build(),
        )?);
    }
    built("linux.resources", r.build())
}

/// `process.rlimits`: the configured defaults, each replaced by a
/// `--ulimit` of the same name.
fn rlimits(opts: &CreateOptions) -> Result<Vec<PosixRlimit>> {
    let mut limits: Vec<&crate::options::Ulimit> = Vec::new();
    for u in opts.defaults.ulimits.iter().chain(&opts.ulimits) {
        limits.retain(|l| l.name != u.name);
        limits.push(u);
    }
    limits
        .iter()
        .map(|u| {
            let typ =
                PosixRlimitType::from_str(&u.rlimit_type()).map_err(|_| Error::InvalidOption {
                    option: "--ulimit",
                    value: u.name.clone(),
                    reason: "not a limit the OCI runtime spec knows".into(),
                })?;
            built(
                "process.rlimits",
                PosixRlimitBuilder::default()
                    .typ(typ)
                    .soft(u.soft)
                    .hard(u.hard)
                    .build(),
            )
        })
        .collect()
}

/// `CAP_` names (as `confinement` checked them) as a typed set.
fn capability_set(names: &[String]) -> Result<Capabilities> {
    names
        .iter()
        .map(|n| {
            Capability::from_str(n.strip_prefix("CAP_").unwrap_or(n)).map_err(|_| {
                Error::InvalidOption {
                    option: "capability",
                    value: n.clone(),
                    reason: "not a capability the OCI runtime spec knows".into(),
                }
            })
        })
        .collect()
}

fn namespace(typ: LinuxNamespaceType, path: Option<&Path>) -> Result<LinuxNamespace> {
    let ns = LinuxNamespaceBuilder::default().typ(typ);
    let ns = match path {
        Some(p) => ns.path(p),
        None => ns,
    };
    built("linux.namespaces", ns.build())
}

fn namespaces(opts: &CreateOptions, netns: Option<&Path>) -> Result<Vec<LinuxNamespace>> {
    use LinuxNamespaceType as T;
    let mut ns = vec![
        namespace(T::Pid, None)?,
        namespace(T::Ipc, None)?,
        namespace(T::Uts, None)?,
        namespace(T::Mount, None)?,
    ];
    match opts.network {
        NetworkMode::None => ns.push(namespace(T::Network, None)?),
        NetworkMode::Host => {}
        NetworkMode::Bridge | NetworkMode::Pasta => ns.push(namespace(T::Network, netns)?),
    }
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        // podman's default on cgroup v2; v1 hosts keep the host's.
        ns.push(namespace(T::Cgroup, None)?);
    }
    Ok(ns)
}

fn process(
    opts: &CreateOptions,
    image: &ImageConfig,
    inp: &SpecInputs<'_>,
    caps: &Capabilities,
) -> Result<Process> {
    let cwd = opts
        .workdir
        .clone()
        .or_else(|| image.working_dir().clone().filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".into());
    let user = built(
        "process.user",
        UserBuilder::default()
            .uid(inp.user.uid)
            .gid(inp.user.gid)
            .additional_gids(inp.user.additional_gids.clone())
            .build(),
    )?;
    let capabilities = built(
        "process.capabilities",
        LinuxCapabilitiesBuilder::default()
            .bounding(caps.clone())
            .effective(caps.clone())
            .permitted(caps.clone())
            .inheritable(Capabilities::new())
            .ambient(Capabilities::new())
            .build(),
    )?;
    // Every field oci-spec's Process::default() fills (a shell, rlimits,
    // noNewPrivileges) is set here or cleared below.
    let mut process = built(
        "process",
        ProcessBuilder::default()
            .terminal(opts.tty)
            .user(user)
            .args(command(opts, image))
            .env(environment(opts, image, inp.user, inp.hostname))
            .cwd(cwd)
            .capabilities(capabilities)
            .no_new_privileges(false)
            .build(),
    )?;
    let rlimits = rlimits(opts)?;
    process.set_rlimits((!rlimits.is_empty()).then_some(rlimits));
    // A detached terminal would start at 0×0 (busybox `stty size` then
    // fails); an attached one is resized to the user's at once.
    process.set_console_size(match opts.tty {
        true => Some(console_size(24, 80)?),
        false => None,
    });
    Ok(process)
}

/// `process.consoleSize`.
pub(crate) fn console_size(height: u64, width: u64) -> Result<oci_spec::runtime::Box> {
    built(
        "process.consoleSize",
        oci_spec::runtime::BoxBuilder::default()
            .height(height)
            .width(width)
            .build(),
    )
}

/// Build the whole config.json.
pub fn build(opts: &CreateOptions, image: &ImageConfig, inp: &SpecInputs<'_>) -> Result<Spec> {
    let cap_names = confinement::capabilities_over(
        opts.defaults.capabilities.as_deref(),
        opts.privileged,
        &opts.cap_add,
        &opts.cap_drop,
    )?;
    let caps = capability_set(&cap_names)?;
    let linux = LinuxBuilder::default()
        .cgroups_path(inp.cgroups_path)
        .resources(resources(opts)?)
        .namespaces(namespaces(opts, inp.netns)?)
        .build();
    let mut linux = built("linux", linux)?;
    // Linux::default() masks podman-like paths; only confined containers get them.
    let confined = !opts.privileged;
    linux.set_masked_paths(confined.then(|| to_strings(&confinement::MASKED_PATHS)));
    linux.set_readonly_paths(confined.then(|| to_strings(&confinement::READONLY_PATHS)));
    linux.set_seccomp(match confined && !opts.seccomp_unconfined {
        true => Some(crate::seccomp_profile::for_capabilities(&cap_names)),
        false => None,
    });
    let root = built(
        "root",
        RootBuilder::default()
            .path(inp.rootfs)
            .readonly(opts.read_only)
            .build(),
    )?;
    built(
        "spec",
        SpecBuilder::default()
            .version("1.0.2")
            .process(process(opts, image, inp, &caps)?)
            .root(root)
            .hostname(inp.hostname)
            .mounts(mounts(opts, inp.files)?)
            .linux(linux)
            .annotations(HashMap::from([(
                "io.berth.container.id".to_string(),
                inp.id.to_string(),
            )]))
            .build(),
    )
}

fn to_strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> ResolvedUser {
        ResolvedUser {
            uid: 0,
            gid: 0,
            additional_gids: vec![],
            home: Some("/root".into()),
        }
    }

    #[test]
    fn command_merging() {
        let mut img = ImageConfig::default();
        img.set_entrypoint(Some(vec!["/ep".into()]));
        img.set_cmd(Some(vec!["a".into()]));
        let mut o = CreateOptions::default();
        assert_eq!(command(&o, &img), ["/ep", "a"]);
        o.command = vec!["b".into()];
        assert_eq!(command(&o, &img), ["/ep", "b"]);
        o.entrypoint = Some(String::new());
        assert_eq!(command(&o, &img), ["b"]);
        o.command.clear();
        o.entrypoint = Some("/x".into());
        assert_eq!(command(&o, &img), ["/x"]);
    }

    #[test]
    fn env_merging() {
        let mut img = ImageConfig::default();
        img.set_env(Some(vec!["PATH=/img".into(), "A=1".into()]));
        let o = CreateOptions {
            env: vec!["A=2".into(), "B=3".into()],
            ..Default::default()
        };
        let env = environment(&o, &img, &user(), "h");
        assert!(env.contains(&"PATH=/img".to_string()));
        assert!(env.contains(&"A=2".to_string()));
        assert!(!env.contains(&"A=1".to_string()));
        assert!(env.contains(&"HOME=/root".to_string()));
    }

    #[test]
    fn configured_defaults_sit_below_image_and_options() {
        use crate::options::{ContainerDefaults, Ulimit};
        let mut img = ImageConfig::default();
        img.set_env(Some(vec!["FROM_IMAGE=img".into(), "BOTH=img".into()]));
        let o = CreateOptions {
            env: vec!["BOTH=user".into()],
            ulimits: vec![Ulimit::parse("nofile=100:200").unwrap()],
            defaults: ContainerDefaults {
                capabilities: Some(vec!["CHOWN".into(), "NET_RAW".into()]),
                ulimits: vec![
                    Ulimit::parse("nofile=10:20").unwrap(),
                    Ulimit::parse("nproc=30").unwrap(),
                ],
                env: vec![
                    "FROM_CONF=conf".into(),
                    "FROM_IMAGE=conf".into(),
                    "BOTH=conf".into(),
                ],
            },
            ..Default::default()
        };
        let env = environment(&o, &img, &user(), "h");
        for want in ["FROM_CONF=conf", "FROM_IMAGE=img", "BOTH=user"] {
            assert!(env.contains(&want.to_string()), "{want} in {env:?}");
        }
        assert_eq!(env.iter().filter(|e| e.starts_with("BOTH=")).count(), 1);
        let u = user();
        let inp = SpecInputs {
            id: "x",
            rootfs: Path::new("/r"),
            files: Path::new("/f"),
            cgroups_path: "/berth-test/x",
            hostname: "h",
            user: &u,
            netns: None,
        };
        let spec = build(&o, &img, &inp).unwrap();
        let process = spec.process().as_ref().unwrap();
        let bounding = |p: &Process| p.capabilities().as_ref().unwrap().bounding().clone();
        assert_eq!(
            bounding(process),
            Some(Capabilities::from([Capability::Chown, Capability::NetRaw]))
        );
        let limits: Vec<_> = process
            .rlimits()
            .iter()
            .flatten()
            .map(|l| (l.typ(), l.soft(), l.hard()))
            .collect();
        assert_eq!(
            limits,
            [
                (PosixRlimitType::RlimitNproc, 30, 30),
                (PosixRlimitType::RlimitNofile, 100, 200),
            ]
        );
        // Nothing configured: no rlimits, podman's capabilities.
        let spec = build(&CreateOptions::default(), &img, &inp).unwrap();
        let process = spec.process().as_ref().unwrap();
        assert!(process.rlimits().is_none());
        assert_eq!(bounding(process).unwrap().len(), 11);
    }

    #[test]
    fn bridge_joins_the_pinned_namespace() {
        let o = CreateOptions {
            network: NetworkMode::Bridge,
            ..Default::default()
        };
        let u = user();
        let inp = SpecInputs {
            id: "x",
            rootfs: Path::new("/r"),
            files: Path::new("/f"),
            cgroups_path: "/berth-test/x",
            hostname: "h",
            user: &u,
            netns: Some(Path::new("/run/x/netns/x")),
        };
        let spec = build(&o, &ImageConfig::default(), &inp).unwrap();
        let ns = spec.linux().as_ref().unwrap().namespaces().clone().unwrap();
        assert!(ns.iter().any(|n| n.typ() == LinuxNamespaceType::Network
            && n.path().as_deref() == Some(Path::new("/run/x/netns/x"))));
    }

    #[test]
    fn every_known_capability_and_limit_is_typed() {
        let all: Vec<String> = confinement::ALL_CAPABILITIES
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(capability_set(&all).unwrap().len(), all.len());
        for (name, _) in crate::options::ULIMITS {
            let u = crate::options::Ulimit::parse(&format!("{name}=1")).unwrap();
            assert!(
                PosixRlimitType::from_str(&u.rlimit_type()).is_ok(),
                "{name}"
            );
        }
    }
}
