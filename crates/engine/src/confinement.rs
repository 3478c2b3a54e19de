//! podman's default confinement: the capabilities a container keeps (the
//! seccomp profile follows them, see `seccomp_profile`), and the paths of /proc and /sys it must not see or
//! write. Options loosen it: `--privileged`, `--cap-add/--cap-drop`,
//! `--security-opt seccomp=unconfined`.

use crate::error::{Error, Result};

/// podman 4's `default_capabilities` (containers.conf): the 11 left after
/// AUDIT_WRITE, MKNOD and NET_RAW were dropped from Docker's 14.
pub const DEFAULT_CAPABILITIES: [&str; 11] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_NET_BIND_SERVICE",
    "CAP_SETFCAP",
    "CAP_SETGID",
    "CAP_SETPCAP",
    "CAP_SETUID",
    "CAP_SYS_CHROOT",
];

/// Every capability Linux knows (what `--privileged` and `--cap-add ALL` give).
pub const ALL_CAPABILITIES: [&str; 41] = [
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
];

/// Paths podman masks (an empty read-only file or tmpfs over them).
pub const MASKED_PATHS: [&str; 12] = [
    "/proc/acpi",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/proc/interrupts",
    "/sys/firmware",
    "/sys/fs/selinux",
    "/sys/dev/block",
];

/// Paths podman makes read-only.
pub const READONLY_PATHS: [&str; 6] = [
    "/proc/asound",
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

fn normalise(cap: &str) -> String {
    let up = cap.trim().to_ascii_uppercase();
    if up == "ALL" || up.starts_with("CAP_") {
        up
    } else {
        format!("CAP_{up}")
    }
}

/// `cap` as a `CAP_` name Linux knows (`chown`, `CAP_CHOWN`), or why not.
pub fn parse_capability(cap: &str) -> Result<String> {
    let n = normalise(cap);
    if ALL_CAPABILITIES.contains(&n.as_str()) {
        Ok(n)
    } else {
        Err(Error::InvalidOption {
            option: "capability",
            value: cap.to_string(),
            reason: "unknown capability".into(),
        })
    }
}

/// The capability set for these options, starting from podman's default.
pub fn capabilities(privileged: bool, add: &[String], drop: &[String]) -> Result<Vec<String>> {
    capabilities_over(None, privileged, add, drop)
}

/// The capability set for these options over `base` (the host's
/// configured default set; `None` for [`DEFAULT_CAPABILITIES`]).
pub fn capabilities_over(
    base: Option<&[String]>,
    privileged: bool,
    add: &[String],
    drop: &[String],
) -> Result<Vec<String>> {
    for c in add.iter().chain(drop) {
        let n = normalise(c);
        if n != "ALL" && !ALL_CAPABILITIES.contains(&n.as_str()) {
            return Err(Error::InvalidOption {
                option: "--cap-add/--cap-drop",
                value: c.clone(),
                reason: "unknown capability".into(),
            });
        }
    }
    let add: Vec<String> = add.iter().map(|c| normalise(c)).collect();
    let drop: Vec<String> = drop.iter().map(|c| normalise(c)).collect();
    let base: Vec<String> = if privileged || add.iter().any(|c| c == "ALL") {
        ALL_CAPABILITIES.iter().map(|c| c.to_string()).collect()
    } else {
        match base {
            Some(list) => list
                .iter()
                .map(|c| parse_capability(c))
                .collect::<Result<_>>()?,
            None => DEFAULT_CAPABILITIES.iter().map(|c| c.to_string()).collect(),
        }
    };
    let mut caps: Vec<String> = if drop.iter().any(|c| c == "ALL") {
        Vec::new()
    } else {
        base
    };
    for c in add.iter().filter(|c| *c != "ALL") {
        if !caps.contains(c) {
            caps.push(c.clone());
        }
    }
    caps.retain(|c| !drop.contains(c) || add.contains(c));
    // Nobody can hand out what they lack (root here may lack
    // CAP_SYS_RESOURCE): keep what our own bounding set has, as podman does
    // for --privileged.
    if let Some(bounding) = own_bounding_set() {
        caps.retain(|c| {
            ALL_CAPABILITIES
                .iter()
                .position(|k| k == c)
                .is_some_and(|bit| bounding & (1u64 << bit) != 0)
        });
    }
    Ok(caps)
}

/// `CapBnd` of this process (bit N = capability N).
fn own_bounding_set() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let hex = status.lines().find_map(|l| l.strip_prefix("CapBnd:"))?;
    u64::from_str_radix(hex.trim(), 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps() {
        let c = capabilities(false, &[], &[]).unwrap();
        assert_eq!(c.len(), 11);
        let c = capabilities(false, &["net_admin".into()], &["CAP_KILL".into()]).unwrap();
        assert!(c.contains(&"CAP_NET_ADMIN".to_string()));
        assert!(!c.contains(&"CAP_KILL".to_string()));
        let c = capabilities(false, &["chown".into()], &["all".into()]).unwrap();
        assert_eq!(c, vec!["CAP_CHOWN".to_string()]);
        let all = capabilities(true, &[], &[]).unwrap();
        assert!(all.len() > 11 && all.len() <= 41);
        assert!(capabilities(false, &["bogus".into()], &[]).is_err());
    }

    #[test]
    fn configured_base_set() {
        let base = vec!["CHOWN".to_string(), "cap_kill".to_string()];
        let c =
            capabilities_over(Some(&base), false, &["NET_RAW".into()], &["KILL".into()]).unwrap();
        assert_eq!(c, ["CAP_CHOWN", "CAP_NET_RAW"]);
        // --privileged ignores the base set.
        assert!(
            capabilities_over(Some(&base), true, &[], &[])
                .unwrap()
                .len()
                > 11
        );
        assert!(capabilities_over(Some(&["NOPE".into()]), false, &[], &[]).is_err());
        assert!(parse_capability("sys_admin").is_ok());
    }
}
