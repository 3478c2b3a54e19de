//! The OCI `config.json` of a container: the image config merged with the
//! user's options, under podman's default confinement.

use crate::confinement;
use crate::error::{Error, Result};
use crate::image_config::{ImageConfig, ResolvedUser};
use crate::options::{CreateOptions, NetworkMode};
use serde_json::{json, Value};
use std::path::Path;

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
    let (entry, default_cmd) = match &opts.entrypoint {
        Some(e) if e.is_empty() => (Vec::new(), Vec::new()),
        Some(e) => (vec![e.clone()], Vec::new()),
        None => (
            image.entrypoint.clone().unwrap_or_default(),
            image.cmd.clone().unwrap_or_default(),
        ),
    };
    let cmd = if opts.command.is_empty() {
        default_cmd
    } else {
        opts.command.clone()
    };
    entry.into_iter().chain(cmd).collect()
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
    let mut env: Vec<String> = vec![
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        "container=berth".into(),
        format!("HOSTNAME={hostname}"),
    ];
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
        .chain(image.env.iter().flatten())
        .chain(&opts.env)
    {
        set(&mut env, e);
    }
    if !env.iter().any(|e| e.starts_with("HOME=")) {
        env.push(format!(
            "HOME={}",
            user.home.clone().unwrap_or_else(|| "/".into())
        ));
    }
    env
}

fn mount(dest: &str, typ: &str, source: &str, options: &[&str]) -> Value {
    json!({"destination": dest, "type": typ, "source": source, "options": options})
}

fn bind(dest: &str, source: &Path, ro: bool) -> Value {
    let mut o = vec!["rbind", "rprivate", "nosuid", "nodev"];
    if ro {
        o.push("ro");
    }
    json!({"destination": dest, "type": "bind", "source": source, "options": o})
}

fn mounts(opts: &CreateOptions, files: &Path) -> Result<Vec<Value>> {
    let sys_ro: &[&str] = if opts.privileged {
        &["nosuid", "noexec", "nodev"]
    } else {
        &["nosuid", "noexec", "nodev", "ro"]
    };
    let mut m = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"]),
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        ),
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
        ),
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        ),
        mount("/sys", "sysfs", "sysfs", sys_ro),
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", "ro"],
        ),
        mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
        ),
        bind("/etc/hosts", &files.join("hosts"), false),
        bind("/etc/hostname", &files.join("hostname"), false),
        bind("/etc/resolv.conf", &files.join("resolv.conf"), false),
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
                ));
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
        m.push(mount(dest, "tmpfs", "tmpfs", &options));
    }
    for v in &opts.volumes {
        m.push(bind(&v.destination, Path::new(&v.source), v.readonly));
    }
    Ok(m)
}

/// The `linux.resources` for these options.
fn resources(opts: &CreateOptions) -> Value {
    let mut r = json!({"devices": [{"allow": false, "access": "rwm"}]});
    if let Some(m) = opts.memory {
        r["memory"] = json!({"limit": m});
    }
    if let Some(c) = opts.cpus {
        let period = 100_000u64;
        r["cpu"] = json!({"quota": (c * period as f64) as i64, "period": period});
    }
    if let Some(p) = opts.pids_limit {
        r["pids"] = json!({"limit": p});
    }
    r
}

/// `process.rlimits`: the configured defaults, each replaced by a
/// `--ulimit` of the same name.
fn rlimits(opts: &CreateOptions) -> Vec<Value> {
    let mut limits: Vec<&crate::options::Ulimit> = Vec::new();
    for u in opts.defaults.ulimits.iter().chain(&opts.ulimits) {
        limits.retain(|l| l.name != u.name);
        limits.push(u);
    }
    limits
        .iter()
        .map(|u| json!({"type": u.rlimit_type(), "soft": u.soft, "hard": u.hard}))
        .collect()
}

/// Build the whole config.json.
pub fn build(opts: &CreateOptions, image: &ImageConfig, inp: &SpecInputs<'_>) -> Result<Value> {
    let caps = confinement::capabilities_over(
        opts.defaults.capabilities.as_deref(),
        opts.privileged,
        &opts.cap_add,
        &opts.cap_drop,
    )?;
    let args = command(opts, image);
    let env = environment(opts, image, inp.user, inp.hostname);
    let cwd = opts
        .workdir
        .clone()
        .or_else(|| image.working_dir.clone().filter(|w| !w.is_empty()))
        .unwrap_or_else(|| "/".into());
    let mut namespaces = vec![
        json!({"type": "pid"}),
        json!({"type": "ipc"}),
        json!({"type": "uts"}),
        json!({"type": "mount"}),
    ];
    match opts.network {
        NetworkMode::None => namespaces.push(json!({"type": "network"})),
        NetworkMode::Host => {}
        NetworkMode::Bridge => namespaces.push(json!({"type": "network", "path": inp.netns})),
    }
    if Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        // podman's default on cgroup v2; v1 hosts keep the host's.
        namespaces.push(json!({"type": "cgroup"}));
    }
    let mut linux = json!({
        "cgroupsPath": inp.cgroups_path,
        "resources": resources(opts),
        "namespaces": namespaces,
    });
    if !opts.privileged {
        linux["maskedPaths"] = json!(confinement::MASKED_PATHS);
        linux["readonlyPaths"] = json!(confinement::READONLY_PATHS);
        if !opts.seccomp_unconfined {
            linux["seccomp"] = crate::seccomp_profile::for_capabilities(&caps);
        }
    }
    let mut spec = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": opts.tty,
            "user": {
                "uid": inp.user.uid,
                "gid": inp.user.gid,
                "additionalGids": inp.user.additional_gids,
            },
            "args": args,
            "env": env,
            "cwd": cwd,
            "capabilities": {
                "bounding": caps, "effective": caps, "permitted": caps,
                "inheritable": [], "ambient": []
            },
            "noNewPrivileges": false,
        },
        "root": {"path": inp.rootfs, "readonly": opts.read_only},
        "hostname": inp.hostname,
        "mounts": mounts(opts, inp.files)?,
        "linux": linux,
        "annotations": {"io.berth.container.id": inp.id},
    });
    let rlimits = rlimits(opts);
    if !rlimits.is_empty() {
        spec["process"]["rlimits"] = json!(rlimits);
    }
    if opts.tty {
        // A detached terminal would start at 0×0 (busybox `stty size` then
        // fails); an attached one is resized to the user's at once.
        spec["process"]["consoleSize"] = json!({"height": 24, "width": 80});
    }
    Ok(spec)
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
        let img = ImageConfig {
            entrypoint: Some(vec!["/ep".into()]),
            cmd: Some(vec!["a".into()]),
            ..Default::default()
        };
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
        let img = ImageConfig {
            env: Some(vec!["PATH=/img".into(), "A=1".into()]),
            ..Default::default()
        };
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
        let img = ImageConfig {
            env: Some(vec!["FROM_IMAGE=img".into(), "BOTH=img".into()]),
            ..Default::default()
        };
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
        assert_eq!(
            spec["process"]["capabilities"]["bounding"],
            json!(["CAP_CHOWN", "CAP_NET_RAW"])
        );
        assert_eq!(
            spec["process"]["rlimits"],
            json!([
                {"type": "RLIMIT_NPROC", "soft": 30, "hard": 30},
                {"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200},
            ])
        );
        // Nothing configured: no rlimits, podman's capabilities.
        let spec = build(&CreateOptions::default(), &img, &inp).unwrap();
        assert!(spec["process"]["rlimits"].is_null());
        assert_eq!(
            spec["process"]["capabilities"]["bounding"]
                .as_array()
                .unwrap()
                .len(),
            11
        );
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
        let ns = spec["linux"]["namespaces"].as_array().unwrap();
        assert!(ns.contains(&json!({"type": "network", "path": "/run/x/netns/x"})));
    }
}
