//! `berth build`: a Containerfile to an image, with podman build's flags,
//! over the build crate's executor.

use crate::image_out_flags::ImageOutFlags;
use crate::{Cli, RegistryArgs};
use anyhow::Context as _;
use berth_build::stages::BuildOptions;
use clap::Args;
use std::path::PathBuf;

#[derive(Args)]
pub struct BuildArgs {
    /// The build context directory.
    #[arg(default_value = ".")]
    pub context: PathBuf,
    /// The Containerfile (default: Containerfile, else Dockerfile, in the
    /// context).
    #[arg(short = 'f', long = "file")]
    pub file: Option<PathBuf>,
    /// Name the image (repeatable).
    #[arg(short = 't', long = "tag")]
    pub tags: Vec<String>,
    /// NAME=VALUE for an ARG (repeatable); NAME alone takes $NAME.
    #[arg(long = "build-arg")]
    pub build_args: Vec<String>,
    /// Build up to this stage; its result is the image.
    #[arg(long)]
    pub target: Option<String>,
    /// Keep and reuse a cache image after each RUN, COPY and ADD.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", default_value = "true")]
    pub layers: bool,
    /// Reuse no cache image.
    #[arg(long)]
    pub no_cache: bool,
    /// Pull base images: missing, always, never or newer.
    #[arg(long, value_name = "POLICY", num_args = 0..=1, require_equals = true, default_missing_value = "always", default_value = "missing")]
    pub pull: String,
    /// id=ID,src=PATH: a secret for RUN --mount=type=secret (repeatable).
    #[arg(long)]
    pub secret: Vec<String>,
    /// HOST:CTR[:ro|rw]: a directory bound into every RUN (repeatable).
    #[arg(short = 'v', long = "volume")]
    pub volumes: Vec<String>,
    /// RUN's network: none, host or bridge.
    #[arg(long, default_value = "none")]
    pub network: String,
    #[command(flatten)]
    pub out: ImageOutFlags,
    /// KEY=VALUE label on the image (repeatable).
    #[arg(long)]
    pub label: Vec<String>,
    /// KEY=VALUE manifest annotation (repeatable).
    #[arg(long)]
    pub annotation: Vec<String>,
    /// Print only the image id.
    #[arg(short, long)]
    pub quiet: bool,
    /// Capabilities added for RUN.
    #[arg(long)]
    pub cap_add: Vec<String>,
    /// Capabilities dropped for RUN.
    #[arg(long)]
    pub cap_drop: Vec<String>,
}

pub fn build(cli: &Cli, a: &BuildArgs) -> anyhow::Result<()> {
    if !a.annotation.is_empty() && a.out.format == berth_engine::ImageFormat::Docker {
        // Discarded as podman discards them (a docker manifest has
        // none); the warning is berth's own.
        eprintln!("WARN: annotations are not supported for docker format images: ignored");
    }
    let opts = options(a)?;
    let engine = cli.engine()?;
    let ctx = cli.context(&RegistryArgs::default())?;
    let stdout = std::io::stdout();
    let id = berth_build::stages::build(&engine, &ctx, &opts, &mut stdout.lock())?;
    a.out.write_iidfile(&id)?;
    println!("{id}");
    Ok(())
}

fn options(a: &BuildArgs) -> anyhow::Result<BuildOptions> {
    let containerfile = match &a.file {
        Some(f) => f.clone(),
        None => ["Containerfile", "Dockerfile"]
            .iter()
            .map(|n| a.context.join(n))
            .find(|p| p.is_file())
            .with_context(|| {
                format!("no Containerfile or Dockerfile in {}", a.context.display())
            })?,
    };
    let mut build_args = std::collections::BTreeMap::new();
    for arg in &a.build_args {
        match arg.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_string(), v.to_string()),
            None => match std::env::var(arg) {
                Ok(v) => build_args.insert(arg.clone(), v),
                Err(_) => continue,
            },
        };
    }
    let mut secrets = std::collections::BTreeMap::new();
    for s in &a.secret {
        let (mut id, mut src) = (None, None);
        for field in s.split(',') {
            match field.split_once('=') {
                Some(("id", v)) => id = Some(v.to_string()),
                Some(("src" | "source", v)) => src = Some(PathBuf::from(v)),
                Some(("type", "file")) => {}
                _ => anyhow::bail!("--secret {s}: expected id=ID,src=PATH"),
            }
        }
        let id = id.with_context(|| format!("--secret {s}: no id"))?;
        let src = src.with_context(|| format!("--secret {s}: no src"))?;
        if !src.is_file() {
            anyhow::bail!("--secret {s}: {} is not a file", src.display());
        }
        secrets.insert(id, src);
    }
    let mut volumes = Vec::new();
    for v in &a.volumes {
        // The syntax of `run -v` and `builder run -v`, a host path only.
        let parsed = berth_engine::Volume::parse(v)?;
        anyhow::ensure!(
            parsed.source.starts_with('/'),
            "-v {v}: a build volume is a host path"
        );
        let host = std::fs::canonicalize(&parsed.source)
            .with_context(|| format!("-v {v}: {}", parsed.source))?;
        volumes.push((host, parsed.destination, parsed.readonly));
    }
    let pairs = |given: &[String]| -> Vec<(String, String)> {
        given
            .iter()
            .map(|l| {
                let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
                (k.to_string(), v.to_string())
            })
            .collect()
    };
    let labels = pairs(&a.label);
    let annotations = match a.out.format {
        berth_engine::ImageFormat::Oci => pairs(&a.annotation),
        berth_engine::ImageFormat::Docker => Vec::new(),
    };
    Ok(BuildOptions {
        containerfile,
        context: a.context.clone(),
        tags: a.tags.clone(),
        build_args,
        target: a.target.clone(),
        layers: a.layers,
        no_cache: a.no_cache,
        pull: a.pull.parse()?,
        secrets,
        volumes,
        network: berth_engine::NetworkMode::parse(&a.network)?,
        format: a.out.format,
        squash: a.out.squash,
        labels,
        annotations,
        timestamp: a.out.timestamp()?,
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        quiet: a.quiet,
    })
}
