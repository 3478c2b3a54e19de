//! systemd's `NOTIFY_SOCKET` for a container run in the foreground (a
//! `Type=notify` unit whose ExecStart is `berth-runtime run`), as runc
//! does it: the host's socket is not handed into the container. The
//! runtime binds a datagram socket of its own in a private directory,
//! which is bind-mounted at `/run/notify` inside with
//! `NOTIFY_SOCKET=/run/notify/notify.sock` set for the process, and relays
//! what arrives to the host's socket. The messages then come from the
//! runtime, the unit's main process, so systemd accepts them under the
//! default `NotifyAccess=main`, wherever the container's cgroup is.
//! `MAINPID=` is dropped: a pid in the container's namespace means nothing
//! to systemd.

use crate::error::{Error, Result};
use oci_spec::runtime::{MountBuilder, Spec};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};

/// Where the relay's directory appears inside the container.
pub const CONTAINER_DIR: &str = "/run/notify";
const SOCKET: &str = "notify.sock";

/// The relay of one foreground run; its directory goes when it is dropped.
pub struct NotifyRelay {
    dir: PathBuf,
    socket: UnixDatagram,
    host: SocketAddr,
}

impl NotifyRelay {
    /// A relay when `NOTIFY_SOCKET` is set (a path or an `@abstract`
    /// name), in a directory under the state root `root`.
    pub fn from_env(root: &Path, id: &str) -> Result<Option<NotifyRelay>> {
        let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
            return Ok(None);
        };
        let target = target.to_string_lossy().into_owned();
        let host = match target.strip_prefix('@') {
            Some(name) => {
                use std::os::linux::net::SocketAddrExt as _;
                SocketAddr::from_abstract_name(name.as_bytes())
            }
            None => SocketAddr::from_pathname(&target),
        }
        .map_err(|e| Error::io("NOTIFY_SOCKET", &target, e))?;
        let dir = root.join(format!("{id}.notify"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| Error::io("create", &dir, e))?;
        let made = (|| {
            use std::os::unix::fs::PermissionsExt as _;
            // Any user in the container may notify, as with systemd's own socket.
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))?;
            let path = dir.join(SOCKET);
            let socket = UnixDatagram::bind(&path)?;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))?;
            Ok(socket)
        })();
        match made {
            Ok(socket) => Ok(Some(NotifyRelay { dir, socket, host })),
            Err(e) => {
                let _ = std::fs::remove_dir_all(&dir);
                Err(Error::io("bind notify socket in", dir, e))
            }
        }
    }

    /// The host directory to bind at [`CONTAINER_DIR`].
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Relay messages on a thread for as long as the runtime runs.
    pub fn start(&self) -> Result<()> {
        let socket = self
            .socket
            .try_clone()
            .map_err(|e| Error::io("clone notify socket", &self.dir, e))?;
        let host = self.host.clone();
        std::thread::spawn(move || relay(socket, host));
        Ok(())
    }
}

impl Drop for NotifyRelay {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn relay(socket: UnixDatagram, host: SocketAddr) {
    let Ok(out) = UnixDatagram::unbound() else {
        return;
    };
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        let text = String::from_utf8_lossy(&buf[..n]);
        let kept: Vec<&str> = text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with("MAINPID="))
            .collect();
        if !kept.is_empty() {
            let _ = out.send_to_addr(kept.join("\n").as_bytes(), &host);
        }
    }
}

/// Bind `dir` at [`CONTAINER_DIR`] and point the process's
/// `NOTIFY_SOCKET` at the socket in it.
pub fn apply(spec: &mut Spec, dir: &Path) -> Result<()> {
    let mount = MountBuilder::default()
        .destination(CONTAINER_DIR)
        .typ("bind")
        .source(dir)
        .options(vec![
            "bind".to_string(),
            "nosuid".into(),
            "nodev".into(),
            "noexec".into(),
        ])
        .build()
        .map_err(|e| Error::InvalidConfig {
            field: "mounts",
            reason: e.to_string(),
        })?;
    let mut mounts = spec.mounts().clone().unwrap_or_default();
    mounts.push(mount);
    spec.set_mounts(Some(mounts));
    if let Some(process) = spec.process_mut() {
        let mut env = process.env().clone().unwrap_or_default();
        env.retain(|e| !e.starts_with("NOTIFY_SOCKET="));
        env.push(format!("NOTIFY_SOCKET={CONTAINER_DIR}/{SOCKET}"));
        process.set_env(Some(env));
    }
    Ok(())
}
