//! A rootless container's network through pasta (Debian's `passt`), as
//! podman's default: the container's namespace is pinned like a bridge
//! container's, pasta joins it (`--netns PATH`) and gives it the host's
//! addresses and routes over a tap device, relaying its traffic through
//! ordinary sockets of the user's, and `-p` ports through sockets it
//! listens on in the host's namespace. pasta leaves by itself when the
//! pinned namespace is removed (it watches the path); its pid file is the
//! fallback.

use crate::network::netns;
use crate::network::ports::PortMapping;
use crate::network::Attachment;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The network name recorded in the container's attachment.
pub const NETWORK: &str = "pasta";

/// pasta failed to start, or the namespace around it.
#[derive(Debug, thiserror::Error)]
pub enum PastaError {
    /// pasta is not installed.
    #[error("--network pasta: pasta is not installed (Debian's passt package)")]
    Missing,
    /// pasta exited with an error.
    #[error("pasta refused to connect {netns}: {message}")]
    Failed {
        /// The pinned namespace.
        netns: PathBuf,
        /// Its stderr.
        message: String,
    },
    /// The pinned namespace could not be made or removed.
    #[error(transparent)]
    Netns(#[from] crate::network::NetError),
    /// The tun device is closed to the user.
    #[error(
        "--network pasta needs /dev/net/tun open to you ({0}): as root, chmod 0666 \
         /dev/net/tun (udev's usual mode), or use --network none or host"
    )]
    NoTun(nix::errno::Errno),
    /// No free host port for `-p CPORT`.
    #[error("finding a free host port for {0}: {1}")]
    NoPort(u16, std::io::Error),
}

/// Whether pasta is in PATH.
pub fn available() -> bool {
    find().is_some()
}

fn find() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("pasta"))
        .find(|p| p.is_file())
}

/// Pin a namespace at `netns`, connect it with pasta and forward `ports`
/// (a host port of 0 gets a free one). Nothing is left on an error.
pub fn up(netns: &Path, ports: &[PortMapping]) -> Result<Attachment, PastaError> {
    let pasta = find().ok_or(PastaError::Missing)?;
    nix::unistd::access(
        "/dev/net/tun",
        nix::unistd::AccessFlags::R_OK | nix::unistd::AccessFlags::W_OK,
    )
    .map_err(PastaError::NoTun)?;
    let ports = with_host_ports(ports)?;
    netns::create(netns)?;
    let log = netns.with_extension("pasta-log");
    let started = start(&pasta, netns, &ports, &log);
    let _ = std::fs::remove_file(&log);
    if let Err(e) = started {
        let _ = down(netns);
        return Err(e);
    }
    Ok(Attachment {
        network: NETWORK.into(),
        netns: netns.into(),
        ports,
        ..Attachment::default()
    })
}

fn start(pasta: &Path, netns: &Path, ports: &[PortMapping], log: &Path) -> Result<(), PastaError> {
    let failed = |message: String| PastaError::Failed {
        netns: netns.into(),
        message,
    };
    // pasta forks into the background once the namespace is set up; its
    // errors before that go to the log file (a pipe would stay open in
    // the background copy).
    let file = std::fs::File::create(log).map_err(|e| failed(format!("{}: {e}", log.display())))?;
    let status = Command::new(pasta)
        .args(args(netns, ports))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(file)
        .status()
        .map_err(|e| failed(e.to_string()))?;
    if status.success() {
        return Ok(());
    }
    let message = std::fs::read_to_string(log).unwrap_or_default();
    Err(failed(format!("{status}: {}", message.trim())))
}

/// pasta's command line: quiet, the namespace configured with the host's
/// addresses, only the published ports forwarded inbound, nothing from
/// the container to the host's own ports.
fn args(netns: &Path, ports: &[PortMapping]) -> Vec<String> {
    let mut a: Vec<String> = ["--config-net", "--quiet", "-T", "none", "-U", "none"]
        .map(String::from)
        .to_vec();
    for (flag, proto) in [("-t", "tcp"), ("-u", "udp")] {
        let specs: Vec<String> = ports
            .iter()
            .filter(|p| p.protocol == proto)
            .map(|p| match p.host_ip {
                Some(ip) => format!("{ip}/{}:{}", p.host_port, p.container_port),
                None => format!("{}:{}", p.host_port, p.container_port),
            })
            .collect();
        a.push(flag.into());
        a.push(if specs.is_empty() {
            "none".into()
        } else {
            specs.join(",")
        });
    }
    a.push("--netns".into());
    a.push(netns.display().to_string());
    a
}

/// `ports` with each host port 0 replaced by a free one.
fn with_host_ports(ports: &[PortMapping]) -> Result<Vec<PortMapping>, PastaError> {
    ports
        .iter()
        .map(|p| {
            let mut p = p.clone();
            if p.host_port == 0 {
                let free = if p.protocol == "udp" {
                    std::net::UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr())
                } else {
                    std::net::TcpListener::bind("127.0.0.1:0").and_then(|s| s.local_addr())
                };
                p.host_port = free
                    .map_err(|e| PastaError::NoPort(p.container_port, e))?
                    .port();
            }
            Ok(p)
        })
        .collect()
}

/// Remove the pinned namespace; pasta sees it go and exits.
pub fn down(netns: &Path) -> Result<(), PastaError> {
    if netns.exists() {
        netns::remove(netns)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let p = |h, c, proto: &str| PortMapping {
            host_ip: None,
            host_port: h,
            container_port: c,
            protocol: proto.into(),
        };
        let mut lo = p(8080, 80, "tcp");
        lo.host_ip = Some("127.0.0.1".parse().unwrap());
        let a = args(
            Path::new("/run/n/x"),
            &[lo, p(9000, 90, "tcp"), p(5353, 53, "udp")],
        );
        assert_eq!(
            a.join(" "),
            "--config-net --quiet -T none -U none -t 127.0.0.1/8080:80,9000:90 -u 5353:53 \
             --netns /run/n/x"
        );
        assert!(args(Path::new("/n"), &[])
            .join(" ")
            .contains("-t none -u none"));
    }
}
