//! `install --system`: a new system container's first deployment, and
//! the deployment step `update` shares with it.

use crate::checkout::copy_tree;
use crate::deployment::{self, TMPFILES_FILE, UNIT_FILE};
use crate::error::{Error, IoContext, Result};
use crate::info::DeploymentInfo;
use crate::layout::SystemLayout;
use crate::render::{render, variables};
use berth_engine::options::{CreateOptions, NetworkMode, Volume};
use berth_engine::system_spec::{system_spec, write_config, SystemSpecInputs};
use berth_storage::Store;
use std::collections::BTreeMap;

/// Image labels that order a system container after others (names
/// separated by spaces or commas): `Requires=`+`After=`, and `After=`.
pub const REQUIRES_LABEL: &str = "io.berth.system.requires";
/// See [`REQUIRES_LABEL`].
pub const AFTER_LABEL: &str = "io.berth.system.after";
/// Image label with the unit's `Type=` (`notify` when the container
/// sends READY=1 itself); default `simple`. `--set SERVICE_TYPE=…` wins.
pub const TYPE_LABEL: &str = "io.berth.system.type";

/// What `install --system` is asked for.
#[derive(Debug, Clone, Default)]
pub struct InstallOptions {
    /// The image (already in storage: the caller pulls it).
    pub image: String,
    /// The name; default: the image's last path component without tag.
    pub name: Option<String>,
    /// `--set KEY=VALUE`, for the templates.
    pub values: Vec<String>,
    /// `--requires NAME`.
    pub requires: Vec<String>,
    /// `--after NAME`.
    pub after: Vec<String>,
}

/// The name an image gets when none is given: `registry/ns/etcd:3.5` → `etcd`.
pub fn default_name(image: &str) -> String {
    let last = image.rsplit('/').next().unwrap_or(image);
    let last = last.split('@').next().unwrap_or(last);
    last.split(':').next().unwrap_or(last).to_string()
}

fn parse_values(values: &[String]) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for v in values {
        let Some((k, val)) = v.split_once('=') else {
            return Err(Error::Invalid {
                what: "--set",
                value: v.clone(),
                reason: "expected KEY=VALUE".into(),
            });
        };
        let ok = k
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(Error::Invalid {
                what: "--set",
                value: v.clone(),
                reason: "the key must match [A-Za-z_][A-Za-z0-9_]*".into(),
            });
        }
        out.insert(k.to_string(), val.to_string());
    }
    Ok(out)
}

/// Install `opts.image` as a system container: deployment 0, the link,
/// the unit and the tmpfiles snippet, `/var/lib/NAME` and `/run/NAME`.
/// On any error nothing of it is left.
pub fn install(
    store: &Store,
    ctx: &berth_image::Context,
    layout: &SystemLayout,
    opts: &InstallOptions,
) -> Result<DeploymentInfo> {
    let name = opts
        .name
        .clone()
        .unwrap_or_else(|| default_name(&opts.image));
    berth_engine::spec_options::check_name(&name)?;
    let values = parse_values(&opts.values)?;
    let _lock = layout.lock()?;
    if deployment::current(layout, &name)?.is_some() || layout.unit(&name).exists() {
        return Err(Error::AlreadyInstalled(name));
    }
    let request = Deploy {
        name: &name,
        image: &opts.image,
        values,
        requires: opts.requires.clone(),
        after: opts.after.clone(),
    };
    let info = deploy(store, ctx, layout, &request, 0)?;
    let made = || -> Result<()> {
        deployment::switch_link(layout, &name, 0)?;
        deployment::publish(layout, &name, 0)?;
        for dir in [layout.state(&name), layout.run(&name)] {
            std::fs::create_dir_all(&dir).ctx("create", &dir)?;
        }
        deployment::systemctl(&["daemon-reload"])?;
        Ok(())
    };
    if let Err(e) = made() {
        let _ = deployment::remove(&layout.link(&name));
        let _ = deployment::remove(&layout.unit(&name));
        let _ = deployment::remove(&layout.tmpfiles(&name));
        let _ = deployment::remove(&layout.deployment(&name, 0));
        return Err(e);
    }
    Ok(info)
}

/// One deployment to make.
pub(crate) struct Deploy<'a> {
    pub name: &'a str,
    pub image: &'a str,
    pub values: BTreeMap<String, String>,
    pub requires: Vec<String>,
    pub after: Vec<String>,
}

fn label_names(labels: Option<&String>) -> Vec<String> {
    labels
        .map(|l| {
            l.split([' ', ','])
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn merged(mut from_label: Vec<String>, given: &[String]) -> Vec<String> {
    for g in given {
        if !from_label.contains(g) {
            from_label.push(g.clone());
        }
    }
    from_label
}

/// Make deployment `index` of `req.name` (replacing what is there): the
/// templates are rendered first, then the rootfs checked out, the config
/// and the rendered files written. The link is not touched. On error the
/// deployment directory is removed.
pub(crate) fn deploy(
    store: &Store,
    ctx: &berth_image::Context,
    layout: &SystemLayout,
    req: &Deploy<'_>,
    index: u8,
) -> Result<DeploymentInfo> {
    let image = berth_image::find_image(ctx, store, req.image)?;
    let config = berth_engine::image_config::execution(&berth_engine::image_config::parse(
        &image.id,
        &store.image_config(&image.id)?,
    )?);
    let labels = config.labels().clone().unwrap_or_default();
    let requires = merged(label_names(labels.get(REQUIRES_LABEL)), &req.requires);
    let after = merged(label_names(labels.get(AFTER_LABEL)), &req.after);
    let service_type = labels.get(TYPE_LABEL).map_or("simple", String::as_str);
    let vars = variables(layout, req.name, &req.values, service_type);
    let mounted = store.mount_image(&image.id)?;
    let rendered = render(req.image, &mounted, &vars, &requires, &after);
    let dir = layout.deployment(req.name, index);
    let checked_out = rendered.and_then(|r| {
        deployment::remove(&dir)?;
        std::fs::create_dir_all(&layout.root).ctx("create", &layout.root)?;
        copy_tree(&mounted, &dir.join("rootfs")).map(|()| r)
    });
    let _ = store.unmount_image(&image.id, false);
    let write = |r: crate::render::Rendered| -> Result<DeploymentInfo> {
        let spec = match r.config {
            Some(spec) => spec,
            None => {
                let opts = default_options(layout, req.name, req.image);
                let cgroups_path = format!(
                    "{}/{}",
                    layout.cgroup_parent.trim_end_matches('/'),
                    req.name
                );
                system_spec(
                    &opts,
                    &config,
                    &SystemSpecInputs {
                        name: req.name,
                        bundle: &dir,
                        cgroups_path: &cgroups_path,
                    },
                )?
            }
        };
        write_config(&dir, &spec)?;
        for (file, text) in [(UNIT_FILE, &r.service), (TMPFILES_FILE, &r.tmpfiles)] {
            let p = dir.join(file);
            std::fs::write(&p, text).ctx("write", &p)?;
        }
        let info = DeploymentInfo {
            name: req.name.to_string(),
            image: req.image.to_string(),
            image_id: image.id.clone(),
            digest: image.manifest_digest.to_string(),
            values: req.values.clone(),
            requires: requires.clone(),
            after: after.clone(),
            given_requires: req.requires.clone(),
            given_after: req.after.clone(),
            templates: r.templates,
        };
        info.write(&dir)?;
        Ok(info)
    };
    let made = checked_out.and_then(write);
    if made.is_err() {
        let _ = deployment::remove(&dir);
    }
    made
}

/// The container options of an image without a config template: host
/// network, a read-only rootfs, `/var/lib/NAME` and `/run/NAME` bound in.
fn default_options(layout: &SystemLayout, name: &str, image: &str) -> CreateOptions {
    let bind = |host: std::path::PathBuf, inside: String| Volume {
        source: host.to_string_lossy().into_owned(),
        destination: inside,
        readonly: false,
        anonymous: false,
        options: Default::default(),
    };
    CreateOptions {
        image: image.to_string(),
        name: Some(name.to_string()),
        network: NetworkMode::Host,
        read_only: true,
        volumes: vec![
            bind(layout.state(name), format!("/var/lib/{name}")),
            bind(layout.run(name), format!("/run/{name}")),
        ],
        ..Default::default()
    }
}
