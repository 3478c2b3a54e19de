//! Switching to the process's user and groups.

use crate::error::{Error, Result};
use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
use oci_spec::runtime::User;

/// Become `user`: supplementary groups, gid, uid, in that order (the uid
/// goes last because it takes away the right to change the others). With
/// `keep_caps`, the permitted capabilities survive a switch away from root.
pub fn switch(user: &User, setgroups_allowed: bool, keep_caps: bool) -> Result<()> {
    if keep_caps {
        nix::sys::prctl::set_keepcaps(true).map_err(|e| Error::sys("prctl(PR_SET_KEEPCAPS)", e))?;
    }
    if setgroups_allowed {
        let gids: Vec<Gid> = user
            .additional_gids()
            .iter()
            .flatten()
            .map(|g| Gid::from_raw(*g))
            .collect();
        setgroups(&gids).map_err(|e| Error::sys(format!("setgroups {gids:?}"), e))?;
    }
    let gid = Gid::from_raw(user.gid());
    setresgid(gid, gid, gid).map_err(|e| Error::sys(format!("setresgid {gid}"), e))?;
    let uid = Uid::from_raw(user.uid());
    setresuid(uid, uid, uid).map_err(|e| Error::sys(format!("setresuid {uid}"), e))?;
    if keep_caps {
        nix::sys::prctl::set_keepcaps(false)
            .map_err(|e| Error::sys("prctl(PR_SET_KEEPCAPS)", e))?;
    }
    Ok(())
}

/// Whether `setgroups(2)` is allowed in our user namespace (a rootless
/// mapping writes `deny` to `/proc/self/setgroups`).
pub fn setgroups_allowed() -> bool {
    std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim() != "deny")
        .unwrap_or(true)
}
