//! The `config.json` of a system container: the same spec building as
//! every container (image config + options under podman's confinement),
//! for a rootfs that is a plain read-only checkout rather than an overlay
//! mount, written into a deployment directory that systemd's unit hands
//! to `berth-runtime run` directly (no record under the runroot, no
//! monitor). The spec's root is the relative path `rootfs`, so the bundle
//! stays valid when reached through the deployment's `NAME` link.

use crate::command_lookup::check_command;
use crate::error::{Error, IoContext, Result};
use crate::image_config::ImageConfig;
use crate::image_users::resolve_user;
use crate::options::CreateOptions;
use crate::rootfs_reader::RootfsReader;
use crate::spec::{self, SpecInputs};
use oci_spec::runtime::Spec;
use std::path::Path;

/// What [`system_spec`] needs besides the options and the image config.
pub struct SystemSpecInputs<'a> {
    /// The system container's name (the runtime's container id too).
    pub name: &'a str,
    /// The deployment directory: `rootfs/` in it, `hosts`, `hostname`,
    /// `resolv.conf` written beside it.
    pub bundle: &'a Path,
    /// The absolute cgroupsPath.
    pub cgroups_path: &'a str,
}

/// Build the spec of a system container whose rootfs is checked out in
/// `inp.bundle/rootfs`. The image's users and command are read inside
/// that root only. Writes the etc files into the bundle.
pub fn system_spec(
    opts: &CreateOptions,
    image: &ImageConfig,
    inp: &SystemSpecInputs<'_>,
) -> Result<Spec> {
    let rootfs = inp.bundle.join("rootfs");
    let root = RootfsReader::open(&rootfs)?;
    let user_spec = opts
        .user
        .clone()
        .or_else(|| image.user().clone())
        .unwrap_or_default();
    let user = resolve_user(&root, &user_spec)?;
    let hostname = match &opts.hostname {
        Some(h) => h.clone(),
        None => nix::unistd::gethostname()
            .map_err(|e| Error::Io {
                op: "gethostname",
                path: "/proc/sys/kernel/hostname".into(),
                source: e.into(),
            })?
            .to_string_lossy()
            .into_owned(),
    };
    let command = spec::command(opts, image);
    let Some(first) = command.first() else {
        return Err(Error::NoCommand(opts.image.clone()));
    };
    let env = spec::environment(opts, image, &user, &hostname);
    check_command(&root, first, &env)?;
    crate::etc_files::write_etc_files(inp.bundle, &hostname, inp.name, opts.network, &opts.life)?;
    let mut config = spec::build(
        opts,
        image,
        &SpecInputs {
            id: inp.name,
            rootfs: Path::new("rootfs"),
            files: inp.bundle,
            cgroups_path: inp.cgroups_path,
            hostname: &hostname,
            user: &user,
            netns: None,
        },
    )?;
    // `-v …:O` overlays of a system container keep their upper and work
    // directories in its deployment, beside config.json.
    let overlays = inp.bundle.join("volume-overlays");
    let extra = crate::spec_apply::ApplyInputs {
        root: &root,
        dir: inp.bundle,
        shared: &[],
        overlays: &overlays,
    };
    crate::spec_apply::apply(&mut config, opts, &extra)?;
    crate::init::apply(&mut config, opts)?;
    crate::life_options::apply_no_hosts(&mut config, &opts.life);
    Ok(config)
}

/// Read a small file (at most `cap` bytes) of an image's checked-out
/// rootfs, resolved inside that root: `None` when it does not exist. A
/// template a system container's image ships is read through this, so a
/// symlink in the image never reaches the host's files.
pub fn read_in_rootfs(rootfs: &Path, path: &str, cap: u64) -> Result<Option<Vec<u8>>> {
    RootfsReader::open(rootfs)?.read_small(path, cap)
}

/// Write `spec` as `dir/config.json`.
pub fn write_config(dir: &Path, spec: &Spec) -> Result<()> {
    let path = dir.join("config.json");
    let bytes = serde_json::to_vec_pretty(spec).map_err(|source| Error::Record {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, bytes).ctx("write", &path)
}
