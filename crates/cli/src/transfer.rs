//! Moving images between transports: push and copy (save and load are
//! in `save_load`).

use crate::{Cli, RegistryArgs};
use anyhow::Context as _;
use berth_image::transport::Format;
use berth_image::{Copied, CopyOptions, ImageRef};
use clap::Args;

#[derive(Args)]
pub struct ConvertArgs {
    /// Manifest format of the destination: oci or v2s2 (docker).
    #[arg(long)]
    pub format: Option<String>,
    /// Recompress layers: gzip, zstd or none.
    #[arg(long)]
    pub dest_compress_format: Option<String>,
}

impl ConvertArgs {
    fn options(&self) -> anyhow::Result<CopyOptions> {
        Ok(CopyOptions {
            format: match self.format.as_deref() {
                None => None,
                Some("oci") => Some(Format::Oci),
                Some("v2s2" | "docker") => Some(Format::Docker),
                Some(f) => anyhow::bail!("unknown --format {f:?} (oci, v2s2)"),
            },
            compression: self
                .dest_compress_format
                .as_deref()
                .map(berth_image::manifest::Compression::parse)
                .transpose()?,
        })
    }
}

fn report(c: Copied) {
    match c {
        Copied::Stored(img) => println!("{}", img.id),
        Copied::Written(r) => println!("{}", r.digest),
    }
}

#[derive(Args)]
pub struct PushArgs {
    /// The local image.
    pub image: String,
    /// Destination (docker://REF, oci:PATH, …); default docker://IMAGE.
    pub dest: Option<String>,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub convert: ConvertArgs,
}

pub fn push(cli: &Cli, a: &PushArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&a.registry)?;
    let store = cli.store()?;
    let img = berth_image::find_image(&ctx, &store, &a.image)?;
    let dest = match &a.dest {
        Some(d) => ImageRef::parse(d, Some(|s: &str| ImageRef::Docker(s.to_string())))?,
        None => ImageRef::Docker(a.image.clone()),
    };
    let progress = crate::progress::for_terminal(a.quiet);
    let r = berth_image::copy(
        &ctx,
        Some(&store),
        &ImageRef::Storage(img.id.clone()),
        &dest,
        &a.convert.options()?,
        progress.as_ref(),
    )
    .with_context(|| format!("pushing {}", a.image))?;
    report(r);
    Ok(())
}

#[derive(Args)]
pub struct CopyArgs {
    /// Source (docker://, oci:, oci-archive:, docker-archive:, dir:, berth:).
    pub source: String,
    /// Destination.
    pub dest: String,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub convert: ConvertArgs,
}

pub fn copy(cli: &Cli, a: &CopyArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&a.registry)?;
    let src = ImageRef::parse(&a.source, None)?;
    let dst = ImageRef::parse(&a.dest, None)?;
    let needs_store = matches!(src, ImageRef::Storage(_)) || matches!(dst, ImageRef::Storage(_));
    let store = if needs_store {
        Some(cli.store()?)
    } else {
        None
    };
    let progress = crate::progress::for_terminal(a.quiet);
    let r = berth_image::copy(
        &ctx,
        store.as_ref(),
        &src,
        &dst,
        &a.convert.options()?,
        progress.as_ref(),
    )
    .with_context(|| format!("copying {} to {}", a.source, a.dest))?;
    report(r);
    Ok(())
}
