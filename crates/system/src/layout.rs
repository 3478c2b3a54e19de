//! Where system containers live on the host. Every directory is
//! configurable so tests install into a temporary root.

use std::path::{Path, PathBuf};

/// The host directories and binaries system containers use.
#[derive(Debug, Clone)]
pub struct SystemLayout {
    /// Deployments and their links (`/var/lib/berth/system`).
    pub root: PathBuf,
    /// Where units are written (`/etc/systemd/system`).
    pub unit_dir: PathBuf,
    /// Where tmpfiles.d snippets are written (`/etc/tmpfiles.d`).
    pub tmpfiles_dir: PathBuf,
    /// `$STATE_DIRECTORY`: a container's persistent data is under it (`/var/lib`).
    pub state_dir: PathBuf,
    /// `$RUN_DIRECTORY`: a container's run-time files are under it (`/run`).
    pub run_dir: PathBuf,
    /// The OCI runtime binary the unit runs.
    pub runtime: PathBuf,
    /// The runtime's `--root` (its state), `/run/berth-system`.
    pub runtime_root: PathBuf,
    /// The absolute cgroup the containers' cgroups go under.
    pub cgroup_parent: String,
}

impl SystemLayout {
    /// The host's layout, with `runtime` as the OCI runtime.
    pub fn host(runtime: PathBuf) -> SystemLayout {
        SystemLayout {
            root: "/var/lib/berth/system".into(),
            unit_dir: "/etc/systemd/system".into(),
            tmpfiles_dir: "/etc/tmpfiles.d".into(),
            state_dir: "/var/lib".into(),
            run_dir: "/run".into(),
            runtime,
            runtime_root: "/run/berth-system".into(),
            cgroup_parent: "/berth-system".into(),
        }
    }

    /// The link to `name`'s current deployment.
    pub fn link(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Deployment `index` (0 or 1) of `name`.
    pub fn deployment(&self, name: &str, index: u8) -> PathBuf {
        self.root.join(format!("{name}.{index}"))
    }

    /// `name`'s unit file.
    pub fn unit(&self, name: &str) -> PathBuf {
        self.unit_dir.join(format!("{name}.service"))
    }

    /// `name`'s tmpfiles.d snippet.
    pub fn tmpfiles(&self, name: &str) -> PathBuf {
        self.tmpfiles_dir.join(format!("berth-{name}.conf"))
    }

    /// `name`'s persistent data directory.
    pub fn state(&self, name: &str) -> PathBuf {
        self.state_dir.join(name)
    }

    /// `name`'s run-time directory.
    pub fn run(&self, name: &str) -> PathBuf {
        self.run_dir.join(name)
    }
}

/// Whether systemd is PID 1 here (only then `systemctl` is asked anything).
pub(crate) fn systemd_is_pid1() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// An exclusive flock on the deployment root, held while a system
/// container's files are checked and changed: two installs of one name
/// cannot both pass the "not installed" check.
pub(crate) struct RootLock {
    _lock: nix::fcntl::Flock<std::fs::File>,
}

impl SystemLayout {
    /// Take [`RootLock`] (waiting for another holder).
    pub(crate) fn lock(&self) -> crate::Result<RootLock> {
        use crate::error::IoContext as _;
        std::fs::create_dir_all(&self.root).ctx("create", &self.root)?;
        let path = self.root.join(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .ctx("open", &path)?;
        let lock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive).map_err(
            |(_, e)| crate::Error::Io {
                op: "lock",
                path,
                source: e.into(),
            },
        )?;
        Ok(RootLock { _lock: lock })
    }
}
