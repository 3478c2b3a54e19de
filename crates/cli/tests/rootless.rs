//! berth as an unprivileged user (docs/rootless.md): each test makes a
//! user of its own with subordinate ids, runs berth as that user through
//! setpriv (with an XDG_RUNTIME_DIR it owns), and removes the user, its
//! home, its /etc/subuid and /etc/subgid lines and its processes (the
//! pause process that holds its namespace and mounts, pasta) after, even
//! when the test fails.

mod common;

use common::{Berth, Registry};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// useradd/userdel and the sub-id files are edited by one test at a time.
static USERS: Mutex<()> = Mutex::new(());

struct TestUser {
    name: String,
    uid: u32,
    home: PathBuf,
    xdg: PathBuf,
    /// The first subordinate uid and gid.
    sub: u32,
}

fn read_ranges(file: &str) -> Vec<(String, u32, u32)> {
    std::fs::read_to_string(file)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            Some((
                f.next()?.to_string(),
                f.next()?.parse().ok()?,
                f.next()?.parse().ok()?,
            ))
        })
        .collect()
}

/// Replace `file` whole: newuidmap, outside the tests' lock, must never
/// read it half written.
fn write_atomic(file: &str, text: &str) {
    let tmp = format!("{file}.brl-tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, file).unwrap();
}

fn drop_lines(file: &str, user: &str, uid: u32) {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let kept: String = text
        .lines()
        .filter(|l| {
            let owner = l.split(':').next().unwrap_or_default();
            owner != user && owner != uid.to_string()
        })
        .map(|l| format!("{l}\n"))
        .collect();
    write_atomic(file, &kept);
}

impl TestUser {
    /// A new user with 65536 subordinate uids and gids of its own, past
    /// every range in the files.
    fn new(tag: &str) -> TestUser {
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        let name = format!("brl{tag}{}", std::process::id() % 100000);
        let st = Command::new("useradd")
            .args(["-m", "-s", "/bin/sh", &name])
            .status()
            .unwrap();
        assert!(st.success(), "useradd {name}");
        let uid: u32 = String::from_utf8(
            Command::new("id")
                .args(["-u", &name])
                .output()
                .unwrap()
                .stdout,
        )
        .unwrap()
        .trim()
        .parse()
        .unwrap();
        // useradd may have given it ranges: replace them with ours.
        for f in ["/etc/subuid", "/etc/subgid"] {
            drop_lines(f, &name, uid);
        }
        let end = ["/etc/subuid", "/etc/subgid"]
            .iter()
            .flat_map(|f| read_ranges(f))
            .map(|(_, s, c)| s + c)
            .max()
            .unwrap_or(100000)
            .max(100000);
        for f in ["/etc/subuid", "/etc/subgid"] {
            let mut text = std::fs::read_to_string(f).unwrap_or_default();
            text.push_str(&format!("{name}:{end}:65536\n"));
            write_atomic(f, &text);
        }
        let xdg = PathBuf::from(format!("/tmp/{name}-xdg"));
        std::fs::create_dir_all(&xdg).unwrap();
        std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::os::unix::fs::chown(&xdg, Some(uid), Some(uid)).unwrap();
        TestUser {
            home: PathBuf::from(format!("/home/{name}")),
            name,
            uid,
            xdg,
            sub: end,
        }
    }

    fn cmd(&self, prog: &str) -> Command {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid",
            &self.name,
            "--regid",
            &self.name,
            "--init-groups",
        ])
        .arg("env")
        .arg("-i")
        .arg(format!("HOME={}", self.home.display()))
        .arg(format!("USER={}", self.name))
        .arg("PATH=/usr/sbin:/usr/bin:/sbin:/bin")
        .arg(format!("XDG_RUNTIME_DIR={}", self.xdg.display()))
        .arg(prog)
        .current_dir("/");
        c
    }

    fn berth(&self, args: &[&str]) -> Output {
        self.cmd(common::berth_bin()).args(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            out.status.success(),
            "{} berth {args:?}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn fails(&self, args: &[&str]) -> String {
        let out = self.berth(args);
        assert!(
            !out.status.success(),
            "{} berth {args:?} succeeded: {}",
            self.name,
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }

    /// The pids of every process of the user.
    fn pids(&self) -> Vec<i32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
            .filter(|pid| {
                std::fs::metadata(format!("/proc/{pid}")).is_ok_and(|m| m.uid() == self.uid)
            })
            .collect()
    }

    fn store(&self) -> PathBuf {
        self.home.join(".local/share/berth/storage")
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        // Its processes (the pause process, pasta, monitors), each by pid;
        // their end takes the user's mount namespace and its mounts along.
        for _ in 0..50 {
            let pids = self.pids();
            if pids.is_empty() {
                break;
            }
            for pid in pids {
                // SAFETY: kill(2) on a pid read from /proc just now.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("userdel")
            .args(["-r", "-f", &self.name])
            .output();
        let _ = std::fs::remove_dir_all(&self.home);
        for f in ["/etc/subuid", "/etc/subgid"] {
            drop_lines(f, &self.name, self.uid);
        }
        let _ = std::fs::remove_dir_all(&self.xdg);
        // podman rootless (the owners comparison) leaves its lock table.
        let _ = std::fs::remove_file(format!("/dev/shm/libpod_rootless_lock_{}", self.uid));
    }
}

fn tools() -> bool {
    for t in ["useradd", "setpriv", "newuidmap", "newgidmap"] {
        if !common::have(t) {
            assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "{t} missing");
            eprintln!("skipping: {t} missing");
            return false;
        }
    }
    if !berth_testkit::is_root() {
        eprintln!("skipping: needs root to make users");
        return false;
    }
    true
}

/// The busybox fixture plus `/owned` (1234:2345), `/owned/f` (65534) and
/// `/owned/g` (1000:1000), pushed as `owned:latest` by root's berth.
fn seed_owned(reg: &Registry) -> String {
    let staging = tempfile::tempdir().unwrap();
    berth_testkit::populate_busybox_rootfs(staging.path()).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    b.mode(tar::HeaderMode::Deterministic);
    b.append_dir_all(".", staging.path()).unwrap();
    let mut entry = |path: &str, dir: bool, uid: u64, gid: u64| {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(if dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        h.set_mode(if dir { 0o755 } else { 0o644 });
        h.set_uid(uid);
        h.set_gid(gid);
        h.set_mtime(0);
        let data: &[u8] = if dir { b"" } else { b"x\n" };
        h.set_size(data.len() as u64);
        b.append_data(&mut h, path, data).unwrap();
    };
    entry("owned", true, 1234, 2345);
    entry("owned/f", false, 65534, 65534);
    entry("owned/g", false, 1000, 1000);
    let tarball = staging.path().join("../owned.tar");
    std::fs::write(&tarball, b.into_inner().unwrap()).unwrap();
    let root = Berth::new();
    root.ok(&[
        "import",
        "-q",
        "--change",
        "CMD [\"sh\"]",
        tarball.to_str().unwrap(),
        "owned:latest",
    ]);
    let reference = format!("{}/owned:latest", reg.addr);
    root.ok(&[
        "push",
        "--tls-verify=false",
        "owned:latest",
        &format!("docker://{reference}"),
    ]);
    let _ = std::fs::remove_file(&tarball);
    reference
}

#[test]
fn user_pulls_runs_and_sees_itself_as_root_of_its_range() {
    if !tools() {
        return;
    }
    let reg = Registry::plain();
    common::seed_busybox(&reg, "busybox", "latest");
    let img = format!("{}/busybox:latest", reg.addr);
    let u = TestUser::new("run");
    u.ok(&["pull", "-q", "--tls-verify=false", &img]);
    assert!(u.ok(&["images"]).contains("busybox"));
    // The store is the user's, where podman would put it, on overlay.
    let store = u.store();
    assert_eq!(std::fs::metadata(&store).unwrap().uid(), u.uid);
    assert_eq!(
        std::fs::read_to_string(store.join("driver"))
            .unwrap()
            .trim(),
        "overlay"
    );
    // Root inside, over its own uid and the whole subordinate range.
    let out = u.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &img,
        "sh",
        "-c",
        "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map",
    ]);
    let words: Vec<&str> = out.split_whitespace().collect();
    let (uid, sub) = (u.uid.to_string(), u.sub.to_string());
    assert_eq!(
        words,
        ["0", "0", "0", &uid, "1", "1", &sub, "65536", "0", &uid, "1", "1", &sub, "65536"],
        "{out}"
    );
    // Detached, logs, exec, ps, stop, rm.
    u.ok(&[
        "run",
        "-d",
        "--name",
        "d1",
        "--network",
        "none",
        &img,
        "sh",
        "-c",
        "echo started; sleep 100",
    ]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !u.ok(&["logs", "d1"]).contains("started") {
        assert!(std::time::Instant::now() < deadline, "no log line");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(u.ok(&["exec", "d1", "id", "-u"]).trim(), "0");
    assert!(u.ok(&["ps"]).contains("d1"));
    assert!(u.ok(&["inspect", "d1"]).contains("\"Running\": true"));
    u.ok(&["stop", "-t", "1", "d1"]);
    u.ok(&["rm", "d1"]);
    assert!(!u.ok(&["ps", "-a"]).contains("d1"));
    // Volumes, cp, save/load inside the user's store.
    u.ok(&["volume", "create", "v1"]);
    u.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "v1:/data",
        &img,
        "sh",
        "-c",
        "echo kept > /data/f",
    ]);
    let out = u.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "-v",
        "v1:/data",
        &img,
        "cat",
        "/data/f",
    ]);
    assert_eq!(out.trim(), "kept");
    u.ok(&["create", "--name", "c1", "--network", "none", &img, "true"]);
    let cp = u.ok(&["cp", "c1:/etc/passwd", "-"]);
    assert!(!cp.is_empty());
    u.ok(&["rm", "c1"]);
    u.ok(&["volume", "rm", "v1"]);
    let archive = u.home.join("img.tar");
    u.ok(&["save", "-o", archive.to_str().unwrap(), &img]);
    u.ok(&["rmi", &img]);
    u.ok(&["load", "-q", "-i", archive.to_str().unwrap()]);
    assert!(u.ok(&["images"]).contains("busybox"));
    // build: RUN in the user's namespace, its owners kept in the commit.
    let ctx = u.home.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(
        ctx.join("Containerfile"),
        format!("FROM {img}\nRUN echo built > /b && chown 1000:1000 /b\n"),
    )
    .unwrap();
    for p in [ctx.clone(), ctx.join("Containerfile")] {
        std::os::unix::fs::chown(&p, Some(u.uid), Some(u.uid)).unwrap();
    }
    u.ok(&["build", "-q", "-t", "built", ctx.to_str().unwrap()]);
    let out = u.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "built",
        "stat",
        "-c",
        "%u",
        "/b",
    ]);
    assert_eq!(out.trim(), "1000");
    // mount only inside `berth unshare`, where its path can be read.
    u.ok(&["create", "--name", "m1", "--network", "none", &img, "true"]);
    let e = u.fails(&["mount", "m1"]);
    assert!(e.contains("berth unshare"), "{e}");
    let script = format!(
        "p=$({b} mount m1) && stat -c %u $p/bin/busybox && {b} umount m1 >/dev/null",
        b = common::berth_bin()
    );
    // Inside, the image's root-owned files are root's.
    assert_eq!(u.ok(&["unshare", "sh", "-c", &script]).trim(), "0");
    u.ok(&["rm", "m1"]);
    // Limits need a cgroup the user does not have here.
    let e = u.fails(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--memory",
        "64m",
        &img,
        "true",
    ]);
    assert!(
        e.contains("--memory") && e.contains("--cgroups=disabled"),
        "{e}"
    );
    let out = u.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--cgroups=disabled",
        "--memory",
        "64m",
        &img,
        "echo",
        "ran",
    ]);
    assert_eq!(out.trim(), "ran");
    // Network host works too.
    u.ok(&[
        "run",
        "--rm",
        "--network",
        "host",
        &img,
        "ls",
        "/sys/class/net/lo",
    ]);
    // -it: a terminal of the container's own, through script(1)'s pty.
    if common::have("script") {
        let line = format!(
            "setpriv --reuid {n} --regid {n} --init-groups env -i HOME={h} \
             PATH=/usr/bin:/bin XDG_RUNTIME_DIR={x} {b} run --rm -it --network none {img} \
             sh -c 'tty; id -u'",
            n = u.name,
            h = u.home.display(),
            x = u.xdg.display(),
            b = common::berth_bin(),
        );
        let out = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).replace('\r', "");
        assert!(out.status.success(), "{text}");
        // (A NUL echoed as `^@` shows up under setpriv and env -i, as
        // root too: filtered here.)
        let lines: Vec<&str> = text
            .lines()
            .map(|l| l.trim_start_matches("^@"))
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(lines, ["/dev/pts/0", "0"], "{text}");
    }
}

#[test]
fn published_port_answers_on_the_hosts_loopback() {
    if !tools() {
        return;
    }
    if !common::have("pasta") {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "pasta missing");
        eprintln!("skipping: pasta missing");
        return;
    }
    // pasta opens /dev/net/tun as the user: udev's usual 0666 (this VM has
    // no udev); the mode is put back after.
    let tun = Path::new("/dev/net/tun");
    let mode = std::fs::metadata(tun).unwrap().permissions().mode() & 0o777;
    struct Restore(u32);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ =
                std::fs::set_permissions("/dev/net/tun", std::fs::Permissions::from_mode(self.0));
        }
    }
    let _restore = Restore(mode);
    std::fs::set_permissions(tun, std::fs::Permissions::from_mode(0o666)).unwrap();
    let reg = Registry::plain();
    common::seed_busybox(&reg, "busybox", "latest");
    let img = format!("{}/busybox:latest", reg.addr);
    let u = TestUser::new("net");
    u.ok(&["pull", "-q", "--tls-verify=false", &img]);
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    // No --network: pasta is the default.
    u.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        &format!("{port}:8080"),
        &img,
        "sh",
        "-c",
        "echo served > /tmp/index.html; httpd -f -p 8080 -h /tmp",
    ]);
    assert!(u.ok(&["port", "web"]).contains(&port.to_string()));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        let got = (|| -> std::io::Result<String> {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port))?;
            s.set_read_timeout(Some(std::time::Duration::from_secs(3)))?;
            s.write_all(b"GET /index.html HTTP/1.0\r\n\r\n")?;
            let mut out = String::new();
            s.read_to_string(&mut out)?;
            Ok(out)
        })();
        match got {
            Ok(b) if b.contains("served") => break b,
            _ if std::time::Instant::now() > deadline => panic!("no answer on {port}: {got:?}"),
            _ => std::thread::sleep(std::time::Duration::from_millis(100)),
        }
    };
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let pasta_running = || {
        u.pids().iter().any(|p| {
            std::fs::read(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.windows(7).any(|w| w == b"--netns"))
        })
    };
    assert!(pasta_running());
    u.ok(&["rm", "-f", "web"]);
    // pasta leaves with the namespace, and the port is free again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while pasta_running() {
        assert!(
            std::time::Instant::now() < deadline,
            "pasta outlived its container"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // The host side's sockets go with pasta's last process, which may
    // outlive the one the loop above saw leave by a moment.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "port {port} still answers after rm -f"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // No bridge for an unprivileged user.
    let e = u.fails(&["run", "--rm", "--network", "bridge", &img, "true"]);
    assert!(e.contains("pasta"), "{e}");
}

/// `uid:gid` on the host of every file named `name` under `dir`.
fn owners(dir: &Path, name: &str) -> Vec<String> {
    let out = Command::new("find")
        .arg(dir)
        .args(["-path", &format!("*/{name}"), "-printf", "%U:%G\n"])
        .output()
        .unwrap();
    let mut v: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    v.sort();
    v.dedup();
    v
}

#[test]
fn files_on_disk_have_the_owners_podman_gives_them() {
    if !tools() {
        return;
    }
    let reg = Registry::plain();
    let img = seed_owned(&reg);
    let u = TestUser::new("own");
    u.ok(&["pull", "-q", "--tls-verify=false", &img]);
    // Through the mapping: inside id N is sub + N - 1 outside, 0 the user.
    let (sub, uid) = (u.sub, u.uid);
    let expect = |name: &str, id_u: u32, id_g: u32| {
        let host = |id: u32| if id == 0 { uid } else { sub + id - 1 };
        let want = format!("{}:{}", host(id_u), host(id_g));
        let got = owners(&u.store(), name);
        assert_eq!(got, std::slice::from_ref(&want), "{name}");
        want
    };
    let mut berth_owners = vec![
        expect("owned", 1234, 2345),
        expect("owned/f", 65534, 65534),
        expect("owned/g", 1000, 1000),
        expect("bin/busybox", 0, 0),
    ];
    // Inside the container the image's owners are back.
    let out = u.ok(&[
        "run",
        "--rm",
        "--network",
        "none",
        &img,
        "stat",
        "-c",
        "%u:%g",
        "/owned",
        "/owned/f",
        "/owned/g",
    ]);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["1234:2345", "65534:65534", "1000:1000"]
    );
    if !common::have("podman") {
        assert_ne!(std::env::var("CI").as_deref(), Ok("true"), "podman missing");
        eprintln!("skipping the podman half: podman missing");
        return;
    }
    // podman rootless, as the same user, with a store of its own.
    let proot = u.home.join("podman-root");
    let prun = u.xdg.join("podman-run");
    let out = u
        .cmd("podman")
        .args(["--root", proot.to_str().unwrap()])
        .args(["--runroot", prun.to_str().unwrap()])
        .args(["--storage-driver", "vfs", "--events-backend", "file"])
        .args(["--cgroup-manager", "cgroupfs"])
        .args([
            "pull",
            "-q",
            "--tls-verify=false",
            &format!("docker://{img}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "podman pull: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut podman_owners = Vec::new();
    for name in ["owned", "owned/f", "owned/g", "bin/busybox"] {
        let got = owners(&proot, name);
        assert_eq!(got.len(), 1, "{name}: {got:?}");
        podman_owners.push(got[0].clone());
    }
    berth_owners.sort();
    podman_owners.sort();
    assert_eq!(berth_owners, podman_owners);
}

#[test]
fn two_users_cannot_see_or_touch_each_other() {
    if !tools() {
        return;
    }
    let reg = Registry::plain();
    common::seed_busybox(&reg, "busybox", "latest");
    let img = format!("{}/busybox:latest", reg.addr);
    let a = TestUser::new("a");
    let b = TestUser::new("b");
    for u in [&a, &b] {
        u.ok(&["pull", "-q", "--tls-verify=false", &img]);
    }
    a.ok(&[
        "run",
        "-d",
        "--name",
        "mine",
        "--network",
        "none",
        &img,
        "sleep",
        "100",
    ]);
    // b sees none of a's containers, and cannot stop them.
    assert!(!b.ok(&["ps", "-a"]).contains("mine"));
    b.fails(&["stop", "mine"]);
    // a's store, named outright, is refused before anything is read.
    let e = b.fails(&["--root", a.store().to_str().unwrap(), "images"]);
    assert!(e.contains("another user's store"), "{e}");
    let e = b.fails(&["--runroot", a.xdg.join("berth").to_str().unwrap(), "ps"]);
    assert!(e.contains("another user's store"), "{e}");
    // And the files would not let it anyway.
    let out = b.cmd("ls").arg(a.xdg.join("berth")).output().unwrap();
    assert!(!out.status.success());
    assert!(a.ok(&["ps"]).contains("mine"));
    a.ok(&["rm", "-f", "mine"]);
}

#[test]
fn bad_set_ups_get_clear_errors_and_change_nothing() {
    if !tools() {
        return;
    }
    let reg = Registry::plain();
    common::seed_busybox(&reg, "busybox", "latest");
    let img = format!("{}/busybox:latest", reg.addr);
    let u = TestUser::new("bad");
    let nothing_made = |u: &TestUser| {
        assert!(!u.store().exists());
        assert!(!u.xdg.join("berth").exists());
        assert!(u.pids().is_empty());
    };
    // XDG_RUNTIME_DIR naming a missing directory.
    let mut c = Command::new("setpriv");
    c.args(["--reuid", &u.name, "--regid", &u.name, "--init-groups"])
        .args(["env", "-i", &format!("HOME={}", u.home.display())])
        .args([
            "XDG_RUNTIME_DIR=/nonexistent/run",
            common::berth_bin(),
            "images",
        ])
        .current_dir("/");
    let out = c.output().unwrap();
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && e.contains("XDG_RUNTIME_DIR=/nonexistent/run"),
        "{e}"
    );
    nothing_made(&u);
    // Subordinate ranges overlapping another user's.
    let other = format!("brlother{}", std::process::id() % 100000);
    {
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        let mut text = std::fs::read_to_string("/etc/subuid").unwrap();
        text.push_str(&format!("{other}:{}:10\n", u.sub + 5));
        write_atomic("/etc/subuid", &text);
    }
    let e = u.fails(&["images"]);
    {
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        drop_lines("/etc/subuid", &other, u32::MAX);
    }
    assert!(e.contains("/etc/subuid") && e.contains("overlaps"), "{e}");
    nothing_made(&u);
    // No subordinate ids: one mapping, said once.
    {
        let _g = USERS.lock().unwrap_or_else(|e| e.into_inner());
        for f in ["/etc/subuid", "/etc/subgid"] {
            drop_lines(f, &u.name, u.uid);
        }
    }
    let first = u.berth(&["pull", "-q", "--tls-verify=false", &img]);
    let warn = String::from_utf8_lossy(&first.stderr);
    assert!(first.status.success(), "{warn}");
    assert!(warn.contains("no subordinate ids"), "{warn}");
    let second = u.berth(&[
        "run",
        "--rm",
        "--network",
        "none",
        &img,
        "cat",
        "/proc/self/uid_map",
    ]);
    let warn2 = String::from_utf8_lossy(&second.stderr);
    assert!(second.status.success(), "{warn2}");
    assert!(!warn2.contains("no subordinate ids"), "{warn2}");
    let map: Vec<String> = String::from_utf8_lossy(&second.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(map, ["0", &u.uid.to_string(), "1"]);
    // berth unshare as root is refused: root has no user namespace.
    let e = String::from_utf8_lossy(
        &Command::new(common::berth_bin())
            .args(["unshare", "true"])
            .output()
            .unwrap()
            .stderr,
    )
    .to_string();
    assert!(e.contains("unprivileged"), "{e}");
}
