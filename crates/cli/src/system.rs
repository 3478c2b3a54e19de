//! `berth info`, `berth version` and `berth system df|prune`: what a user
//! asks about the host and the store, in podman's shapes (`--format json`
//! gives podman's keys).

use crate::image_json::human_size;
use crate::images::layers_size;
use crate::Cli;
use anyhow::Context as _;
use berth_engine::Status;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::Path;

/// `--format`: `json`, a Go template, or the default human-readable form.
#[derive(Args)]
pub struct FormatArgs {
    /// `json`, or a Go template (`{{.Host.Arch}}`).
    #[arg(short, long)]
    pub format: Option<String>,
}

impl FormatArgs {
    /// Print `value` as `--format` asks: JSON, or through the template
    /// (which sees Go's field names: each key with its first letter
    /// upper-cased, as podman's structs have them); else `human`.
    fn emit(
        &self,
        value: &Value,
        human: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        match self.format.as_deref() {
            None => human(),
            Some(f) if crate::template::table::is_json_format(f) => {
                println!("{}", serde_json::to_string_pretty(value)?);
                Ok(())
            }
            // A list (`system df`) is templated row by row.
            Some(f) => match go_fields(value) {
                Value::Array(rows) => crate::report::print_inspect(Some(f), &rows),
                one => crate::report::print_inspect(Some(f), &[one]),
            },
        }
    }
}

/// `value` with every object key's first letter upper-cased.
fn go_fields(value: &Value) -> Value {
    match value {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    // Where podman's Go field is not its JSON key capitalised.
                    let key = match k.as_str() {
                        "os" => "OS".to_string(),
                        "cgroupVersion" => "CgroupsVersion".to_string(),
                        _ => {
                            let mut c = k.chars();
                            c.next()
                                .map(|f| f.to_uppercase().chain(c).collect())
                                .unwrap_or_default()
                        }
                    };
                    (key, go_fields(v))
                })
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(go_fields).collect()),
        v => v.clone(),
    }
}

#[derive(Args)]
pub struct SystemArgs {
    #[command(subcommand)]
    pub command: SystemCommand,
}

#[derive(Subcommand)]
pub enum SystemCommand {
    /// Disk used by images, containers and volumes.
    Df(FormatArgs),
    /// Remove stopped containers, dangling images and, asked to, unused volumes.
    Prune(PruneArgs),
    /// The same as `berth info`.
    Info(FormatArgs),
}

#[derive(Args)]
pub struct PruneArgs {
    /// Remove every image no container uses, not only dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Remove volumes no container uses too.
    #[arg(long)]
    pub volumes: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
}

pub fn system(cli: &Cli, a: &SystemArgs) -> anyhow::Result<()> {
    match &a.command {
        SystemCommand::Df(f) => df(cli, f),
        SystemCommand::Prune(p) => prune(cli, p),
        SystemCommand::Info(f) => info(cli, f),
    }
}

/// `berth version`.
pub fn version(cli: &Cli, a: &FormatArgs) -> anyhow::Result<()> {
    let runtime = runtime_version(cli);
    let client = json!({
        "Version": env!("CARGO_PKG_VERSION"),
        "OsArch": os_arch(),
        "Os": std::env::consts::OS,
        "Runtime": runtime,
    });
    a.emit(&json!({ "Client": client }), || {
        println!("Version:      {}", env!("CARGO_PKG_VERSION"));
        println!("OS/Arch:      {}", os_arch());
        println!("Runtime:      {runtime}");
        Ok(())
    })
}

fn os_arch() -> String {
    format!("{}/{}", std::env::consts::OS, go_arch())
}

/// The architecture as the container world names it (podman, OCI).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

fn runtime_version(cli: &Cli) -> String {
    let path = cli.runtime_path();
    std::process::Command::new(&path)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| format!("{} (not found)", path.display()))
}

/// `berth info`.
pub fn info(cli: &Cli, a: &FormatArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let store = engine.store();
    let containers = engine.list()?;
    let count = |s: Status| containers.iter().filter(|c| c.state.status == s).count();
    let conf = cli.context(&crate::RegistryArgs::default())?.conf;
    let runtime = cli.runtime_path();
    let value = json!({
        "host": {
            "arch": go_arch(),
            "os": std::env::consts::OS,
            "kernel": read_trimmed("/proc/sys/kernel/osrelease"),
            "hostname": read_trimmed("/proc/sys/kernel/hostname"),
            "distribution": distribution(),
            "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "memTotal": meminfo_bytes("MemTotal"),
            "memFree": meminfo_bytes("MemAvailable"),
            "swapTotal": meminfo_bytes("SwapTotal"),
            "swapFree": meminfo_bytes("SwapFree"),
            "cgroupManager": "cgroupfs",
            "cgroupVersion": cgroup_version(),
            "cgroupParent": cli.cgroup_parent,
            "ociRuntime": {
                "name": runtime.file_name().map(|n| n.to_string_lossy().into_owned()),
                "path": runtime,
                "version": runtime_version(cli),
            },
            "rootless": !nix_is_root(),
            "security": {
                "seccompEnabled": Path::new("/proc/sys/kernel/seccomp").exists()
                    || read_trimmed("/proc/self/status").contains("Seccomp:"),
                "apparmorEnabled": read_trimmed("/sys/module/apparmor/parameters/enabled") == "Y",
                "selinuxEnabled": Path::new("/sys/fs/selinux/enforce").exists(),
            },
            "uptime": uptime(),
        },
        "store": {
            "graphDriverName": store.driver_kind().name(),
            "graphRoot": store.root(),
            "runRoot": cli.runroot,
            "volumePath": store.root().join("volumes"),
            "imageStore": { "number": store.images()?.len() },
            "containerStore": {
                "number": containers.len(),
                "running": count(Status::Running),
                "stopped": count(Status::Exited),
                "created": count(Status::Created),
            },
        },
        "registries": { "search": conf.unqualified_search_registries },
        "version": {
            "Version": env!("CARGO_PKG_VERSION"),
            "OsArch": os_arch(),
        },
    });
    a.emit(&value, || {
        let mut out = String::new();
        yaml(&value, 0, &mut out);
        print!("{out}");
        Ok(())
    })
}

fn nix_is_root() -> bool {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() == 0 }
}

fn read_trimmed(path: &str) -> String {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

fn distribution() -> Value {
    let text = std::fs::read_to_string("/etc/os-release").unwrap_or_default();
    let get = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .map(|v| v.trim_matches('"').to_string())
            .unwrap_or_default()
    };
    json!({
        "distribution": get("ID"),
        "version": get("VERSION_ID"),
        "codename": get("VERSION_CODENAME"),
    })
}

fn meminfo_bytes(key: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let rest = l.strip_prefix(key)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// `v2` on a unified host, `v1` on a legacy or hybrid one (as podman says).
fn cgroup_version() -> &'static str {
    // The cgroup2 file system's magic number.
    const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: the path is NUL-terminated and `st` is a valid statfs buffer.
    let ok = unsafe { libc::statfs(c"/sys/fs/cgroup".as_ptr(), &mut st) } == 0;
    if ok && st.f_type as i64 == CGROUP2_SUPER_MAGIC {
        "v2"
    } else {
        "v1"
    }
}

fn uptime() -> String {
    let secs = read_trimmed("/proc/uptime")
        .split_whitespace()
        .next()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0) as u64;
    format!("{}h {}m {}s", secs / 3600, secs / 60 % 60, secs % 60)
}

/// A JSON value as YAML, the form `podman info` prints by default.
fn yaml(v: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(map) => {
            for (k, val) in map {
                match val {
                    Value::Object(m) if !m.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        yaml(val, indent + 2, out);
                    }
                    Value::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        for item in a {
                            out.push_str(&format!("{pad}- {}\n", scalar(item)));
                        }
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(val))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar(other))),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::String(s)
            if !s.is_empty()
                && !s.contains(": ")
                && !s.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@`".contains(c)) =>
        {
            s.clone()
        }
        Value::Array(a) if a.is_empty() => "[]".into(),
        Value::Object(m) if m.is_empty() => "{}".into(),
        other => other.to_string(),
    }
}

/// Sizes of the three kinds of things, as `system df` shows them.
struct Usage {
    kind: &'static str,
    total: usize,
    active: usize,
    size: u64,
    reclaimable: u64,
}

fn df(cli: &Cli, a: &FormatArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let store = engine.store();
    let containers = engine.list()?;
    let images = store.images()?;
    let used_images: HashSet<&str> = containers.iter().map(|c| c.image_id.as_str()).collect();
    // Layers shared by images count once.
    let mut seen = HashSet::new();
    let (mut image_total, mut image_reclaimable) = (0, 0);
    for image in &images {
        let own = layers_size(store, image.top_layer.as_deref(), &mut seen);
        image_total += own;
        if !used_images.contains(image.id.as_str()) {
            image_reclaimable += own;
        }
    }
    let (mut ctr_total, mut ctr_reclaimable) = (0, 0);
    for c in &containers {
        let size = container_size(store, &c.id);
        ctr_total += size;
        if c.state.status != Status::Running {
            ctr_reclaimable += size;
        }
    }
    let volumes = engine.volumes()?;
    let (mut vol_total, mut vol_reclaimable, mut vol_active) = (0, 0, 0);
    for v in &volumes {
        let size = tree_size(&v.mountpoint);
        vol_total += size;
        if engine.volume_users(&v.name)?.is_empty() {
            vol_reclaimable += size;
        } else {
            vol_active += 1;
        }
    }
    let rows = [
        Usage {
            kind: "Images",
            total: images.len(),
            active: images
                .iter()
                .filter(|i| used_images.contains(i.id.as_str()))
                .count(),
            size: image_total,
            reclaimable: image_reclaimable,
        },
        Usage {
            kind: "Containers",
            total: containers.len(),
            active: containers
                .iter()
                .filter(|c| c.state.status == Status::Running)
                .count(),
            size: ctr_total,
            reclaimable: ctr_reclaimable,
        },
        Usage {
            kind: "Local Volumes",
            total: volumes.len(),
            active: vol_active,
            size: vol_total,
            reclaimable: vol_reclaimable,
        },
    ];
    let out: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "Type": r.kind, "Total": r.total, "Active": r.active,
                "RawSize": r.size, "RawReclaimable": r.reclaimable,
                "Size": human_size(r.size), "Reclaimable": percent(r),
            })
        })
        .collect();
    a.emit(&Value::Array(out), || {
        println!(
            "{:<15}{:<12}{:<12}{:<12}RECLAIMABLE",
            "TYPE", "TOTAL", "ACTIVE", "SIZE"
        );
        for r in &rows {
            println!(
                "{:<15}{:<12}{:<12}{:<12}{}",
                r.kind,
                r.total,
                r.active,
                human_size(r.size),
                percent(r)
            );
        }
        Ok(())
    })
}

fn percent(r: &Usage) -> String {
    let pct = (r.reclaimable * 100).checked_div(r.size).unwrap_or(0);
    format!("{} ({pct}%)", human_size(r.reclaimable))
}

/// What a container wrote to its own layer: the size of its diff.
fn container_size(store: &berth_storage::Store, id: &str) -> u64 {
    struct Count(u64);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match store.container_diff(id, &mut count) {
        Ok(_) => count.0,
        Err(e) => {
            tracing::warn!("size of container {id}: {e}");
            0
        }
    }
}

/// Bytes in the files under `dir`, symlinks not followed.
fn tree_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => tree_size(&e.path()),
            Ok(_) => e.metadata().map_or(0, |m| m.len()),
            Err(_) => 0,
        })
        .sum()
}

fn prune(cli: &Cli, a: &PruneArgs) -> anyhow::Result<()> {
    if !a.force && !confirm(a)? {
        return Ok(());
    }
    let engine = cli.engine()?;
    let store = engine.store();
    let mut reclaimed = 0u64;
    let mut failures = 0;
    println!("Deleted Containers");
    for c in engine.list()? {
        if c.state.status == Status::Running {
            continue;
        }
        let size = container_size(store, &c.id);
        match engine.remove(&c.id, false) {
            Ok(()) => {
                reclaimed += size;
                println!("{}", c.id);
            }
            Err(e) => {
                failures += 1;
                eprintln!("Error: removing container {}: {e}", c.name);
            }
        }
    }
    if a.volumes {
        println!("Deleted Volumes");
        for v in engine.volumes()? {
            if !engine.volume_users(&v.name)?.is_empty() {
                continue;
            }
            let size = tree_size(&v.mountpoint);
            match engine.volume_remove(&v.name, false) {
                Ok(()) => {
                    reclaimed += size;
                    println!("{}", v.name);
                }
                Err(e) => {
                    failures += 1;
                    eprintln!("Error: removing volume {}: {e}", v.name);
                }
            }
        }
    }
    println!("Deleted Images");
    let used: HashSet<String> = engine.list()?.into_iter().map(|c| c.image_id).collect();
    let mut seen = HashSet::new();
    for image in store.images()? {
        let dangling = image.names.is_empty();
        if used.contains(&image.id) || !(a.all || dangling) {
            continue;
        }
        let size = layers_size(store, image.top_layer.as_deref(), &mut seen);
        match store.remove_image(&image.id, false) {
            Ok(_) => {
                reclaimed += size;
                println!("{}", image.id);
            }
            Err(e) => {
                failures += 1;
                eprintln!("Error: removing image {}: {e}", &image.id[..12]);
            }
        }
    }
    println!("Total reclaimed space: {}", human_size(reclaimed));
    if failures > 0 {
        anyhow::bail!("{failures} item(s) could not be removed");
    }
    Ok(())
}

/// podman's question; anything but y/Y (or no terminal answer) keeps all.
fn confirm(a: &PruneArgs) -> anyhow::Result<bool> {
    let images = if a.all {
        "all images without at least one container associated with them"
    } else {
        "all dangling images"
    };
    let mut text =
        format!("WARNING! This command removes:\n\t- all stopped containers\n\t- {images}\n");
    if a.volumes {
        text.push_str("\t- all volumes not used by at least one container\n");
    }
    text.push_str("Are you sure you want to continue? [y/N] ");
    let mut stdout = std::io::stdout();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("reading the answer")?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}
