//! IPv4 subnets as `--subnet`/`--ip-range` give them, and the free
//! 10.89.N.0/24 a new network gets when none is given (as podman): free
//! of every known network's subnet and of the host's routes.

use std::net::Ipv4Addr;

/// An IPv4 network: its address (host bits zero) and prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// The network address.
    pub net: u32,
    /// The prefix length (0..=32).
    pub len: u8,
}

impl Subnet {
    /// Parse `A.B.C.D/LEN` (host bits are cleared, as podman does); None
    /// when it is not one.
    pub fn parse(s: &str) -> Option<Subnet> {
        let (a, l) = s.split_once('/')?;
        let a: Ipv4Addr = a.parse().ok()?;
        let len: u8 = l.parse().ok().filter(|l| *l <= 32)?;
        let s = Subnet { net: 0, len };
        Some(Subnet {
            net: u32::from(a) & s.mask(),
            len,
        })
    }

    /// The netmask.
    pub fn mask(&self) -> u32 {
        if self.len == 0 {
            0
        } else {
            u32::MAX << (32 - self.len)
        }
    }

    /// The last address (the broadcast).
    pub fn last(&self) -> u32 {
        self.net | !self.mask()
    }

    /// Whether `a` is inside.
    pub fn contains(&self, a: u32) -> bool {
        a & self.mask() == self.net
    }

    /// Whether the two share an address.
    pub fn overlaps(&self, o: &Subnet) -> bool {
        self.contains(o.net) || o.contains(self.net)
    }

    /// The address `n` after the network address, as text.
    pub fn nth(&self, n: u32) -> String {
        Ipv4Addr::from(self.net.wrapping_add(n)).to_string()
    }
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", Ipv4Addr::from(self.net), self.len)
    }
}

/// The subnets of the host's routes (`/proc/net/route`, default route
/// left out): a new network must not shadow a network the host reaches.
pub fn host_routes() -> Vec<Subnet> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // Destination and Mask are little-endian hex.
            let dst = u32::from_str_radix(f.get(1)?, 16).ok()?.swap_bytes();
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?.swap_bytes();
            (mask != 0).then(|| Subnet {
                net: dst & mask,
                len: mask.count_ones() as u8,
            })
        })
        .collect()
}

/// The first 10.89.N.0/24 (N = 0..=255) overlapping none of `used`.
pub fn free_24(used: &[Subnet]) -> Option<Subnet> {
    (0..=255u32)
        .map(|n| Subnet {
            net: u32::from(Ipv4Addr::new(10, 89, 0, 0)) | (n << 8),
            len: 24,
        })
        .find(|s| !used.iter().any(|u| u.overlaps(s)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_allocate() {
        let s = Subnet::parse("10.77.5.3/24").unwrap();
        assert_eq!(s.to_string(), "10.77.5.0/24");
        assert_eq!(s.nth(1), "10.77.5.1");
        assert!(Subnet::parse("10.77.5.0").is_none());
        assert!(Subnet::parse("10.77.5.0/33").is_none());
        let used = [
            Subnet::parse("10.89.0.0/24").unwrap(),
            Subnet::parse("10.89.1.0/25").unwrap(),
        ];
        assert_eq!(free_24(&used).unwrap().to_string(), "10.89.2.0/24");
        assert!(free_24(&[Subnet::parse("10.0.0.0/8").unwrap()]).is_none());
    }
}
