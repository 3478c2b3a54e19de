//! Test helpers: a real distribution registry (Debian's docker-registry)
//! on 127.0.0.1 with an ephemeral port — plain HTTP, or TLS with a
//! self-signed certificate and htpasswd basic auth — and the berth binary.
#![allow(dead_code)]

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A running registry; killed (this PID only) on drop.
pub struct Registry {
    child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
    /// With TLS: the directory holding `<addr>/ca.crt` (a certs.d).
    pub certs_dir: Option<PathBuf>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

pub struct RegistryOpts {
    pub tls: bool,
    pub htpasswd: Option<(&'static str, &'static str)>,
}

impl Registry {
    pub fn plain() -> Registry {
        Registry::start(RegistryOpts {
            tls: false,
            htpasswd: None,
        })
    }

    pub fn start(opts: RegistryOpts) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let addr = format!("127.0.0.1:{port}");
        let mut http = format!("http:\n  addr: {addr}\n  secret: berth-test\n");
        let mut certs_dir = None;
        if opts.tls {
            // A CA and a leaf certificate it signs: rustls refuses a CA
            // certificate used directly as the server's.
            let d = dir.path();
            let script = format!(
                "set -e; cd {0}; \
                 openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=berth-test-ca -keyout ca.key -out ca.pem 2>/dev/null; \
                 openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout key.pem -out leaf.csr 2>/dev/null; \
                 printf 'subjectAltName=IP:127.0.0.1\\nbasicConstraints=CA:FALSE\\n' > ext.cnf; \
                 openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 -extfile ext.cnf -out cert.pem 2>/dev/null",
                d.display()
            );
            let st = Command::new("sh").args(["-c", &script]).status().unwrap();
            assert!(st.success(), "openssl failed");
            let key = d.join("key.pem");
            let cert = d.join("cert.pem");
            let ca = d.join("ca.pem");
            http.push_str(&format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                cert.display(),
                key.display()
            ));
            let cd = dir.path().join("certs.d");
            std::fs::create_dir_all(cd.join(&addr)).unwrap();
            std::fs::copy(&ca, cd.join(&addr).join("ca.crt")).unwrap();
            certs_dir = Some(cd);
        }
        let mut auth = String::new();
        if let Some((u, p)) = opts.htpasswd {
            let out = Command::new("htpasswd")
                .args(["-Bbn", u, p])
                .output()
                .unwrap();
            assert!(out.status.success(), "htpasswd failed");
            let f = dir.path().join("htpasswd");
            std::fs::write(&f, out.stdout).unwrap();
            auth = format!(
                "auth:\n  htpasswd:\n    realm: berth-test\n    path: {}\n",
                f.display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n{http}{auth}",
            dir.path().join("data").display()
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&addr).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start on {addr}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Registry {
            child,
            addr,
            dir,
            certs_dir,
        }
    }
}

pub fn berth_bin() -> &'static str {
    env!("CARGO_BIN_EXE_berth")
}

/// A berth invocation with its own storage root and an empty
/// registries.conf (plus an auth file) in `env_dir`.
pub struct Berth {
    pub root: PathBuf,
    pub conf: PathBuf,
    pub auth: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Berth {
    pub fn new() -> Berth {
        let dir = tempfile::tempdir_in(scratch()).unwrap();
        let conf = dir.path().join("registries.conf");
        std::fs::write(&conf, "unqualified-search-registries = []\n").unwrap();
        Berth {
            root: dir.path().join("root"),
            auth: dir.path().join("auth.json"),
            conf,
            dir,
        }
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(berth_bin());
        c.arg("--root")
            .arg(&self.root)
            .arg("--runroot")
            .arg(self.dir.path().join("run"))
            .arg("--registries-conf")
            .arg(&self.conf)
            .arg("--authfile")
            .arg(&self.auth);
        // The machine's policy.json, storage.conf and containers.conf stay
        // out: every system-wide config path moves under an empty directory.
        c.env("BERTH_CONFIG_ROOT", self.dir.path().join("sysconf"));
        for var in [
            "CONTAINERS_CONF",
            "CONTAINERS_CONF_OVERRIDE",
            "CONTAINERS_REGISTRIES_CONF",
            "CONTAINERS_STORAGE_CONF",
            "BERTH_CONTAINERS_CONF",
            "BERTH_STORAGE_CONF",
            "BERTH_SIGNATURE_POLICY",
            "BERTH_STORAGE_DRIVER",
        ] {
            c.env_remove(var);
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd().args(args).output().unwrap()
    }

    /// Run and assert success; stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "berth {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run and assert failure; stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.status.success(),
            "berth {args:?} unexpectedly succeeded: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8(out.stderr).unwrap()
    }
}

/// Scratch space on tmpfs when there is one (ext4 here is slow).
pub fn scratch() -> PathBuf {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        shm.to_path_buf()
    } else {
        std::env::temp_dir()
    }
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Push the busybox fixture to `registry` as `repo:tag` with skopeo.
pub fn seed_busybox(registry: &Registry, repo: &str, tag: &str) -> berth_testkit::OciLayout {
    let dir = tempfile::tempdir().unwrap();
    let layout = berth_testkit::write_oci_layout(dir.path(), tag).unwrap();
    let mut c = Command::new("skopeo");
    c.args(["copy", "-q", "--dest-tls-verify=false"])
        .arg(format!("oci:{}:{tag}", dir.path().display()))
        .arg(format!("docker://{}/{repo}:{tag}", registry.addr));
    run_ok(&mut c);
    layout
}

pub fn tools_present(tools: &[&str]) -> Result<(), String> {
    for t in tools {
        if !have(t) && !Path::new(t).exists() {
            return Err(format!("{t} not installed"));
        }
    }
    Ok(())
}

/// A registry over TLS serving `dir/domain.crt` (with `domain.key`), that
/// certificate pinned by its bytes in `dir/certs.d/ADDR/ca.crt`. Killed on
/// drop.
pub struct PinnedTlsRegistry {
    pub child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
}

impl PinnedTlsRegistry {
    /// Serve the certificate already made in `dir`.
    pub fn serve(dir: tempfile::TempDir) -> PinnedTlsRegistry {
        let d = dir.path();
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        std::fs::create_dir_all(d.join("certs.d").join(&addr)).unwrap();
        std::fs::copy(
            d.join("domain.crt"),
            d.join("certs.d").join(&addr).join("ca.crt"),
        )
        .unwrap();
        let cfg = d.join("config.yml");
        std::fs::write(
            &cfg,
            format!(
                "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: {addr}\n  secret: x\n  tls:\n    certificate: {}\n    key: {}\n",
                d.join("data").display(),
                d.join("domain.crt").display(),
                d.join("domain.key").display()
            ),
        )
        .unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(&addr).is_err() {
            assert!(Instant::now() < deadline, "registry did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        PinnedTlsRegistry { child, addr, dir }
    }
}

impl Drop for PinnedTlsRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
