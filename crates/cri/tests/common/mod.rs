//! A real berthd for each test: its own store, runroot, socket and cgroup
//! parent under `/berth-test/`, driven over its socket by tonic's
//! generated clients; and a real registry (Debian's docker-registry) on
//! 127.0.0.1 holding the busybox fixture. On drop: the pods and containers
//! left are removed through berthd, berthd is killed by its PID, mounts
//! under the test's directory are undone, the cgroup removed.
#![allow(dead_code)]

use berth_cri::proto::image_service_client::ImageServiceClient;
use berth_cri::proto::runtime_service_client::RuntimeServiceClient;
use berth_cri::proto::*;
use hyper_util::rt::TokioIo;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tonic::transport::{Channel, Endpoint, Uri};

pub const BERTHD: &str = env!("CARGO_BIN_EXE_berthd");

/// Build berth-runtime, berth-monitor and the berth CLI next to berthd, once per test
/// process (`cargo test -p berth-cri` builds neither).
pub fn build_helpers() {
    static BUILD: std::sync::Once = std::sync::Once::new();
    BUILD.call_once(|| {
        let st = Command::new(env!("CARGO"))
            .args([
                "build",
                "-q",
                "-p",
                "berth-runtime",
                "-p",
                "berth-engine",
                "--bins",
            ])
            .env_remove("CARGO_MANIFEST_DIR")
            .status()
            .expect("cargo build");
        assert!(
            st.success(),
            "building berth-runtime and berth-monitor failed"
        );
    });
}

/// A running registry; killed (this PID only) on drop.
pub struct Registry {
    child: Child,
    pub addr: String,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// A plain-HTTP registry holding the busybox fixture as `busybox:1`.
    pub fn with_busybox() -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = format!("127.0.0.1:{port}");
        let config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {addr}\n  secret: berth-test\n",
            dir.path().join("data").display()
        );
        let cfg = dir.path().join("config.yml");
        std::fs::write(&cfg, config).unwrap();
        let child = Command::new("/usr/bin/docker-registry")
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
        let reg = Registry {
            child,
            addr,
            _dir: dir,
        };
        let layout = tempfile::tempdir().unwrap();
        berth_testkit::write_oci_layout(layout.path(), "1").unwrap();
        let out = Command::new("skopeo")
            .args(["copy", "-q", "--dest-tls-verify=false"])
            .arg(format!("oci:{}:1", layout.path().display()))
            .arg(format!("docker://{}/busybox:1", reg.addr))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        reg
    }

    /// The fixture's name in this registry.
    pub fn busybox(&self) -> String {
        format!("{}/busybox:1", self.addr)
    }
}

/// One berthd with its own everything.
pub struct Berthd {
    pub dir: tempfile::TempDir,
    pub socket: PathBuf,
    pub config: PathBuf,
    pub cgroup_parent: String,
    child: Option<Child>,
}

impl Berthd {
    /// Write the configuration and start berthd; ready when its socket
    /// answers.
    pub fn start() -> Berthd {
        Berthd::start_with("")
    }

    /// [`Berthd::start`] with `extra` lines of configuration.
    pub fn start_with(extra: &str) -> Berthd {
        build_helpers();
        let dir = tempfile::Builder::new()
            .prefix("berthd-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        let cgroup_parent = berth_testkit::test_cgroup_path(&berth_testkit::unique_name("berthd"));
        std::fs::write(
            d.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .unwrap();
        let config = d.join("berthd.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"{0}/berthd.sock\"\nroot = \"{0}/root\"\nrunroot = \"{0}/run\"\ncgroup_parent = \"{1}\"\n\
                 registries_conf = \"{0}/registries.conf\"\nauth_file = \"{0}/auth.json\"\ntls_verify = false\n\
                 log_dir = \"{0}/logs\"\nlog_level = \"debug\"\n{2}\n",
                d.display(),
                cgroup_parent,
                extra
            ),
        )
        .unwrap();
        let mut b = Berthd {
            socket: d.join("berthd.sock"),
            config,
            cgroup_parent,
            dir,
            child: None,
        };
        b.spawn();
        b
    }

    /// Start (again) the berthd process over the same configuration.
    pub fn spawn(&mut self) {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join("berthd.log"))
            .unwrap();
        let child = Command::new(BERTHD)
            .arg("--config")
            .arg(&self.config)
            .env("BERTH_CONFIG_ROOT", self.dir.path().join("sysconf"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::os::unix::net::UnixStream::connect(&self.socket).is_err() {
            if let Some(st) = self.child.as_mut().and_then(|c| c.try_wait().unwrap()) {
                panic!("berthd exited ({st}): {}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "berthd did not listen: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL this berthd (by its PID), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The berth CLI over this berthd's store and runroot; its stdout.
    pub fn berth(&self, args: &[&str]) -> String {
        let d = self.dir.path();
        let out = Command::new(Path::new(BERTHD).with_file_name("berth"))
            .arg("--root")
            .arg(d.join("root"))
            .arg("--runroot")
            .arg(d.join("run"))
            .args(args)
            .env("BERTH_CONFIG_ROOT", d.join("sysconf"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// berthd's PID.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    /// What berthd logged.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("berthd.log")).unwrap_or_default()
    }

    async fn channel(&self) -> Channel {
        let path = self.socket.clone();
        Endpoint::try_from("http://[::]:50051")
            .unwrap()
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let path = path.clone();
                async move {
                    Ok::<_, std::io::Error>(TokioIo::new(
                        tokio::net::UnixStream::connect(path).await?,
                    ))
                }
            }))
            .await
            .unwrap()
    }

    /// A RuntimeService client over the socket.
    pub async fn runtime(&self) -> RuntimeServiceClient<Channel> {
        RuntimeServiceClient::new(self.channel().await)
    }

    /// An ImageService client over the socket.
    pub async fn images(&self) -> ImageServiceClient<Channel> {
        ImageServiceClient::new(self.channel().await)
    }

    /// Remove every pod and container left, through berthd.
    async fn clean(&self) {
        let mut rt = self.runtime().await;
        if let Ok(r) = rt.list_containers(ListContainersRequest::default()).await {
            for c in r.into_inner().containers {
                let _ = rt
                    .remove_container(RemoveContainerRequest { container_id: c.id })
                    .await;
            }
        }
        if let Ok(r) = rt.list_pod_sandbox(ListPodSandboxRequest::default()).await {
            for p in r.into_inner().items {
                let _ = rt
                    .remove_pod_sandbox(RemovePodSandboxRequest {
                        pod_sandbox_id: p.id,
                    })
                    .await;
            }
        }
    }

    /// Mount points under this berthd's directory.
    pub fn mounts(&self) -> Vec<String> {
        mounts_under(self.dir.path())
    }
}

/// Mount points under `dir` (from /proc/self/mountinfo).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = dir.display().to_string();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&prefix))
        .collect()
}

impl Drop for Berthd {
    fn drop(&mut self) {
        if self.child.is_some() {
            // On a thread with a runtime of its own: drop may run inside
            // the test's runtime, which cannot block on another.
            let this = &*self;
            std::thread::scope(|s| {
                s.spawn(|| {
                    if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    {
                        rt.block_on(this.clean());
                    }
                });
            });
        }
        self.kill();
        let mut left = mounts_under(self.dir.path());
        left.sort_by_key(|m| std::cmp::Reverse(m.len()));
        for m in left {
            let _ = Command::new("umount").arg("-l").arg(&m).status();
        }
        berth_testkit::remove_test_cgroup(&self.cgroup_parent);
        if !mounts_under(self.dir.path()).is_empty() {
            // Never delete a directory something is still mounted in.
            std::mem::forget(std::mem::replace(
                &mut self.dir,
                tempfile::tempdir().unwrap(),
            ));
        }
    }
}

/// kubelet's pod config, as crictl's example sends it.
pub fn pod_config(name: &str, uid: &str) -> PodSandboxConfig {
    PodSandboxConfig {
        metadata: Some(PodSandboxMetadata {
            name: name.into(),
            uid: uid.into(),
            namespace: "default".into(),
            attempt: 0,
        }),
        hostname: name.into(),
        labels: [("app".to_string(), name.to_string())].into(),
        ..Default::default()
    }
}

/// A busybox container config running `sh -c SCRIPT`, logging to `log`.
pub fn container_config(name: &str, image: &str, script: &str, log: &str) -> ContainerConfig {
    ContainerConfig {
        metadata: Some(ContainerMetadata {
            name: name.into(),
            attempt: 0,
        }),
        image: Some(ImageSpec {
            image: image.into(),
            ..Default::default()
        }),
        command: vec!["sh".into(), "-c".into(), script.into()],
        log_path: log.into(),
        labels: [("ctr".to_string(), name.to_string())].into(),
        ..Default::default()
    }
}

/// Poll `f` until it is true or `secs` pass.
pub fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

/// The busybox image pulled through berthd from `reg`; its image ref.
pub async fn pull(b: &Berthd, reg: &Registry) -> String {
    b.images()
        .await
        .pull_image(PullImageRequest {
            image: Some(ImageSpec {
                image: reg.busybox(),
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .image_ref
}

/// A pod with one started container running `script`; (pod, container).
pub async fn pod_with(
    rt: &mut RuntimeServiceClient<Channel>,
    image: &str,
    name: &str,
    script: &str,
) -> (String, String) {
    let pcfg = pod_config(name, &format!("uid-{name}"));
    let pod = rt
        .run_pod_sandbox(RunPodSandboxRequest {
            config: Some(pcfg.clone()),
            runtime_handler: String::new(),
        })
        .await
        .unwrap()
        .into_inner()
        .pod_sandbox_id;
    let ctr = rt
        .create_container(CreateContainerRequest {
            pod_sandbox_id: pod.clone(),
            config: Some(container_config(name, image, script, "c.log")),
            sandbox_config: Some(pcfg),
        })
        .await
        .unwrap()
        .into_inner()
        .container_id;
    rt.start_container(StartContainerRequest {
        container_id: ctr.clone(),
    })
    .await
    .unwrap();
    (pod, ctr)
}
