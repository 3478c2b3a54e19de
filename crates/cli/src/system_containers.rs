//! `install --system`, `update --system`, `rollback --system`,
//! `uninstall --system`, `images --system` and `containers --system`:
//! thin shells over the system crate.

use crate::run_pull::{ensure_image, PullFlags};
use crate::Cli;
use clap::Args;
use std::path::PathBuf;

/// Where system containers go (each overridable, for tests and chroots).
#[derive(Args, Clone)]
pub struct SystemDirs {
    /// Deployment directory root.
    #[arg(
        long,
        env = "BERTH_SYSTEM_ROOT",
        default_value = "/var/lib/berth/system",
        hide = true
    )]
    pub system_root: PathBuf,
    /// Where units are written.
    #[arg(
        long,
        env = "BERTH_SYSTEM_UNIT_DIR",
        default_value = "/etc/systemd/system",
        hide = true
    )]
    pub unit_dir: PathBuf,
    /// Where tmpfiles.d snippets are written.
    #[arg(
        long,
        env = "BERTH_SYSTEM_TMPFILES_DIR",
        default_value = "/etc/tmpfiles.d",
        hide = true
    )]
    pub tmpfiles_dir: PathBuf,
    /// `$STATE_DIRECTORY`.
    #[arg(
        long,
        env = "BERTH_SYSTEM_STATE_DIR",
        default_value = "/var/lib",
        hide = true
    )]
    pub state_dir: PathBuf,
    /// `$RUN_DIRECTORY`.
    #[arg(
        long,
        env = "BERTH_SYSTEM_RUN_DIR",
        default_value = "/run",
        hide = true
    )]
    pub run_dir: PathBuf,
    /// The runtime's state root in the units.
    #[arg(
        long,
        env = "BERTH_SYSTEM_RUNTIME_ROOT",
        default_value = "/run/berth-system",
        hide = true
    )]
    pub runtime_root: PathBuf,
}

impl SystemDirs {
    fn layout(&self, cli: &Cli) -> anyhow::Result<berth_system::SystemLayout> {
        let mut layout = berth_system::SystemLayout::host(absolute_runtime(cli)?);
        layout.root = self.system_root.clone();
        layout.unit_dir = self.unit_dir.clone();
        layout.tmpfiles_dir = self.tmpfiles_dir.clone();
        layout.state_dir = self.state_dir.clone();
        layout.run_dir = self.run_dir.clone();
        layout.runtime_root = self.runtime_root.clone();
        layout.cgroup_parent = format!("{}/system", cli.cgroup_parent.trim_end_matches('/'));
        Ok(layout)
    }
}

/// The runtime as an absolute path: a unit's ExecStart must not depend
/// on a PATH.
fn absolute_runtime(cli: &Cli) -> anyhow::Result<PathBuf> {
    let r = cli.runtime_path();
    if r.is_absolute() {
        return Ok(r);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(&r))
        .find(|p| p.is_file())
        .ok_or_else(|| anyhow::anyhow!("OCI runtime {} not found in PATH", r.display()))
}

fn require_system(system: bool, what: &str) -> anyhow::Result<()> {
    match system {
        true => Ok(()),
        false => anyhow::bail!("berth {what} handles system containers only: pass --system"),
    }
}

/// `berth install --system`.
#[derive(Args)]
pub struct InstallArgs {
    /// Install as a system container (the only kind berth installs).
    #[arg(long)]
    pub system: bool,
    /// The name (default: the image's last path component).
    #[arg(long)]
    pub name: Option<String>,
    /// A template variable, KEY=VALUE (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// A system container this one requires (Requires= and After=).
    #[arg(long)]
    pub requires: Vec<String>,
    /// A unit this one starts after (After=).
    #[arg(long)]
    pub after: Vec<String>,
    #[command(flatten)]
    pub dirs: SystemDirs,
    #[command(flatten)]
    pub pull: PullFlags,
    /// The image.
    pub image: String,
}

/// `berth install --system IMAGE`.
pub fn install(cli: &Cli, a: &InstallArgs) -> anyhow::Result<()> {
    require_system(a.system, "install")?;
    let layout = a.dirs.layout(cli)?;
    ensure_image(cli, &a.pull, &a.image)?;
    let store = cli.store()?;
    let ctx = cli.context(&crate::RegistryArgs::default())?;
    let info = berth_system::install(
        &store,
        &ctx,
        &layout,
        &berth_system::InstallOptions {
            image: a.image.clone(),
            name: a.name.clone(),
            values: a.set.clone(),
            requires: a.requires.clone(),
            after: a.after.clone(),
        },
    )?;
    println!(
        "Installed {} ({} {}) in {}",
        info.name,
        info.image,
        info.digest,
        layout.deployment(&info.name, 0).display()
    );
    Ok(())
}

/// `berth update --system NAME`.
#[derive(Args)]
pub struct UpdateArgs {
    /// Update a system container.
    #[arg(long)]
    pub system: bool,
    /// Restart the service after switching (systemd only).
    #[arg(long)]
    pub restart: bool,
    /// Deploy this image instead of the installed image's name.
    #[arg(long)]
    pub image: Option<String>,
    #[command(flatten)]
    pub dirs: SystemDirs,
    #[command(flatten)]
    pub pull: PullFlags,
    /// The system container.
    pub name: String,
}

/// `berth update --system NAME`.
pub fn update(cli: &Cli, a: &UpdateArgs) -> anyhow::Result<()> {
    require_system(a.system, "update")?;
    let layout = a.dirs.layout(cli)?;
    if let Some(image) = &a.image {
        ensure_image(cli, &a.pull, image)?;
    }
    let store = cli.store()?;
    let ctx = cli.context(&crate::RegistryArgs::default())?;
    let out = berth_system::update(
        &store,
        &ctx,
        &layout,
        &a.name,
        a.image.as_deref(),
        a.restart,
    )?;
    println!(
        "Updated {} to {} {}",
        a.name, out.info.image, out.info.digest
    );
    if a.restart && !out.restarted {
        eprintln!(
            "Warning: systemd is not running: {}.service was not restarted",
            a.name
        );
    }
    Ok(())
}

/// `berth rollback --system NAME`.
#[derive(Args)]
pub struct RollbackArgs {
    /// Roll back a system container.
    #[arg(long)]
    pub system: bool,
    #[command(flatten)]
    pub dirs: SystemDirs,
    /// The system container.
    pub name: String,
}

/// `berth rollback --system NAME`.
pub fn rollback(cli: &Cli, a: &RollbackArgs) -> anyhow::Result<()> {
    require_system(a.system, "rollback")?;
    let info = berth_system::rollback(&a.dirs.layout(cli)?, &a.name)?;
    println!("Rolled back {} to {} {}", a.name, info.image, info.digest);
    Ok(())
}

/// `berth uninstall --system NAME`.
#[derive(Args)]
pub struct UninstallArgs {
    /// Uninstall a system container.
    #[arg(long)]
    pub system: bool,
    /// Remove its persistent data (`/var/lib/NAME`) too.
    #[arg(long)]
    pub purge: bool,
    #[command(flatten)]
    pub dirs: SystemDirs,
    /// The system container.
    pub name: String,
}

/// `berth uninstall --system NAME`.
pub fn uninstall(cli: &Cli, a: &UninstallArgs) -> anyhow::Result<()> {
    require_system(a.system, "uninstall")?;
    berth_system::uninstall(&a.dirs.layout(cli)?, &a.name, a.purge)?;
    println!("Uninstalled {}", a.name);
    Ok(())
}

/// `berth containers --system`.
#[derive(Args)]
pub struct ContainersArgs {
    /// List system containers (the only kind this command lists).
    #[arg(long)]
    pub system: bool,
    #[command(flatten)]
    pub dirs: SystemDirs,
}

/// `berth containers --system`: name, deployment, image, digest.
pub fn containers(cli: &Cli, a: &ContainersArgs) -> anyhow::Result<()> {
    require_system(a.system, "containers")?;
    print_installed(&a.dirs.layout(cli)?, true)
}

/// `berth images --system`: the images of installed system containers.
pub fn images(cli: &Cli, dirs: &SystemDirs) -> anyhow::Result<()> {
    print_installed(&dirs.layout(cli)?, false)
}

fn print_installed(layout: &berth_system::SystemLayout, containers: bool) -> anyhow::Result<()> {
    let list = berth_system::list(layout)?;
    if containers {
        println!("{:<20} {:<12} {:<40} DIGEST", "NAME", "DEPLOYMENT", "IMAGE");
        for i in list {
            let dep = format!(
                "{}.{}{}",
                i.info.name,
                i.deployment,
                if i.previous { "*" } else { "" }
            );
            println!(
                "{:<20} {:<12} {:<40} {}",
                i.info.name, dep, i.info.image, i.info.digest
            );
        }
    } else {
        println!(
            "{:<40} {:<14} {:<20} DIGEST",
            "IMAGE", "IMAGE ID", "USED BY"
        );
        for i in list {
            let id: String = i.info.image_id.chars().take(12).collect();
            println!(
                "{:<40} {:<14} {:<20} {}",
                i.info.image, id, i.info.name, i.info.digest
            );
        }
    }
    Ok(())
}
