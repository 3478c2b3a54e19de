//! The errors a newcomer meets before anything works, turned into one line
//! that says what to do instead of a chain of library errors.

use std::path::Path;

/// The name of `uid` in /etc/passwd.
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
