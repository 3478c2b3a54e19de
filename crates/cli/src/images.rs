//! Image commands over storage and registries: pull, images, rmi, tag,
//! untag, inspect, mount, umount.

use crate::{Cli, RegistryArgs};
use anyhow::Context as _;
use clap::Args;
use serde_json::{json, Value};

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
    let progress = crate::progress::for_terminal(a.quiet);
    let (image, _) = berth_image::pull(&ctx, &store, &a.image, progress.as_ref())
        .with_context(|| format!("pulling {}", a.image))?;
    println!("{}", image.id);
    Ok(())
}

#[derive(Args)]
pub struct ImagesArgs {
    /// `json` for machine-readable output.
    #[arg(long)]
    pub format: Option<String>,
}

fn image_size(store: &berth_storage::Store, top: Option<&str>) -> u64 {
    layers_size(store, top, &mut std::collections::HashSet::new())
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
    let store = cli.store()?;
    let mut images = store.images()?;
    images.sort_by_key(|i| std::cmp::Reverse(i.created));
    if a.format.as_deref() == Some("json") {
        let out: Vec<Value> = images
            .iter()
            .map(|i| {
                json!({
                    "Id": i.id,
                    "Names": i.names,
                    "Digest": i.manifest_digest.to_string(),
                    "Created": i.created,
                    "Size": image_size(&store, i.top_layer.as_deref()),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&out)?);
        return Ok(());
    }
    if let Some(f) = &a.format {
        anyhow::bail!("unknown --format {f:?} (json)");
    }
    println!(
        "{:<50} {:<20} {:<14} {:>10}",
        "REPOSITORY", "TAG", "IMAGE ID", "SIZE"
    );
    for i in &images {
        let size = human_size(image_size(&store, i.top_layer.as_deref()));
        let names: Vec<(String, String)> = if i.names.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            i.names
                .iter()
                .map(|n| {
                    match n
                        .rsplit_once(':')
                        .filter(|(r, _)| !r.ends_with('/') && !n[r.len()..].contains('/'))
                    {
                        Some((r, t)) => (r.to_string(), t.to_string()),
                        None => (n.clone(), "<none>".into()),
                    }
                })
                .collect()
        };
        for (repo, tag) in names {
            println!("{:<50} {:<20} {:<14} {:>10}", repo, tag, &i.id[..12], size);
        }
    }
    Ok(())
}

pub(crate) fn human_size(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
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
        Ok(match engine.remove_image(name, a.force)? {
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
    }
    Ok(())
}

#[derive(Args)]
pub struct InspectArgs {
    /// A local image, or docker://REF for a registry image (not pulled).
    pub image: String,
    /// Skip listing the repository's tags (remote only).
    #[arg(long)]
    pub no_tags: bool,
    /// Print the raw manifest instead.
    #[arg(long)]
    pub raw: bool,
    /// Print the raw config instead.
    #[arg(long)]
    pub config: bool,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

pub fn inspect(cli: &Cli, a: &InspectArgs) -> anyhow::Result<()> {
    let ctx = cli.context(&a.registry)?;
    if let Some(name) = a.image.strip_prefix("docker://") {
        if a.raw || a.config {
            let src = berth_image::transport::RegistrySource::open(&ctx, name)?;
            let out = if a.raw {
                berth_image::transport::Source::manifest(&src)?.0
            } else {
                berth_image::transport::resolve(&src, &ctx.platform)?.config
            };
            println!("{}", String::from_utf8_lossy(&out));
            return Ok(());
        }
        let v = berth_image::inspect_remote(&ctx, name, !a.no_tags)
            .with_context(|| format!("inspecting {}", a.image))?;
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let store = cli.store()?;
    let img = berth_image::find_image(&ctx, &store, &a.image)?;
    let manifest = store.image_manifest(&img.id)?;
    let config = store.image_config(&img.id)?;
    if a.raw || a.config {
        let out = if a.raw { manifest } else { config };
        println!("{}", String::from_utf8_lossy(&out));
        return Ok(());
    }
    let c: Value = serde_json::from_slice(&config).unwrap_or(Value::Null);
    let m: Value = serde_json::from_slice(&manifest).unwrap_or(Value::Null);
    let get = |v: &Value, p: &str| v.pointer(p).cloned().unwrap_or(Value::Null);
    let out = json!([{
        "Id": img.id,
        "Digest": img.manifest_digest.to_string(),
        "RepoTags": img.names,
        "Created": get(&c, "/created"),
        "Architecture": get(&c, "/architecture"),
        "Os": get(&c, "/os"),
        "Config": get(&c, "/config"),
        "RootFS": get(&c, "/rootfs"),
        "ManifestMediaType": get(&m, "/mediaType"),
        "Layers": m.pointer("/layers").and_then(|l| l.as_array()).map(|l| l.iter().map(|d| json!({"Digest": d["digest"], "Size": d["size"], "MIMEType": d["mediaType"]})).collect::<Vec<_>>()),
        "Size": image_size(&store, img.top_layer.as_deref()),
    }]);
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
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
