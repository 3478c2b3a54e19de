//! `run --sdnotify=container|conmon|ignore`, podman's meanings, for a
//! `berth run` that a `Type=notify` unit starts (systemd's
//! `NOTIFY_SOCKET` in its environment, recorded at create as podman
//! records it):
//!
//! - `container` (the default): the container gets a socket of its own,
//!   `/run/notify/notify.sock` (a directory of its bundle bound there, as
//!   `berth-runtime run` does for system containers), and the container's
//!   waiter — the foreground `berth run`, or the monitor of a detached
//!   one, conmon's place — relays what arrives to the recorded socket.
//!   `MAINPID=` becomes the waiter's pid (a pid in the container's
//!   namespace means nothing to systemd) and `READY=1` carries it, so
//!   systemd follows the process that outlives `berth run -d`.
//! - `conmon`: the container sees no socket; its waiter sends
//!   `MAINPID=<own pid>` and `READY=1` once the container started.
//! - `ignore`: nothing is recorded or sent.
//!
//! The OCI runtime never gets `NOTIFY_SOCKET` (`Runtime` removes it): it
//! would relay on its own.

use crate::error::{IoContext as _, Result};
use crate::life_options::{LifeOptionError, LifeOptions};
use oci_spec::runtime::{MountBuilder, Spec};
use serde::{Deserialize, Serialize};
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};

/// Where the container's notify directory is bound.
pub const CONTAINER_DIR: &str = "/run/notify";
/// The socket in it.
const SOCKET: &str = "notify.sock";
/// The directory in the bundle.
const BUNDLE_DIR: &str = "notify";

/// What `--sdnotify` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SdNotifyMode {
    /// The container's own messages reach the socket.
    Container,
    /// berth says READY once the container started.
    Conmon,
}

/// A container's notify setting, kept with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SdNotify {
    /// How.
    pub mode: SdNotifyMode,
    /// The service manager's socket: a path, or `@name` (abstract).
    pub socket: String,
}

impl SdNotify {
    /// From `--sdnotify` (None: podman's default, `container`) and the
    /// caller's `NOTIFY_SOCKET`: None with `ignore` or without a socket.
    pub fn from_flag(
        flag: Option<&str>,
        socket: Option<String>,
    ) -> std::result::Result<Option<SdNotify>, LifeOptionError> {
        let mode = match flag.unwrap_or("container") {
            "" | "container" => Some(SdNotifyMode::Container),
            "conmon" => Some(SdNotifyMode::Conmon),
            "ignore" => None,
            other => return Err(LifeOptionError::SdNotify(other.into())),
        };
        Ok(match (mode, socket) {
            (Some(mode), Some(socket)) if !socket.is_empty() => Some(SdNotify { mode, socket }),
            _ => None,
        })
    }
}

/// With `container`: bind the bundle's notify directory at
/// [`CONTAINER_DIR`] and point the process's `NOTIFY_SOCKET` at the
/// socket the waiter binds there.
pub(crate) fn apply(spec: &mut Spec, life: &LifeOptions, bundle: &Path) -> Result<()> {
    let Some(SdNotify {
        mode: SdNotifyMode::Container,
        ..
    }) = &life.sd_notify
    else {
        return Ok(());
    };
    let dir = bundle.join(BUNDLE_DIR);
    std::fs::create_dir_all(&dir).ctx("create", &dir)?;
    {
        use std::os::unix::fs::PermissionsExt as _;
        // Any user in the container may notify, as with systemd's socket.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .ctx("chmod", &dir)?;
    }
    let mount = MountBuilder::default()
        .destination(CONTAINER_DIR)
        .typ("bind")
        .source(&dir)
        .options(vec![
            "rbind".to_string(),
            "rprivate".into(),
            "nosuid".into(),
            "nodev".into(),
            "noexec".into(),
        ])
        .build()
        .map_err(|e| crate::error::Error::InvalidConfig(format!("notify mount: {e}")))?;
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

/// The waiter's side: opened before the launch (the container may notify
/// at once), told when the container started. The socket goes when it is
/// dropped.
pub(crate) struct Notifier {
    mode: SdNotifyMode,
    host: SocketAddr,
    bound: Option<PathBuf>,
}

fn host_addr(socket: &str) -> Result<SocketAddr> {
    match socket.strip_prefix('@') {
        Some(name) => {
            use std::os::linux::net::SocketAddrExt as _;
            SocketAddr::from_abstract_name(name.as_bytes())
        }
        None => SocketAddr::from_pathname(socket),
    }
    .ctx("NOTIFY_SOCKET", socket)
}

impl Notifier {
    /// The notifier of a container with `life`'s setting whose bundle is
    /// `bundle`; None when it has none. With `container` the relay runs
    /// from here on, on a thread of its own.
    pub(crate) fn open(life: &LifeOptions, bundle: &Path) -> Result<Option<Notifier>> {
        let Some(n) = &life.sd_notify else {
            return Ok(None);
        };
        let host = host_addr(&n.socket)?;
        let mut out = Notifier {
            mode: n.mode,
            host,
            bound: None,
        };
        if n.mode == SdNotifyMode::Container {
            let dir = bundle.join(BUNDLE_DIR);
            std::fs::create_dir_all(&dir).ctx("create", &dir)?;
            let path = dir.join(SOCKET);
            let _ = std::fs::remove_file(&path);
            let socket = bind_in(&dir).ctx("bind notify socket", &path)?;
            {
                use std::os::unix::fs::PermissionsExt as _;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777))
                    .ctx("chmod", &path)?;
            }
            out.bound = Some(path);
            let host = out.host.clone();
            spawn_without_signals(move || relay(socket, host, std::process::id()));
        }
        Ok(Some(out))
    }

    /// The container started: with `conmon`, say READY with our pid.
    pub(crate) fn started(&self) {
        if self.mode == SdNotifyMode::Conmon {
            send(
                &self.host,
                &format!("MAINPID={}\nREADY=1", std::process::id()),
            );
        }
    }
}

impl Drop for Notifier {
    fn drop(&mut self) {
        if let Some(p) = &self.bound {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Bind [`SOCKET`] in `dir` through `/proc/self/fd/N/`: a bundle's path
/// can pass the 108 bytes a socket address holds.
fn bind_in(dir: &Path) -> std::io::Result<UnixDatagram> {
    use std::os::fd::AsRawFd as _;
    let d = std::fs::File::open(dir)?;
    UnixDatagram::bind(format!("/proc/self/fd/{}/{SOCKET}", d.as_raw_fd()))
}

fn send(host: &SocketAddr, text: &str) {
    // Best effort, as sd_notify(3): a manager that went away or does not
    // listen is no reason to stop the container.
    if let Ok(out) = UnixDatagram::unbound() {
        let _ = out.send_to_addr(text.as_bytes(), host);
    }
}

/// A thread that takes no signal: the waiter's signal handling (the
/// foreground run forwards, the monitor watches SIGCHLD) stays on the
/// threads that expect it.
fn spawn_without_signals(f: impl FnOnce() + Send + 'static) {
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow};
    let mut old = SigSet::empty();
    let blocked = pthread_sigmask(
        SigmaskHow::SIG_SETMASK,
        Some(&SigSet::all()),
        Some(&mut old),
    );
    std::thread::spawn(f);
    if blocked.is_ok() {
        let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
    }
}

fn relay(socket: UnixDatagram, host: SocketAddr, pid: u32) {
    let mut buf = vec![0u8; 4096];
    while let Ok(n) = socket.recv(&mut buf) {
        let text = rewrite(&String::from_utf8_lossy(&buf[..n]), pid);
        if !text.is_empty() {
            send(&host, &text);
        }
    }
}

/// The container's message as the service manager gets it: `MAINPID=` is
/// ours, and `READY=1` carries it.
fn rewrite(text: &str, pid: u32) -> String {
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.is_empty())
        .map(|l| match l.starts_with("MAINPID=") {
            true => format!("MAINPID={pid}"),
            false => l.to_string(),
        })
        .collect();
    if lines.iter().any(|l| l == "READY=1") && !lines.iter().any(|l| l.starts_with("MAINPID=")) {
        lines.push(format!("MAINPID={pid}"));
    }
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_and_socket() {
        let s = || Some("/run/x".to_string());
        assert_eq!(
            SdNotify::from_flag(None, s()).unwrap().unwrap().mode,
            SdNotifyMode::Container
        );
        assert_eq!(
            SdNotify::from_flag(Some("conmon"), s())
                .unwrap()
                .unwrap()
                .mode,
            SdNotifyMode::Conmon
        );
        assert!(SdNotify::from_flag(Some("ignore"), s()).unwrap().is_none());
        assert!(SdNotify::from_flag(Some("conmon"), None).unwrap().is_none());
        assert!(SdNotify::from_flag(Some("bogus"), s()).is_err());
    }

    #[test]
    fn mainpid_is_the_waiters() {
        assert_eq!(rewrite("READY=1\nMAINPID=1\n", 42), "READY=1\nMAINPID=42");
        assert_eq!(
            rewrite("READY=1\nSTATUS=up", 42),
            "READY=1\nSTATUS=up\nMAINPID=42"
        );
        assert_eq!(rewrite("STATUS=starting", 42), "STATUS=starting");
    }
}
