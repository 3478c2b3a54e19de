//! The errors a newcomer meets before anything works, turned into one line
//! that says what to do instead of a chain of library errors.

use std::path::Path;

/// berth's store and containers need root today (rootless berth is
/// planned). Say what to do, depending on whether the user has
/// subordinate ids, which rootless containers will need.
pub fn require_root() -> anyhow::Result<()> {
    // SAFETY: geteuid cannot fail and touches no memory.
    let uid = unsafe { libc::geteuid() };
    if uid == 0 {
        return Ok(());
    }
    let user = user_name(uid).unwrap_or_else(|| uid.to_string());
    let has_ids = |file: &str| {
        std::fs::read_to_string(file).is_ok_and(|text| {
            text.lines().any(|l| {
                let owner = l.split(':').next().unwrap_or_default();
                owner == user || owner == uid.to_string()
            })
        })
    };
    if has_ids("/etc/subuid") && has_ids("/etc/subgid") {
        anyhow::bail!(
            "berth runs containers as root for now (rootless berth is planned): run it with sudo"
        );
    }
    anyhow::bail!(
        "berth needs root, and {user} has no subordinate ids in /etc/subuid and /etc/subgid \
         for rootless use: run berth with sudo (and, as root, \
         `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}` for later)"
    )
}

pub(crate) fn user_name(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid.to_string()).then(|| name.to_string())
    })
}

/// A store error the user can act on, as one line; `None` for the rest.
pub fn explain_store_error(root: &Path, e: &berth_storage::Error) -> Option<String> {
    match e {
        berth_storage::Error::DriverUnavailable {
            driver: "overlay",
            reason,
        } => Some(format!(
            "the filesystem under {} cannot hold an overlay store ({reason}): \
             use --storage-driver vfs, or put --root on ext4, xfs, btrfs or tmpfs",
            root.display()
        )),
        berth_storage::Error::DriverMismatch {
            existing,
            requested,
            ..
        } => Some(format!(
            "the store at {} was made with the {existing} driver, not {requested}: \
             drop --storage-driver, or use another --root",
            root.display()
        )),
        _ => None,
    }
}
