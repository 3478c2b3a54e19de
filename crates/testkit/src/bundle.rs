//! An OCI runtime bundle: a busybox rootfs and a `config.json` a test can edit.

use crate::{populate_busybox_rootfs, test_cgroup_path, unique_name};
use serde_json::{json, Value};
use std::io;
use std::path::{Path, PathBuf};
use tempfile::TempDir;

/// The capabilities `runc spec` grants by default.
const DEFAULT_CAPS: [&str; 3] = ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"];

/// A `config.json` like `runc spec` writes, running `args`, with its cgroup
/// at the absolute `cgroups_path`.
pub fn default_config(args: &[&str], cgroups_path: &str) -> Value {
    json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPS, "effective": DEFAULT_CAPS, "permitted": DEFAULT_CAPS,
                "inheritable": [], "ambient": []
            },
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
            "noNewPrivileges": true
        },
        "root": {"path": "rootfs", "readonly": true},
        "hostname": "berth",
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc"},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "cgroupsPath": cgroups_path,
            "resources": {"devices": [{"allow": false, "access": "rwm"}]},
            "namespaces": [
                {"type": "pid"}, {"type": "network"}, {"type": "ipc"},
                {"type": "uts"}, {"type": "mount"}, {"type": "cgroup"}
            ],
            "maskedPaths": [
                "/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                "/proc/scsi"
            ],
            "readonlyPaths": [
                "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"
            ]
        }
    })
}

/// A bundle directory in a temporary location, removed on drop.
pub struct Bundle {
    dir: TempDir,
    /// The container id tests should use for this bundle (unique per run).
    pub id: String,
    /// The absolute cgroup path written into `linux.cgroupsPath`.
    pub cgroups_path: String,
    /// The config that [`Bundle::write_config`] writes; edit it freely.
    pub config: Value,
}

impl Bundle {
    /// A busybox bundle running `args`, with a unique id and test cgroup.
    pub fn new(args: &[&str]) -> io::Result<Self> {
        Self::new_in(std::env::temp_dir().as_path(), args)
    }

    /// Like [`Bundle::new`], with the bundle placed under `parent`.
    pub fn new_in(parent: &Path, args: &[&str]) -> io::Result<Self> {
        let id = unique_name("berth-test");
        let dir = tempfile::Builder::new()
            .prefix("berth-bundle-")
            .tempdir_in(parent)?;
        populate_busybox_rootfs(&dir.path().join("rootfs"))?;
        let cgroups_path = test_cgroup_path(&id);
        let config = default_config(args, &cgroups_path);
        let bundle = Bundle {
            dir,
            id,
            cgroups_path,
            config,
        };
        bundle.write_config()?;
        Ok(bundle)
    }

    /// The bundle directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// The rootfs directory inside the bundle.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.path().join("rootfs")
    }

    /// Write `self.config` to `config.json`.
    pub fn write_config(&self) -> io::Result<()> {
        let text = serde_json::to_vec_pretty(&self.config).map_err(io::Error::other)?;
        std::fs::write(self.dir.path().join("config.json"), text)
    }

    /// Keep the bundle on disk after the value is dropped (for scripts).
    pub fn keep(self) -> PathBuf {
        self.dir.keep()
    }
}
