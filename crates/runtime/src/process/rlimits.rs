//! `process.rlimits`.

use crate::error::{Error, Result};
use nix::sys::resource::{setrlimit, Resource};
use oci_spec::runtime::{PosixRlimit, PosixRlimitType};

fn resource(typ: PosixRlimitType) -> Resource {
    match typ {
        PosixRlimitType::RlimitCpu => Resource::RLIMIT_CPU,
        PosixRlimitType::RlimitFsize => Resource::RLIMIT_FSIZE,
        PosixRlimitType::RlimitData => Resource::RLIMIT_DATA,
        PosixRlimitType::RlimitStack => Resource::RLIMIT_STACK,
        PosixRlimitType::RlimitCore => Resource::RLIMIT_CORE,
        PosixRlimitType::RlimitRss => Resource::RLIMIT_RSS,
        PosixRlimitType::RlimitNproc => Resource::RLIMIT_NPROC,
        PosixRlimitType::RlimitNofile => Resource::RLIMIT_NOFILE,
        PosixRlimitType::RlimitMemlock => Resource::RLIMIT_MEMLOCK,
        PosixRlimitType::RlimitAs => Resource::RLIMIT_AS,
        PosixRlimitType::RlimitLocks => Resource::RLIMIT_LOCKS,
        PosixRlimitType::RlimitSigpending => Resource::RLIMIT_SIGPENDING,
        PosixRlimitType::RlimitMsgqueue => Resource::RLIMIT_MSGQUEUE,
        PosixRlimitType::RlimitNice => Resource::RLIMIT_NICE,
        PosixRlimitType::RlimitRtprio => Resource::RLIMIT_RTPRIO,
        PosixRlimitType::RlimitRttime => Resource::RLIMIT_RTTIME,
    }
}

/// Set every limit; must run before capabilities are dropped, since raising
/// a hard limit needs `CAP_SYS_RESOURCE`.
pub fn apply(rlimits: &[PosixRlimit]) -> Result<()> {
    for r in rlimits {
        if r.soft() > r.hard() {
            return Err(Error::InvalidConfig {
                field: "process.rlimits",
                reason: format!(
                    "{:?}: soft limit {} above hard limit {}",
                    r.typ(),
                    r.soft(),
                    r.hard()
                ),
            });
        }
        setrlimit(resource(r.typ()), r.soft(), r.hard()).map_err(|e| {
            Error::sys(
                format!(
                    "setrlimit {:?} soft={} hard={}",
                    r.typ(),
                    r.soft(),
                    r.hard()
                ),
                e,
            )
        })?;
    }
    Ok(())
}
