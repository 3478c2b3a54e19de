//! `update`, `rollback` and `uninstall` of an installed system container.

use crate::deployment;
use crate::error::{Error, Result};
use crate::info::DeploymentInfo;
use crate::install::{deploy, Deploy};
use crate::layout::SystemLayout;
use berth_storage::Store;

/// What `update` did.
#[derive(Debug)]
pub struct UpdateOutcome {
    /// The new current deployment.
    pub info: DeploymentInfo,
    /// Whether the service was restarted (only with systemd as PID 1).
    pub restarted: bool,
}

fn installed(layout: &SystemLayout, name: &str) -> Result<u8> {
    deployment::current(layout, name)?.ok_or_else(|| Error::NotInstalled(name.to_string()))
}

/// Deploy `image` (default: the installed image's name, as it is in
/// storage now) into `name`'s other deployment directory with the
/// install's options, switch the link and the unit, and restart the
/// service when `restart` (and systemd runs). The previous deployment
/// stays for `rollback`; the one before it is replaced.
pub fn update(
    store: &Store,
    ctx: &berth_image::Context,
    layout: &SystemLayout,
    name: &str,
    image: Option<&str>,
    restart: bool,
) -> Result<UpdateOutcome> {
    let _lock = layout.lock()?;
    let now = installed(layout, name)?;
    let was = DeploymentInfo::read(&layout.deployment(name, now))?;
    let next = 1 - now;
    let image = image.unwrap_or(&was.image).to_string();
    let req = Deploy {
        name,
        image: &image,
        values: was.values.clone(),
        // The new image's labels are read again; the user's names stay.
        requires: was.given_requires.clone(),
        after: was.given_after.clone(),
    };
    let info = deploy(store, ctx, layout, &req, next)?;
    switch_to(layout, name, next)?;
    let restarted = restart && deployment::systemctl(&["restart", &format!("{name}.service")])?;
    Ok(UpdateOutcome { info, restarted })
}

/// Switch `name` back to its other deployment.
pub fn rollback(layout: &SystemLayout, name: &str) -> Result<DeploymentInfo> {
    let _lock = layout.lock()?;
    let now = installed(layout, name)?;
    let other = 1 - now;
    let dir = layout.deployment(name, other);
    if !dir.join("info.json").exists() {
        return Err(Error::NoPreviousDeployment(name.to_string()));
    }
    let info = DeploymentInfo::read(&dir)?;
    switch_to(layout, name, other)?;
    Ok(info)
}

fn switch_to(layout: &SystemLayout, name: &str, index: u8) -> Result<()> {
    deployment::switch_link(layout, name, index)?;
    deployment::publish(layout, name, index)?;
    deployment::systemctl(&["daemon-reload"])?;
    Ok(())
}

/// Stop and remove `name`: its unit, tmpfiles snippet, deployments, link
/// and `/run/NAME`; `/var/lib/NAME` too when `purge`.
pub fn uninstall(layout: &SystemLayout, name: &str, purge: bool) -> Result<()> {
    let _lock = layout.lock()?;
    installed(layout, name)?;
    let unit = format!("{name}.service");
    deployment::systemctl(&["disable", "--now", &unit])?;
    deployment::remove(&layout.unit(name))?;
    deployment::remove(&layout.tmpfiles(name))?;
    deployment::remove(&layout.link(name))?;
    for index in [0, 1] {
        deployment::remove(&layout.deployment(name, index))?;
    }
    deployment::remove(&layout.run(name))?;
    if purge {
        deployment::remove(&layout.state(name))?;
    }
    deployment::systemctl(&["daemon-reload"])?;
    Ok(())
}
