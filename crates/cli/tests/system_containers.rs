//! System containers: `install --system`, `update`, `rollback`,
//! `uninstall`, the listings, and the units they write. PID 1 is not
//! systemd here, so the units are checked with `systemd-analyze verify`
//! and their ExecStart is run the way systemd would run it (a clean
//! environment, the unit's working directory).

mod engine_env;

use berth_testkit::{is_root, require};
use engine_env::Env;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A berth with its own system directories under the test's directory.
struct System {
    env: Env,
}

impl System {
    fn new() -> System {
        System { env: Env::new() }
    }

    fn base(&self) -> PathBuf {
        self.env.dir.path().join("sys")
    }

    fn dir(&self, which: &str) -> PathBuf {
        self.base().join(which)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = self.env.command(args);
        for (var, which) in [
            ("BERTH_SYSTEM_ROOT", "deployments"),
            ("BERTH_SYSTEM_UNIT_DIR", "units"),
            ("BERTH_SYSTEM_TMPFILES_DIR", "tmpfiles"),
            ("BERTH_SYSTEM_STATE_DIR", "state"),
            ("BERTH_SYSTEM_RUN_DIR", "run"),
            ("BERTH_SYSTEM_RUNTIME_ROOT", "runtime"),
        ] {
            c.env(var, self.dir(which));
        }
        c
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.command(args).output().unwrap();
        assert!(!out.status.success(), "berth {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// Every path under the system directories, relative, sorted (the
    /// contents of a deployment's rootfs left out).
    fn files(&self) -> Vec<String> {
        fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let p = e.path();
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                let ft = e.file_type().unwrap();
                if ft.is_symlink() {
                    let t = std::fs::read_link(&p).unwrap();
                    out.push(format!("{rel} -> {}", t.display()));
                } else if ft.is_dir() {
                    out.push(format!("{rel}/"));
                    if !rel.ends_with("rootfs") {
                        walk(base, &p, out);
                    }
                } else {
                    out.push(rel);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.base(), &self.base(), &mut out);
        out.sort();
        out
    }

    fn unit(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir("units").join(format!("{name}.service"))).unwrap()
    }
}

/// The files one deployment holds.
fn deployment_files(name: &str, index: u8) -> Vec<String> {
    [
        "",
        "config.json",
        "hostname",
        "hosts",
        "info.json",
        "resolv.conf",
        "rootfs/",
        "tmpfiles.conf",
        "unit.service",
    ]
    .iter()
    .map(|f| match *f {
        "" => format!("deployments/{name}.{index}/"),
        f => format!("deployments/{name}.{index}/{f}"),
    })
    .collect()
}

fn expected(mut parts: Vec<Vec<String>>) -> Vec<String> {
    let mut all: Vec<String> = parts.drain(..).flatten().collect();
    all.sort();
    all
}

fn strs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// `systemd-analyze verify` of the units (by path); its complaints.
fn verify(units: &[PathBuf]) -> Result<(), String> {
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(units)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    match out.status.success() && err.trim().is_empty() {
        true => Ok(()),
        false => Err(err),
    }
}

fn header() -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

/// A one-layer tar of `files` (path, contents).
fn layer(files: &[(&str, &str)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut dirs = std::collections::BTreeSet::new();
    for (path, _) in files {
        let mut p = Path::new(path).parent();
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty()) {
            dirs.insert(d.to_path_buf());
            p = d.parent();
        }
    }
    for d in dirs {
        let mut h = header();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        b.append_data(&mut h, &d, std::io::empty()).unwrap();
    }
    for (path, text) in files {
        let mut h = header();
        h.set_mode(0o644);
        h.set_size(text.len() as u64);
        b.append_data(&mut h, path, text.as_bytes()).unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn install_update_rollback_uninstall_leave_exactly_their_files() {
    require!(is_root(), "needs root");
    let s = System::new();
    let out = s.ok(&["install", "--system", "--name", "web", "busybox"]);
    assert!(out.contains("Installed web"), "{out}");
    let common = strs(&[
        "deployments/",
        "deployments/web -> web.0",
        "run/",
        "run/web/",
        "state/",
        "state/web/",
        "tmpfiles/",
        "tmpfiles/berth-web.conf",
        "units/",
        "units/web.service",
    ]);
    assert_eq!(
        s.files(),
        expected(vec![common.clone(), deployment_files("web", 0)])
    );
    // The unit runs the runtime directly on the link, not on one deployment.
    let unit = s.unit("web");
    let link = s.dir("deployments").join("web");
    assert!(
        unit.contains(&format!("run --bundle {} ", link.display())),
        "{unit}"
    );
    assert!(unit.contains("Restart=on-failure"), "{unit}");
    let tmpfiles = std::fs::read_to_string(s.dir("tmpfiles").join("berth-web.conf")).unwrap();
    assert!(
        tmpfiles.contains(&format!("d {}/web 0700", s.dir("state").display())),
        "{tmpfiles}"
    );
    // The default config: host network, read-only root, state and run bound.
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(s.dir("deployments").join("web.0/config.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(config["root"], json!({"path": "rootfs", "readonly": true}));
    let ns = config["linux"]["namespaces"].as_array().unwrap();
    assert!(!ns.iter().any(|n| n["type"] == "network"), "{ns:?}");
    let mounts = config["mounts"].as_array().unwrap();
    for (dest, src) in [("/var/lib/web", "state/web"), ("/run/web", "run/web")] {
        assert!(
            mounts.iter().any(
                |m| m["destination"] == dest && m["source"] == s.dir(src).display().to_string()
            ),
            "{dest} not bound: {mounts:?}"
        );
    }
    let listed = s.ok(&["containers", "--system"]);
    assert!(
        listed.contains("web.0 ") && listed.contains("sha256:"),
        "{listed}"
    );
    let images = s.ok(&["images", "--system"]);
    assert!(
        images.contains("busybox") && images.contains("web"),
        "{images}"
    );

    s.ok(&["update", "--system", "web"]);
    let both = expected(vec![
        common.clone(),
        deployment_files("web", 0),
        deployment_files("web", 1),
    ])
    .into_iter()
    .map(|f| f.replace("web -> web.0", "web -> web.1"))
    .collect::<Vec<_>>();
    let mut both_sorted = both.clone();
    both_sorted.sort();
    assert_eq!(s.files(), both_sorted);
    assert!(s.ok(&["containers", "--system"]).contains("web.1*"));

    s.ok(&["rollback", "--system", "web"]);
    let back: Vec<String> = both_sorted
        .iter()
        .map(|f| f.replace("web -> web.1", "web -> web.0"))
        .collect();
    assert_eq!(s.files(), back);

    std::fs::write(s.dir("state/web/data"), "kept").unwrap();
    s.ok(&["uninstall", "--system", "web"]);
    assert_eq!(
        s.files(),
        strs(&[
            "deployments/",
            "run/",
            "state/",
            "state/web/",
            "state/web/data",
            "tmpfiles/",
            "units/"
        ])
    );
    s.ok(&["install", "--system", "--name", "web", "busybox"]);
    s.ok(&["uninstall", "--system", "--purge", "web"]);
    assert_eq!(
        s.files(),
        strs(&["deployments/", "run/", "state/", "tmpfiles/", "units/"])
    );
}

#[test]
fn bad_input_is_refused_and_leaves_nothing() {
    require!(is_root(), "needs root");
    let s = System::new();
    s.env.load_image_with_layer(
        "typo",
        &serde_json::Value::Null,
        Some(&layer(&[(
            "exports/service.template",
            "[Service]\nExecStart=$EXEC_START --flag $NOT_DEFINED\n",
        )])),
    );
    let err = s.fails(&["install", "--system", "typo"]);
    assert!(
        err.contains("unknown variable $NOT_DEFINED") && err.contains("/exports/service.template"),
        "{err}"
    );
    assert!(
        s.files()
            .iter()
            .all(|f| f.ends_with('/') && !f.contains("typo")),
        "{:?}",
        s.files()
    );
    // --set defines it.
    s.ok(&["install", "--system", "--set", "NOT_DEFINED=1", "typo"]);
    assert!(s.unit("typo").contains("--flag 1"));

    s.ok(&["install", "--system", "--name", "one", "busybox"]);
    let before = s.files();
    let err = s.fails(&["install", "--system", "--name", "one", "busybox"]);
    assert!(err.contains("\"one\" is already installed"), "{err}");
    assert_eq!(s.files(), before);

    let err = s.fails(&["rollback", "--system", "one"]);
    assert!(err.contains("no earlier deployment"), "{err}");
    assert_eq!(s.files(), before);

    let err = s.fails(&["uninstall", "--system", "nobody"]);
    assert!(
        err.contains("no system container named \"nobody\""),
        "{err}"
    );
    let err = s.fails(&["install", "--system", "--set", "novalue", "busybox"]);
    assert!(err.contains("expected KEY=VALUE"), "{err}");
    let err = s.fails(&["install", "--name", "x", "busybox"]);
    assert!(err.contains("pass --system"), "{err}");
    let err = s.fails(&["install", "--system", "--name", "../x", "busybox"]);
    assert!(err.contains("names must match"), "{err}");
    assert_eq!(s.files(), before);
}

#[test]
fn etcd_then_flanneld_units_are_ordered_and_verify() {
    require!(is_root(), "needs root");
    require!(
        Path::new("/usr/bin/systemd-analyze").exists(),
        "systemd-analyze not installed"
    );
    let s = System::new();
    s.env.load_image("etcd", &json!({"Cmd": ["sleep", "1000"]}));
    s.env.load_image(
        "flanneld",
        &json!({"Cmd": ["sleep", "1000"], "Labels": {"io.berth.system.requires": "etcd"}}),
    );
    s.ok(&["install", "--system", "etcd"]);
    s.ok(&[
        "install",
        "--system",
        "--after",
        "network-online.target",
        "flanneld",
    ]);
    let flannel = s.unit("flanneld");
    assert!(flannel.contains("Requires=etcd.service\n"), "{flannel}");
    assert!(
        flannel.contains("After=etcd.service network-online.target\n"),
        "{flannel}"
    );
    assert!(!s.unit("etcd").contains("Requires="));
    let units = [
        s.dir("units").join("etcd.service"),
        s.dir("units").join("flanneld.service"),
    ];
    verify(&units).unwrap();
    s.ok(&["uninstall", "--system", "--purge", "flanneld"]);
    s.ok(&["uninstall", "--system", "--purge", "etcd"]);
}

/// The ExecStart= line of a unit, split as systemd splits it (no quoting
/// in berth's units).
fn exec_start(unit: &str) -> Vec<String> {
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap();
    line.split_whitespace().map(str::to_string).collect()
}

#[test]
fn exec_start_runs_the_container_as_systemd_would() {
    require!(is_root(), "needs root");
    let s = System::new();
    s.env.load_image(
        "writer",
        &json!({"Cmd": ["sh", "-c", "echo written by $(hostname) > /var/lib/writer/out; touch /run/writer/pid; touch /x 2>/dev/null && echo rw || echo ro"]}),
    );
    s.ok(&["install", "--system", "writer"]);
    let unit = s.unit("writer");
    verify(&[s.dir("units").join("writer.service")]).unwrap();
    let argv = exec_start(&unit);
    let cwd = unit
        .lines()
        .find_map(|l| l.strip_prefix("WorkingDirectory="))
        .unwrap();
    let out = Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .current_dir(cwd)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{argv:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "ro");
    let written = std::fs::read_to_string(s.dir("state/writer/out")).unwrap();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    assert_eq!(written.trim(), format!("written by {}", host.trim()));
    assert!(s.dir("run/writer/pid").exists());
    s.ok(&["uninstall", "--system", "--purge", "writer"]);
}
