//! Image commands over storage and registries: pull, images, rmi, tag,
//! untag, inspect, mount, umount.

use crate::{Cli, RegistryArgs};
use anyhow::Context as _;
use clap::Args;

#[derive(Args)]
pub struct PullArgs {
    /// Image to pull (short names through the search registries).
    pub image: String,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn pull(cli: &Cli, a: &PullArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&a.registry)?;
    let store = cli.store()?;
    let progress = crate::progress::for_pull(a.quiet);
    let (image, _) = berth_image::pull(&ctx, &store, &a.image, progress.as_ref())
        .with_context(|| format!("pulling {}", a.image))?;
    crate::events_cmd::image_event(cli, "pull", &image.id, &a.image);
    println!("{}", image.id);
    Ok(())
}

#[derive(Args)]
pub struct ImagesArgs {
    /// `json`, or a Go template (`table …` for a header and columns).
    #[arg(long)]
    pub format: Option<String>,
    /// Only image ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// Show each image's digest.
    #[arg(long)]
    pub digests: bool,
    /// Every image (berth keeps no intermediate images: the same list).
    #[arg(short, long)]
    pub all: bool,
    /// Keep only images that match: dangling=true|false, label=KEY[=VALUE],
    /// reference=PATTERN, before=IMAGE, since=IMAGE.
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// No header line.
    #[arg(short = 'n', long)]
    pub noheading: bool,
    /// Whole image ids.
    #[arg(long)]
    pub no_trunc: bool,
    /// The images of installed system containers, with their digests.
    #[arg(long)]
    pub system: bool,
    #[command(flatten)]
    pub system_dirs: crate::system_containers::SystemDirs,
}

/// The size of the layer chain under `top`, stopping at layers in `seen`
/// (which it adds to): images that share layers count them once.
pub(crate) fn layers_size(
    store: &berth_storage::Store,
    top: Option<&str>,
    seen: &mut std::collections::HashSet<String>,
) -> u64 {
    let mut size = 0;
    let mut next = top.map(str::to_string);
    while let Some(id) = next {
        if !seen.insert(id.clone()) {
            break;
        }
        match store.layer(&id) {
            Ok(l) => {
                size += l.size;
                next = l.parent;
            }
            Err(_) => break,
        }
    }
    size
}

pub fn list(cli: &Cli, a: &ImagesArgs) -> anyhow::Result<()> {
    if a.system {
        return crate::system_containers::images(cli, &a.system_dirs);
    }
    crate::images_list::list(cli, a)
}

#[derive(Args)]
pub struct RmiArgs {
    /// Images to remove.
    #[arg(required = true)]
    pub images: Vec<String>,
    /// Remove even when mounted or used by containers (which are stopped
    /// and removed first); a missing image is no error.
    #[arg(short, long)]
    pub force: bool,
    /// A missing image is no error.
    #[arg(short, long)]
    pub ignore: bool,
}

pub fn rmi(cli: &Cli, a: &RmiArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    crate::each::each(&a.images, a.force || a.ignore, |name| {
        let removal = engine.remove_image(name, a.force)?;
        crate::events_cmd::image_removal_event(cli, name, &removal);
        Ok(match removal {
            berth_engine::ImageRemoval::Untagged(_) => format!("Untagged: {name}"),
            berth_engine::ImageRemoval::Deleted { id, .. } => format!("Deleted: {id}"),
        })
    })
}

#[derive(Args)]
pub struct UntagArgs {
    /// The image.
    pub image: String,
    /// Names to take away; all of its names when none is given.
    pub names: Vec<String>,
}

/// Take names away from an image; the image stays (podman's untag).
pub fn untag(cli: &Cli, a: &UntagArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&RegistryArgs::default())?;
    let store = cli.store()?;
    let img = berth_image::find_image(&ctx, &store, &a.image)?;
    let names = if a.names.is_empty() {
        img.names.clone()
    } else {
        a.names
            .iter()
            .map(|n| berth_image::local_name(n))
            .collect::<Result<Vec<_>, _>>()?
    };
    for n in &names {
        if !img.names.contains(n) {
            anyhow::bail!("image {} has no name {n}", &img.id[..12]);
        }
        store.untag_image(n)?;
        crate::events_cmd::image_event(cli, "untag", &img.id, n);
    }
    Ok(())
}

#[derive(Args)]
pub struct TagArgs {
    /// The image.
    pub image: String,
    /// New names.
    #[arg(required = true)]
    pub names: Vec<String>,
}

pub fn tag(cli: &Cli, a: &TagArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&RegistryArgs::default())?;
    let store = cli.store()?;
    let img = berth_image::find_image(&ctx, &store, &a.image)?;
    for n in &a.names {
        let name = berth_image::local_name(n)?;
        store.add_image_name(&img.id, &name)?;
        crate::events_cmd::image_event(cli, "tag", &img.id, &name);
    }
    Ok(())
}

#[derive(Args)]
pub struct InspectArgs {
    /// Containers or local images, or one docker://REF for a registry
    /// image (not pulled).
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Only this kind: container, image or all.
    #[arg(short = 't', long = "type", default_value = "all")]
    pub kind: String,
    /// Skip listing the repository's tags (remote only).
    #[arg(long)]
    pub no_tags: bool,
    /// Print the raw manifest instead (one image).
    #[arg(long)]
    pub raw: bool,
    /// Print the raw config instead (one image).
    #[arg(long)]
    pub config: bool,
    /// A Go template over the result (`{{.State.Status}}`), or `json`.
    #[arg(short, long)]
    pub format: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `inspect` of a registry image, or the raw manifest or config of one
/// image: what only images have.
pub fn inspect_raw(cli: &Cli, a: &InspectArgs, name: &str) -> anyhow::Result<()> {
    let ctx = cli.context(&a.registry)?;
    if let Some(remote) = name.strip_prefix("docker://") {
        if a.raw || a.config {
            let src = berth_image::transport::RegistrySource::open(&ctx, remote)?;
            let out = if a.raw {
                berth_image::transport::Source::manifest(&src)?.0
            } else {
                berth_image::transport::resolve(&src, &ctx.platform)?.config
            };
            println!("{}", String::from_utf8_lossy(&out));
            return Ok(());
        }
        let v = berth_image::inspect_remote(&ctx, remote, !a.no_tags)
            .with_context(|| format!("inspecting {name}"))?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let store = cli.store()?;
    let img = berth_image::find_image(&ctx, &store, name)?;
    let out = if a.raw {
        store.image_manifest(&img.id)?
    } else {
        store.image_config(&img.id)?
    };
    println!("{}", String::from_utf8_lossy(&out));
    Ok(())
}

/// A local image's `inspect` (podman's shape), if `name` names one.
pub fn image_value(
    cli: &Cli,
    store: &berth_storage::Store,
    name: &str,
) -> anyhow::Result<Option<crate::report::Inspected>> {
    let ctx = cli.context(&RegistryArgs::default())?;
    let img = match berth_image::find_image(&ctx, store, name) {
        Ok(i) => i,
        Err(e) => {
            let e = anyhow::Error::from(e);
            return if crate::exit_code::is_missing(&e) {
                Ok(None)
            } else {
                Err(e)
            };
        }
    };
    let users = store
        .containers()?
        .iter()
        .filter(|c| c.image == img.id)
        .count();
    let facts = crate::image_json::ImageFacts::of(store, img, users);
    Ok(Some(crate::report::Inspected::of(
        &crate::image_json::inspect(&facts),
    )?))
}

#[derive(Args)]
pub struct MountArgs {
    /// The image.
    pub image: String,
    /// Unmount even when others still hold mounts (umount only).
    #[arg(short, long)]
    pub force: bool,
}

pub fn mount(cli: &Cli, a: &MountArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&RegistryArgs::default())?;
    let store = cli.store()?;
    let img = berth_image::find_image(&ctx, &store, &a.image)?;
    let path = store.mount_image(&img.id)?;
    println!("{}", path.display());
    Ok(())
}

pub fn umount(cli: &Cli, a: &MountArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&RegistryArgs::default())?;
    let store = cli.store()?;
    let img = berth_image::find_image(&ctx, &store, &a.image)?;
    store.unmount_image(&img.id, a.force)?;
    Ok(())
}
