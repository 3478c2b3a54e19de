//! Host devices in a container: `--device HOST[:CTR[:PERMS]]` (the node,
//! made by the runtime with the host's numbers, mode and owner, and a
//! cgroup rule for it), and `--privileged` (every device node under the
//! host's `/dev`, and a cgroup that allows all, as podman does as root).

use crate::error::{Error, Result};
use crate::options::CreateOptions;
use crate::spec_apply::{add_device_rules, device_rule};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceType, Spec};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::Path;

/// Directories of `/dev` a privileged container does not take from the
/// host: its own mounts go there (podman's list).
const SKIPPED_DIRS: [&str; 7] = [
    "/dev/pts",
    "/dev/shm",
    "/dev/fd",
    "/dev/mqueue",
    "/dev/.lxc",
    "/dev/.lxd-mounts",
    "/dev/.udev",
];

/// The device node at `host` (symlinks followed) as `container`, or None
/// when it is no device.
fn device(host: &Path, container: &Path) -> std::io::Result<Option<LinuxDevice>> {
    let meta = std::fs::metadata(host)?;
    let ft = meta.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Ok(None);
    };
    let rdev = meta.rdev();
    let mut d = LinuxDevice::default();
    d.set_path(container.to_path_buf());
    d.set_typ(typ);
    d.set_major(nix::sys::stat::major(rdev) as i64);
    d.set_minor(nix::sys::stat::minor(rdev) as i64);
    d.set_file_mode(Some(meta.permissions().mode() & 0o777));
    d.set_uid(Some(meta.uid()));
    d.set_gid(Some(meta.gid()));
    Ok(Some(d))
}

/// Every device node under `dir`, recursively, but for [`SKIPPED_DIRS`]
/// and the console (the runtime gives the container its own).
fn walk(dir: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            if !SKIPPED_DIRS.iter().any(|s| Path::new(s) == path) {
                walk(&path, out);
            }
        } else if (ft.is_char_device() || ft.is_block_device())
            && path != Path::new("/dev/console")
            && path != Path::new("/dev/ptmx")
        {
            // A node that vanished meanwhile is no longer the host's.
            if let Ok(Some(d)) = device(&path, &path) {
                out.push(d);
            }
        }
    }
}

/// Add the devices of `--device` and `--privileged` to `spec`.
pub(crate) fn apply(spec: &mut Spec, opts: &CreateOptions) -> Result<()> {
    let mut devices = Vec::new();
    let mut rules = Vec::new();
    if opts.privileged {
        walk(Path::new("/dev"), &mut devices);
    }
    for m in &opts.spec.devices {
        let d = device(Path::new(&m.host), Path::new(&m.container))
            .map_err(|e| Error::InvalidOption {
                option: "--device",
                value: m.host.clone(),
                reason: format!("stat {}: {e}", m.host),
            })?
            .ok_or_else(|| Error::InvalidOption {
                option: "--device",
                value: m.host.clone(),
                reason: "not a device node".into(),
            })?;
        rules.push(device_rule(
            Some(d.typ()),
            Some(d.major()),
            Some(d.minor()),
            &m.permissions,
        ));
        devices.retain(|x| x.path() != d.path());
        devices.push(d);
    }
    if devices.is_empty() {
        return Ok(());
    }
    if let Some(linux) = spec.linux_mut() {
        let mut list = linux.devices().clone().unwrap_or_default();
        list.extend(devices);
        linux.set_devices(Some(list));
    }
    if opts.privileged {
        // podman clears the deny-all and allows every device.
        if let Some(r) = spec
            .linux_mut()
            .as_mut()
            .and_then(|l| l.resources_mut().as_mut())
        {
            r.set_devices(Some(vec![device_rule(
                Some(LinuxDeviceType::A),
                None,
                None,
                "rwm",
            )]));
        }
    } else {
        add_device_rules(spec, rules);
    }
    Ok(())
}
