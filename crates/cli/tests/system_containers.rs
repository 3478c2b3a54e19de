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
        "deployments/.lock",
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
            "deployments/.lock",
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
        strs(&[
            "deployments/",
            "deployments/.lock",
            "run/",
            "state/",
            "tmpfiles/",
            "units/"
        ])
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
            .all(|f| (f.ends_with('/') || f == "deployments/.lock") && !f.contains("typo")),
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

/// Runs inside the system container (this test binary, as `/probe` in the
/// image): answers one connection on a socket-activated fd 3, then sends
/// READY=1 to `$NOTIFY_SOCKET`.
#[test]
#[ignore]
fn probe_inside_container() {
    use std::io::{BufRead as _, Write as _};
    use std::os::fd::FromRawFd as _;
    if let Ok(n) = std::env::var("LISTEN_FDS") {
        // SAFETY: LISTEN_FDS says descriptor 3 is our listening socket.
        let listener = unsafe { std::os::unix::net::UnixListener::from_raw_fd(3) };
        let (mut conn, _) = listener.accept().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(conn.try_clone().unwrap())
            .read_line(&mut line)
            .unwrap();
        writeln!(conn, "fd3 LISTEN_FDS={n} got {}", line.trim()).unwrap();
    }
    if let Ok(path) = std::env::var("NOTIFY_SOCKET") {
        let s = std::os::unix::net::UnixDatagram::unbound().unwrap();
        s.send_to(b"READY=1\nSTATUS=probe up\nMAINPID=1", path)
            .unwrap();
    }
}

/// An image `name` that runs this test binary as its probe.
fn load_probe_image(s: &System, name: &str, labels: serde_json::Value) {
    let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header();
    h.set_mode(0o755);
    h.set_size(exe.len() as u64);
    b.append_data(&mut h, "probe", exe.as_slice()).unwrap();
    let tar = b.into_inner().unwrap();
    s.env.load_image_with_layer(
        name,
        &json!({
            "Cmd": ["/probe", "--ignored", "--exact", "probe_inside_container", "--test-threads=1", "-q"],
            "Labels": labels,
        }),
        Some(&tar),
    );
}

fn unit_command(s: &System, name: &str) -> (Vec<String>, String) {
    let unit = s.unit(name);
    let cwd = unit
        .lines()
        .find_map(|l| l.strip_prefix("WorkingDirectory="))
        .unwrap()
        .to_string();
    (exec_start(&unit), cwd)
}

#[test]
fn type_notify_unit_relays_the_containers_ready() {
    require!(is_root(), "needs root");
    let s = System::new();
    load_probe_image(&s, "notifier", json!({"io.berth.system.type": "notify"}));
    s.ok(&["install", "--system", "notifier"]);
    assert!(s.unit("notifier").contains("Type=notify\n"));
    verify(&[s.dir("units").join("notifier.service")]).unwrap();
    let (argv, cwd) = unit_command(&s, "notifier");
    // The service manager's socket, served by the test.
    let notify = s.env.dir.path().join("notify.sock");
    let manager = std::os::unix::net::UnixDatagram::bind(&notify).unwrap();
    manager
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let child = Command::new(&argv[0])
        .args(&argv[1..])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("NOTIFY_SOCKET", &notify)
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 512];
    let (n, from) = manager.recv_from(&mut buf).expect("no READY arrived");
    let msg = String::from_utf8_lossy(&buf[..n]).into_owned();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // READY and STATUS pass; the container's MAINPID=1 does not.
    assert_eq!(msg, "READY=1\nSTATUS=probe up", "from {from:?}");
    // The relay's directory went with the run.
    let left: Vec<_> = std::fs::read_dir(s.dir("runtime"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["notifier.pid"]);
    s.ok(&["uninstall", "--system", "--purge", "notifier"]);
}

#[test]
fn socket_activated_system_container_accepts_a_connection() {
    require!(is_root(), "needs root");
    require!(
        Path::new("/usr/bin/systemd-socket-activate").exists(),
        "systemd-socket-activate not installed"
    );
    let s = System::new();
    load_probe_image(&s, "listener", json!({}));
    s.ok(&["install", "--system", "listener"]);
    let (argv, cwd) = unit_command(&s, "listener");
    let sock = s.env.dir.path().join("listen.sock");
    let mut child = Command::new("systemd-socket-activate")
        .arg("-l")
        .arg(&sock)
        .arg("--")
        .args(&argv)
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .current_dir(&cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // systemd-socket-activate binds before it runs the service.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !sock.exists() {
        assert!(std::time::Instant::now() < deadline, "socket never bound");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    use std::io::{BufRead as _, Write as _};
    let mut conn = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    conn.write_all(b"hello\n").unwrap();
    let mut line = String::new();
    std::io::BufReader::new(conn).read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "fd3 LISTEN_FDS=1 got hello");
    let status = child.wait().unwrap();
    let mut err = String::new();
    use std::io::Read as _;
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(status.success(), "{err}");
    s.ok(&["uninstall", "--system", "--purge", "listener"]);
}

#[test]
fn update_keeps_the_users_requires_and_after() {
    require!(is_root(), "needs root");
    let s = System::new();
    s.env.load_image(
        "ordered",
        &json!({"Cmd": ["sleep", "1000"], "Labels": {"io.berth.system.after": "etcd"}}),
    );
    s.ok(&[
        "install",
        "--system",
        "--requires",
        "db",
        "--after",
        "network-online.target",
        "ordered",
    ]);
    let installed = s.unit("ordered");
    s.ok(&["update", "--system", "ordered"]);
    let updated = s.unit("ordered");
    assert!(updated.contains("Requires=db.service\n"), "{updated}");
    assert!(
        updated.contains("After=etcd.service db.service network-online.target\n")
            || updated.contains("After=db.service etcd.service network-online.target\n"),
        "{updated}"
    );
    assert_eq!(installed, updated);
    s.ok(&["uninstall", "--system", "--purge", "ordered"]);
}
