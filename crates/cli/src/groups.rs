//! podman's command groups: `container …` and `image …` name the same
//! commands as the top level (`container ls` is `ps`, `image rm` is
//! `rmi`), plus `exists`, which answers by exit code alone (0 yes, 1 no).

use crate::{containers, ctr_tools, images, network, ps, save_load, transfer, Command};
use clap::{Args, Subcommand};

#[derive(Args)]
pub struct ContainerGroup {
    #[command(subcommand)]
    pub command: ContainerCommand,
}

#[derive(Subcommand)]
pub enum ContainerCommand {
    /// List containers.
    #[command(visible_alias = "ps", alias = "list")]
    Ls(ps::PsArgs),
    /// Run a command in a new container.
    Run(containers::RunArgs),
    /// Create a container without starting it.
    Create(containers::CreateArgs),
    /// Start containers.
    Start(containers::StartArgs),
    /// Stop containers.
    Stop(containers::StopArgs),
    /// Send a signal to containers.
    Kill(containers::KillArgs),
    /// Remove containers.
    #[command(alias = "remove")]
    Rm(containers::RmArgs),
    /// Print a container's log.
    Logs(crate::logs_cmd::LogsArgs),
    /// Wait for containers to exit.
    Wait(containers::WaitArgs),
    /// Run a process in a running container.
    Exec(containers::ExecArgs),
    /// Attach to a running container's streams.
    Attach(crate::attach_cmd::AttachArgs),
    /// Stop containers and start them again.
    Restart(ctr_tools::RestartArgs),
    /// Show the processes of a container.
    Top(ctr_tools::TopArgs),
    /// Show a container.
    Inspect(images::InspectArgs),
    /// List a container's published ports.
    Port(network::PortArgs),
    /// Mount a container's root filesystem.
    Mount(ctr_tools::MountArgs),
    /// Unmount a container's root filesystem.
    Umount(ctr_tools::MountArgs),
    /// Copy files between a container and the host.
    Cp(crate::cp_cmd::CpArgs),
    /// Show what a container changed.
    Diff(crate::diff_cmd::DiffArgs),
    /// Write a container's filesystem as a tar.
    Export(crate::export_import::ExportArgs),
    /// Make an image from a container's changes.
    Commit(crate::commit_cmd::CommitArgs),
    /// Pause containers.
    Pause(crate::pause_rename::PauseArgs),
    /// Unpause containers.
    Unpause(crate::pause_rename::PauseArgs),
    /// Rename a container.
    Rename(crate::pause_rename::RenameArgs),
    /// Show containers' resource use.
    Stats(crate::stats_cmd::StatsArgs),
    /// Remove every container that is not running.
    Prune(crate::container_prune::ContainerPruneArgs),
    /// Exit 0 if the container exists, 1 if not.
    Exists(ExistsArgs),
}

#[derive(Args)]
pub struct ImageGroup {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Subcommand)]
pub enum ImageCommand {
    /// List images.
    #[command(alias = "list")]
    Ls(images::ImagesArgs),
    /// Remove images.
    #[command(alias = "remove")]
    Rm(images::RmiArgs),
    /// Pull an image.
    Pull(images::PullArgs),
    /// Push an image.
    Push(transfer::PushArgs),
    /// Add a name to an image.
    Tag(images::TagArgs),
    /// Take names away from an image.
    Untag(images::UntagArgs),
    /// Show an image.
    Inspect(images::InspectArgs),
    /// Save an image to an archive.
    Save(save_load::SaveArgs),
    /// Load an image archive.
    Load(save_load::LoadArgs),
    /// Mount an image read-only.
    Mount(ctr_tools::MountArgs),
    /// Unmount an image.
    Umount(ctr_tools::MountArgs),
    /// Make an image from a tarball of a filesystem.
    Import(crate::export_import::ImportArgs),
    /// Show what an image's top layer changed.
    Diff(crate::diff_cmd::DiffArgs),
    /// Show an image's history.
    History(crate::history_cmd::HistoryArgs),
    /// Remove dangling images (-a: every image no container uses).
    Prune(crate::image_prune::ImagePruneArgs),
    /// Exit 0 if the image exists, 1 if not.
    Exists(ExistsArgs),
}

#[derive(Args)]
pub struct ExistsArgs {
    /// The name or id.
    pub name: String,
}

/// What `exists` asks about.
pub enum Exists {
    Container(String),
    Image(String),
}

impl ContainerCommand {
    /// The top-level command this one is.
    pub fn into_command(self) -> Command {
        match self {
            ContainerCommand::Ls(a) => Command::Ps(a),
            ContainerCommand::Run(a) => Command::Run(a),
            ContainerCommand::Create(a) => Command::Create(a),
            ContainerCommand::Start(a) => Command::Start(a),
            ContainerCommand::Stop(a) => Command::Stop(a),
            ContainerCommand::Kill(a) => Command::Kill(a),
            ContainerCommand::Rm(a) => Command::Rm(a),
            ContainerCommand::Logs(a) => Command::Logs(a),
            ContainerCommand::Wait(a) => Command::Wait(a),
            ContainerCommand::Exec(a) => Command::Exec(a),
            ContainerCommand::Attach(a) => Command::Attach(a),
            ContainerCommand::Restart(a) => Command::Restart(a),
            ContainerCommand::Top(a) => Command::Top(a),
            ContainerCommand::Cp(a) => Command::Cp(a),
            ContainerCommand::Diff(a) => Command::Diff(a),
            ContainerCommand::Export(a) => Command::Export(a),
            ContainerCommand::Commit(a) => Command::Commit(a),
            ContainerCommand::Inspect(a) => Command::Inspect(a),
            ContainerCommand::Port(a) => Command::Port(a),
            ContainerCommand::Mount(a) => Command::Mount(a),
            ContainerCommand::Umount(a) => Command::Umount(a),
            ContainerCommand::Pause(a) => Command::Pause(a),
            ContainerCommand::Unpause(a) => Command::Unpause(a),
            ContainerCommand::Rename(a) => Command::Rename(a),
            ContainerCommand::Stats(a) => Command::Stats(a),
            ContainerCommand::Prune(a) => Command::ContainerPrune(a),
            ContainerCommand::Exists(a) => Command::Exists(Exists::Container(a.name)),
        }
    }
}

impl ImageCommand {
    /// The top-level command this one is.
    pub fn into_command(self) -> Command {
        match self {
            ImageCommand::Ls(a) => Command::Images(a),
            ImageCommand::Rm(a) => Command::Rmi(a),
            ImageCommand::Pull(a) => Command::Pull(a),
            ImageCommand::Push(a) => Command::Push(a),
            ImageCommand::Tag(a) => Command::Tag(a),
            ImageCommand::Untag(a) => Command::Untag(a),
            ImageCommand::Inspect(a) => Command::Inspect(a),
            ImageCommand::Save(a) => Command::Save(a),
            ImageCommand::Load(a) => Command::Load(a),
            ImageCommand::Mount(a) => Command::Mount(a),
            ImageCommand::Umount(a) => Command::Umount(a),
            ImageCommand::Import(a) => Command::Import(a),
            ImageCommand::Diff(a) => Command::Diff(a),
            ImageCommand::History(a) => Command::History(a),
            ImageCommand::Prune(a) => Command::ImagePrune(a),
            ImageCommand::Exists(a) => Command::Exists(Exists::Image(a.name)),
        }
    }
}

/// `exists`: exit 0 or 1, silently; other errors are errors.
pub fn exists(cli: &crate::Cli, what: &Exists) -> anyhow::Result<()> {
    let found = match what {
        Exists::Container(name) => match cli.engine()?.inspect(name) {
            Ok(_) => true,
            Err(berth_engine::Error::NotFound(_)) => false,
            Err(e) => return Err(e.into()),
        },
        Exists::Image(name) => {
            let ctx = cli.context(&crate::RegistryArgs::default())?;
            let e = berth_image::find_image(&ctx, &cli.store()?, name).map_err(anyhow::Error::from);
            match e {
                Ok(_) => true,
                Err(e) if crate::exit_code::is_missing(&e) => false,
                Err(e) => return Err(e),
            }
        }
    };
    if found {
        Ok(())
    } else {
        Err(crate::exit_code::Reported(1).into())
    }
}
