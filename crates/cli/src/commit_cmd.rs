//! `berth commit CTR [IMAGE]`: a new image from what a container changed.

use crate::Cli;
use clap::{ArgAction, Args};

#[derive(Args)]
pub struct CommitArgs {
    /// The image's author.
    #[arg(short, long)]
    pub author: Option<String>,
    /// Dockerfile instructions for the image's config: CMD, ENTRYPOINT,
    /// ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
    #[arg(short, long)]
    pub change: Vec<String>,
    /// Manifest and config format: oci or docker.
    #[arg(short, long, default_value = "oci")]
    pub format: String,
    /// Write the image id to this file too.
    #[arg(long)]
    pub iidfile: Option<std::path::PathBuf>,
    /// The history entry's comment.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Freeze a running container while its layer is read, so the commit
    /// sees one moment of its files; thawed afterwards, even on failure.
    /// `--pause` alone or `--pause=BOOL`, as Go's flags: a bare word after
    /// it is the container.
    #[arg(short, long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = false, default_missing_value = "true")]
    pub pause: bool,
    /// Print nothing but the id.
    #[arg(short, long)]
    pub quiet: bool,
    /// Make the image's filesystem one layer (the base's layers and the
    /// container's changes together).
    #[arg(short, long)]
    pub squash: bool,
    /// Keep every volume and bind destination in the image's Volumes (by
    /// default only the anonymous volumes `-v /path` made).
    #[arg(long)]
    pub include_volumes: bool,
    /// The container.
    pub container: String,
    /// A name for the new image.
    pub image: Option<String>,
}

pub fn commit(cli: &Cli, a: &CommitArgs) -> anyhow::Result<()> {
    let format: berth_engine::ImageFormat = a.format.parse()?;
    let engine = cli.engine()?;
    let info = engine
        .inspect(&a.container)
        .map_err(crate::cp_cmd::no_such_container(&a.container))?;
    let base = engine
        .store()
        .image(&info.image_id)
        .ok()
        .and_then(|i| i.names.first().cloned())
        .unwrap_or_else(|| info.image_id.clone());
    let opts = berth_engine::NewImageOptions {
        name: a.image.clone(),
        message: Some(a.message.clone().unwrap_or_else(|| format!("FROM {base}"))),
        author: a.author.clone(),
        changes: a.change.clone(),
        format,
        squash: a.squash,
        include_volumes: a.include_volumes,
        annotations: Vec::new(),
    };
    let freeze =
        a.pause && info.state.status == berth_engine::Status::Running && !info.state.paused;
    if freeze {
        engine.pause(&info.id)?;
    }
    let committed = engine.commit(&info.id, &opts);
    if freeze {
        engine.unpause(&info.id)?;
    }
    let id = committed?;
    if let Some(path) = &a.iidfile {
        std::fs::write(path, format!("sha256:{id}"))?;
    }
    println!("{id}");
    Ok(())
}
