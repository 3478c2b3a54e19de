//! A container's bundle: `config.json` from the image config and the
//! user's options, with the image's files (users, groups, the command)
//! read only inside the mounted rootfs, and `hosts`, `hostname`,
//! `resolv.conf` beside it. It sees neither the engine nor the records:
//! what it needs is passed in, and it returns the [`Meta`] to keep.

use crate::command_lookup::check_command;
use crate::error::{Error, IoContext, Result};
use crate::image_config::{self, ImageConfig};
use crate::image_users::resolve_user;
use crate::meta::Meta;
use crate::options::{CreateOptions, NetworkMode};
use crate::rootfs_reader::RootfsReader;
use crate::spec::{self, SpecInputs};
use std::path::{Path, PathBuf};

/// What a bundle is written from.
pub(crate) struct BundleInputs<'a> {
    /// The container id.
    pub id: &'a str,
    /// Its name (in `/etc/hosts`).
    pub name: &'a str,
    /// The options it is made with.
    pub opts: &'a CreateOptions,
    /// The image's execution parameters.
    pub image: &'a ImageConfig,
    /// The mounted root filesystem.
    pub rootfs: &'a Path,
    /// The bundle directory (the container's record directory).
    pub dir: &'a Path,
    /// The cgroup the container's goes under.
    pub cgroup_parent: &'a str,
    /// The pinned network namespace to join (bridge networking).
    pub netns: Option<PathBuf>,
    /// Other containers' namespaces to join (`--pid container:NAME`…).
    pub shared_namespaces: Vec<(oci_spec::runtime::LinuxNamespaceType, PathBuf)>,
    /// The pod the container is in: its namespaces, files, cgroup parent.
    pub pod: Option<&'a crate::pod::join::PodJoin>,
    /// Where the upper and work directories of `-v …:O` overlays go.
    pub volume_overlays: PathBuf,
}

/// Write the bundle. `bind_volumes` turns the options' volumes into host
/// binds (filling new ones from the image, through the reader). Returns
/// the metadata to keep, without a last run.
pub(crate) fn write(
    inp: &BundleInputs<'_>,
    bind_volumes: impl FnOnce(&RootfsReader) -> Result<CreateOptions>,
) -> Result<Meta> {
    write_with_spec(inp, bind_volumes).map(|(meta, _)| meta)
}

/// [`write`], also returning the spec it wrote as config.json (a build's
/// RUN needs its mounts; reading the file back cost a parse per RUN).
pub(crate) fn write_with_spec(
    inp: &BundleInputs<'_>,
    bind_volumes: impl FnOnce(&RootfsReader) -> Result<CreateOptions>,
) -> Result<(Meta, oci_spec::runtime::Spec)> {
    let (id, opts, image) = (inp.id, inp.opts, inp.image);
    // The image's files are read only through this, inside the rootfs.
    let root = RootfsReader::open(inp.rootfs)?;
    let user_spec = opts
        .user
        .clone()
        .or_else(|| image.user().clone())
        .unwrap_or_default();
    let user = resolve_user(&root, &user_spec)?;
    let hostname = match (&opts.hostname, opts.network) {
        (Some(h), _) => h.clone(),
        (None, NetworkMode::Host) => nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_else(|| id[..12].to_string()),
        (None, _) => id[..12].to_string(),
    };
    let command = spec::command(opts, image);
    let Some(first) = command.first() else {
        return Err(Error::NoCommand(opts.image.clone()));
    };
    let env = spec::environment(opts, image, &user, &hostname);
    check_command(&root, first, &env)?;
    check_workdir(&root, opts)?;
    std::fs::create_dir_all(inp.dir).ctx("create", inp.dir)?;
    crate::etc_files::write_etc_files(inp.dir, &hostname, inp.name, opts.network, &opts.life)?;
    let cgroups_path = format!("{}/berth-{id}", inp.cgroup_parent.trim_end_matches('/'));
    let bound = bind_volumes(&root)?;
    let mut config = spec::build(
        &bound,
        image,
        &SpecInputs {
            id,
            rootfs: inp.rootfs,
            files: inp.dir,
            cgroups_path: &cgroups_path,
            hostname: &hostname,
            user: &user,
            netns: inp.netns.as_deref(),
        },
    )?;
    let extra = crate::spec_apply::ApplyInputs {
        root: &root,
        dir: inp.dir,
        shared: &inp.shared_namespaces,
        overlays: &inp.volume_overlays,
    };
    crate::spec_apply::apply(&mut config, &bound, &extra)?;
    if let Some(pod) = inp.pod {
        crate::pod::join::apply(&mut config, pod);
    }
    crate::init::apply(&mut config, opts)?;
    crate::life_options::apply_no_hosts(&mut config, &opts.life);
    crate::sd_notify::apply(&mut config, &opts.life, inp.dir)?;
    crate::rootless::spec::adapt(&mut config, opts.cgroups_disabled)?;
    let path = inp.dir.join("config.json");
    let bytes = serde_json::to_vec_pretty(&config).map_err(|source| Error::Record {
        path: path.clone(),
        source,
    })?;
    std::fs::write(&path, bytes).ctx("write", &path)?;
    let meta = Meta {
        options: opts.clone(),
        command,
        stop_signal: opts
            .stop_signal
            .clone()
            .or_else(|| image.stop_signal().clone())
            .unwrap_or_else(|| "SIGTERM".into()),
        cgroups_path,
        last_run: None,
        exposed_ports: image_config::exposed_ports(image),
    };
    Ok((meta, config))
}

/// A `-w` that is neither in the image nor under a mount is an error
/// before anything starts (podman's "workdir does not exist"); the runtime
/// would only fail its chdir later, with a message about its internals.
fn check_workdir(root: &RootfsReader, opts: &CreateOptions) -> Result<()> {
    let Some(dir) = opts.workdir.as_deref().filter(|d| !d.is_empty()) else {
        return Ok(());
    };
    let under = |dest: &str| {
        let dest = dest.trim_end_matches('/');
        dir == dest || dir.starts_with(&format!("{dest}/")) || dest.is_empty()
    };
    let mounted = opts.volumes.iter().any(|v| under(&v.destination))
        || opts
            .tmpfs
            .iter()
            .any(|t| under(t.split(':').next().unwrap_or(t)));
    if mounted || root.metadata(dir).is_ok_and(|m| m.is_dir()) {
        Ok(())
    } else {
        Err(Error::NoWorkdir(dir.to_string()))
    }
}
