//! Published ports: `-p [hostIP:][hostPort:]ctrPort[/proto]` parsing, and
//! the host ports berth reserves by binding them itself (as podman does),
//! so a port already taken is a clear error before any netfilter rule, and
//! nobody else can take it while the container lives.

use super::NetError;
use nix::sys::socket::SockaddrStorage;
use nix::sys::socket::{bind, getsockname, socket, AddressFamily, SockFlag, SockType};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::OwnedFd;

/// One published port, in the shape of CNI's `portMappings` capability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    /// The host address; None is every address.
    #[serde(rename = "hostIP", default, skip_serializing_if = "Option::is_none")]
    pub host_ip: Option<IpAddr>,
    /// The host port; 0 until a random one is reserved.
    pub host_port: u16,
    /// The port inside the container.
    pub container_port: u16,
    /// `tcp` or `udp`.
    pub protocol: String,
}

impl PortMapping {
    /// Parse a `-p` value.
    pub fn parse(s: &str) -> Result<PortMapping, NetError> {
        let bad = |why: &str| NetError::BadPort(s.into(), why.into());
        let (spec, protocol) = match s.rsplit_once('/') {
            Some((p, proto @ ("tcp" | "udp"))) => (p, proto),
            Some(_) => return Err(bad("the protocol is tcp or udp")),
            None => (s, "tcp"),
        };
        let port = |p: &str| -> Result<u16, NetError> {
            p.parse::<u16>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| bad("ports are numbers from 1 to 65535"))
        };
        // An IPv6 host address is bracketed: [::1]:8080:80.
        let (host_ip, rest) = match spec.strip_prefix('[') {
            Some(r) => {
                let (ip, rest) = r.split_once("]:").ok_or_else(|| bad("unclosed ["))?;
                (Some(ip), rest)
            }
            None => match spec.matches(':').count() {
                2 => {
                    let (ip, rest) = spec.split_once(':').unwrap_or_default();
                    (Some(ip), rest)
                }
                _ => (None, spec),
            },
        };
        let host_ip = match host_ip.filter(|h| !h.is_empty()) {
            Some(h) => Some(h.parse().map_err(|_| bad("bad host address"))?),
            None => None,
        };
        let (host_port, container_port) = match rest.split_once(':') {
            Some(("", c)) => (0, port(c)?),
            Some((h, c)) => (port(h)?, port(c)?),
            None => (0, port(rest)?),
        };
        Ok(PortMapping {
            host_ip,
            host_port,
            container_port,
            protocol: protocol.into(),
        })
    }

    /// `-P`: an image's `ExposedPorts` key (`80/tcp`) on a random host port.
    pub fn exposed(key: &str) -> Option<PortMapping> {
        let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
        Some(PortMapping {
            host_ip: None,
            host_port: 0,
            container_port: port.parse().ok()?,
            protocol: proto.to_string(),
        })
    }

    /// The host address as podman prints it.
    pub fn host_ip_text(&self) -> String {
        self.host_ip
            .map_or_else(|| "0.0.0.0".to_string(), |ip| ip.to_string())
    }
}

/// Host ports held for a container's life: the sockets bound to them
/// (close-on-exec, so neither the runtime nor the container inherits them).
#[derive(Debug, Default)]
pub struct Reservation {
    _sockets: Vec<OwnedFd>,
}

fn bind_one(m: &PortMapping) -> Result<(OwnedFd, u16), NetError> {
    let ip = m.host_ip.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let family = if ip.is_ipv4() {
        AddressFamily::Inet
    } else {
        AddressFamily::Inet6
    };
    let addr = SockaddrStorage::from(SocketAddr::new(ip, m.host_port));
    let typ = if m.protocol == "udp" {
        SockType::Datagram
    } else {
        SockType::Stream
    };
    let taken = |e: nix::errno::Errno| NetError::PortInUse {
        addr: format!("{}:{}/{}", m.host_ip_text(), m.host_port, m.protocol),
        errno: e,
    };
    let fd = socket(family, typ, SockFlag::SOCK_CLOEXEC, None).map_err(taken)?;
    // Bound but not listening, without SO_REUSEADDR: every other bind of
    // this port fails, and no connection is ever queued on it (the DNAT
    // rule sends them to the container).
    bind(std::os::fd::AsRawFd::as_raw_fd(&fd), &addr).map_err(taken)?;
    let got: SockaddrStorage = getsockname(std::os::fd::AsRawFd::as_raw_fd(&fd)).map_err(taken)?;
    let port = got
        .as_sockaddr_in()
        .map(|a| a.port())
        .or_else(|| got.as_sockaddr_in6().map(|a| a.port()))
        .unwrap_or(m.host_port);
    Ok((fd, port))
}

/// Bind every mapping's host port (a random one where it is 0); the
/// mappings with their ports filled in, and the hold on them.
pub fn reserve(maps: &[PortMapping]) -> Result<(Vec<PortMapping>, Reservation), NetError> {
    let mut sockets = Vec::new();
    let mut out = Vec::new();
    for m in maps {
        let (fd, port) = bind_one(m)?;
        sockets.push(fd);
        out.push(PortMapping {
            host_port: port,
            ..m.clone()
        });
    }
    Ok((out, Reservation { _sockets: sockets }))
}

/// Fail now if a fixed host port is taken (before a container is made);
/// the real hold is taken at start.
pub fn check_free(maps: &[PortMapping]) -> Result<(), NetError> {
    let fixed: Vec<PortMapping> = maps.iter().filter(|m| m.host_port != 0).cloned().collect();
    reserve(&fixed).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let m = PortMapping::parse("127.0.0.1:8080:80").unwrap();
        assert_eq!(m.host_ip, Some("127.0.0.1".parse().unwrap()));
        assert_eq!((m.host_port, m.container_port), (8080, 80));
        assert_eq!(m.protocol, "tcp");
        let m = PortMapping::parse("8080:53/udp").unwrap();
        assert_eq!(
            (m.host_ip, m.host_port, m.protocol.as_str()),
            (None, 8080, "udp")
        );
        assert_eq!(PortMapping::parse("80").unwrap().host_port, 0);
        let m = PortMapping::parse("127.0.0.1::80").unwrap();
        assert_eq!((m.host_port, m.container_port), (0, 80));
        let m = PortMapping::parse("[::1]:8080:80").unwrap();
        assert_eq!(m.host_ip, Some("::1".parse().unwrap()));
        for bad in ["", "x", "80/sctp", "0", "70000", "1.2.3:80:80", "a:b:c:d"] {
            assert!(PortMapping::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn taken_port_is_refused() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let m = PortMapping::parse(&format!("127.0.0.1:{port}:80")).unwrap();
        let e = check_free(&[m]).unwrap_err();
        assert!(e.to_string().contains("already in use"), "{e}");
        drop(l);
    }

    #[test]
    fn random_port_is_held() {
        let m = PortMapping::parse("127.0.0.1::80").unwrap();
        let (got, hold) = reserve(&[m]).unwrap();
        assert_ne!(got[0].host_port, 0);
        let again = std::net::TcpListener::bind(("127.0.0.1", got[0].host_port));
        assert!(again.is_err(), "the reserved port could be bound again");
        drop(hold);
    }
}
