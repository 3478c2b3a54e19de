//! AppArmor profiles and SELinux labels: applied where the host runs that
//! security module, ignored with a debug line where it does not.

use crate::error::{Error, Result};
use std::path::Path;

fn apparmor_enabled() -> bool {
    std::fs::read_to_string("/sys/module/apparmor/parameters/enabled")
        .is_ok_and(|s| s.trim() == "Y")
}

fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// Ask the kernel to switch to `profile` / `label` at the next exec.
pub fn prepare_exec(apparmor: Option<&str>, selinux: Option<&str>) -> Result<()> {
    if let Some(profile) = apparmor.filter(|p| !p.is_empty()) {
        if apparmor_enabled() {
            let attr = if Path::new("/proc/self/attr/apparmor/exec").exists() {
                "/proc/self/attr/apparmor/exec"
            } else {
                "/proc/self/attr/exec"
            };
            std::fs::write(attr, format!("exec {profile}"))
                .map_err(|e| Error::io("set AppArmor profile", attr, e))?;
        } else {
            crate::warning::debug(|| {
                format!("AppArmor is not enabled on this host; profile {profile} ignored")
            });
        }
    }
    if let Some(label) = selinux.filter(|l| !l.is_empty()) {
        if selinux_enabled() {
            std::fs::write("/proc/self/attr/exec", label)
                .map_err(|e| Error::io("set SELinux label", "/proc/self/attr/exec", e))?;
        } else {
            crate::warning::debug(|| {
                format!("SELinux is not enabled on this host; label {label} ignored")
            });
        }
    }
    Ok(())
}
