//! A minimal root filesystem made from the host's static busybox.

use std::fs;
use std::io;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the static busybox lives: `$BERTH_BUSYBOX`, else `/bin/busybox`
/// (Debian's `busybox-static`).
pub fn busybox_path() -> PathBuf {
    std::env::var_os("BERTH_BUSYBOX")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/bin/busybox"))
}

/// Fill `root` with busybox, one symlink per applet at its usual place, the
/// mount points a runtime expects, and `/etc/passwd`/`/etc/group` with root,
/// nobody and a `berth` user (uid 1000) so user lookups have something to find.
pub fn populate_busybox_rootfs(root: &Path) -> io::Result<()> {
    let busybox = busybox_path();
    for dir in [
        "bin",
        "sbin",
        "usr/bin",
        "usr/sbin",
        "etc",
        "proc",
        "sys",
        "dev",
        "tmp",
        "root",
        "var/tmp",
        "home/berth",
    ] {
        fs::create_dir_all(root.join(dir))?;
    }
    fs::set_permissions(root.join("tmp"), fs::Permissions::from_mode(0o1777))?;
    let target = root.join("bin/busybox");
    fs::copy(&busybox, &target)?;
    fs::set_permissions(&target, fs::Permissions::from_mode(0o755))?;

    let out = Command::new(&busybox).arg("--list-full").output()?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "{} --list-full failed",
            busybox.display()
        )));
    }
    for applet in String::from_utf8_lossy(&out.stdout).lines() {
        let link = root.join(applet);
        if applet.is_empty() || link.exists() {
            continue;
        }
        let depth = applet.matches('/').count();
        let rel = format!("{}bin/busybox", "../".repeat(depth));
        symlink(rel, link)?;
    }
    fs::write(
        root.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nberth:x:1000:1000:berth:/home/berth:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
    )?;
    fs::write(
        root.join("etc/group"),
        "root:x:0:\nwheel:x:10:berth\nberth:x:1000:\nnogroup:x:65534:\n",
    )?;
    Ok(())
}
