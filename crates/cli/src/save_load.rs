//! `save` and `load`, with podman's flags, formats, messages and output.
//! Images leave storage with their layers' original tars, so they keep
//! their ids; archives go to stdout and come from stdin when no file is
//! named, refusing a terminal.

use crate::{Cli, RegistryArgs};
use anyhow::{bail, Context as _};
use berth_image::manifest::Compression;
use berth_image::transport::Format;
use berth_image::{CopyOptions, ImageRef};
use clap::Args;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct SaveArgs {
    /// The image; further arguments are more tags for it in a
    /// docker-archive, or with -m more images.
    #[arg(required = true, value_name = "IMAGE")]
    pub images: Vec<String>,
    /// Write to this file (a directory for oci-dir and docker-dir);
    /// default: stdout, which must be redirected.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// docker-archive, oci-archive, oci-dir (a directory with an OCI
    /// manifest) or docker-dir (a directory with a v2s2 manifest).
    #[arg(long, default_value = "docker-archive")]
    pub format: String,
    /// Read further arguments as images, not tags, and write them all to
    /// one archive (docker-archive only).
    #[arg(short = 'm', long)]
    pub multi_image_archive: bool,
    /// Compress the layers of a docker-dir.
    #[arg(long)]
    pub compress: bool,
    /// Keep the layers of an OCI image (oci-archive, oci-dir) uncompressed.
    #[arg(long)]
    pub uncompressed: bool,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The formats of `podman save --format`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum SaveFormat {
    DockerArchive,
    OciArchive,
    OciDir,
    DockerDir,
}

impl SaveFormat {
    fn parse(s: &str) -> anyhow::Result<SaveFormat> {
        Ok(match s {
            "docker-archive" => SaveFormat::DockerArchive,
            "oci-archive" => SaveFormat::OciArchive,
            "oci-dir" => SaveFormat::OciDir,
            "docker-dir" => SaveFormat::DockerDir,
            _ => bail!("format value must be one of oci-dir oci-archive docker-dir docker-archive"),
        })
    }

    fn is_dir(self) -> bool {
        matches!(self, SaveFormat::OciDir | SaveFormat::DockerDir)
    }
}

pub fn save(cli: &Cli, a: &SaveArgs) -> anyhow::Result<()> {
    let format = SaveFormat::parse(&a.format)?;
    if a.multi_image_archive && format != SaveFormat::DockerArchive {
        bail!(
            "unsupported format {:?} for saving multiple images (only docker-archive)",
            a.format
        );
    }
    if a.compress && format != SaveFormat::DockerDir {
        bail!("--compress can only be set when --format is 'docker-dir'");
    }
    // Check where the output goes before any work.
    let to_stdout = a.output.is_none();
    if to_stdout {
        if format.is_dir() {
            bail!("--format {} writes a directory: name it with -o", a.format);
        }
        if std::io::stdout().is_terminal() {
            bail!("refusing to save to terminal. Use -o flag or redirect");
        }
    }
    let ctx = cli.context(&RegistryArgs::default())?;
    let store = cli.store()?;
    let progress = crate::progress::for_terminal(a.quiet);
    // stdout gets the archive once it is complete, from a temporary file.
    let (output, _tmp) = match &a.output {
        Some(o) => (o.clone(), None),
        None => {
            let t = tempfile::Builder::new()
                .prefix("berth-save-")
                .tempdir()
                .context("creating a temporary directory for the archive")?;
            (t.path().join("archive.tar"), Some(t))
        }
    };
    let described = || format!("saving {} to {}", a.images.join(" "), output.display());
    // Podman's rule: an image given by name is tagged with the name it
    // resolves to; one given by id is not tagged.
    let resolve = |key: &str| -> anyhow::Result<(String, Option<String>)> {
        let (img, name) = berth_image::find_image_name(&ctx, &store, key)?;
        Ok((img.id, name))
    };
    if format == SaveFormat::DockerArchive {
        let mut images = Vec::new();
        if a.multi_image_archive {
            for key in &a.images {
                let (id, name) = resolve(key)?;
                images.push((id, name.into_iter().collect()));
            }
        } else {
            let (id, name) = resolve(&a.images[0])?;
            // More arguments are more tags, listed before the image's own
            // name, as podman lists them.
            let mut tags = a.images[1..]
                .iter()
                .map(|t| berth_image::local_name(t))
                .collect::<Result<Vec<_>, _>>()?;
            tags.extend(name);
            images.push((id, tags));
        }
        berth_image::save_docker_archive(&ctx, &store, &images, &output, progress.as_ref())
            .with_context(described)?;
    } else {
        // Other formats hold one image; podman ignores further arguments.
        let (id, name) = resolve(&a.images[0])?;
        let oci_compression = a.uncompressed.then_some(Compression::None);
        let (dst, opts) = match format {
            SaveFormat::OciArchive => (
                ImageRef::OciArchive {
                    path: output.clone(),
                    reference: name,
                },
                (Format::Oci, oci_compression),
            ),
            SaveFormat::OciDir => (
                ImageRef::Oci {
                    path: output.clone(),
                    reference: name,
                },
                (Format::Oci, oci_compression),
            ),
            _ => (
                ImageRef::Dir(output.clone()),
                (Format::Docker, a.compress.then_some(Compression::Gzip)),
            ),
        };
        let opts = CopyOptions {
            format: Some(opts.0),
            compression: opts.1,
        };
        berth_image::copy(
            &ctx,
            Some(&store),
            &ImageRef::Storage(id),
            &dst,
            &opts,
            progress.as_ref(),
        )
        .with_context(described)?;
    }
    if to_stdout {
        copy_to_stdout(&output)?;
    }
    Ok(())
}

fn copy_to_stdout(file: &Path) -> anyhow::Result<()> {
    let mut f = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut out = std::io::stdout().lock();
    std::io::copy(&mut f, &mut out).context("writing the archive to stdout")?;
    Ok(())
}

#[derive(Args)]
pub struct LoadArgs {
    /// Read from this archive (docker-archive or oci-archive, or an OCI
    /// layout or dir: directory); default: stdin.
    #[arg(short, long)]
    pub input: Option<PathBuf>,
    /// No progress output.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn load(cli: &Cli, a: &LoadArgs) -> anyhow::Result<()> {
    // stdin is read into a temporary file: telling the format apart and
    // reading the archive both need to seek.
    let mut stdin_copy = None;
    let input = match &a.input {
        Some(i) => i.clone(),
        None => {
            let mut stdin = std::io::stdin().lock();
            if stdin.is_terminal() {
                bail!(
                    "cannot read from terminal, use command-line redirection or the --input flag"
                );
            }
            let mut f = tempfile::Builder::new()
                .prefix("berth-load-")
                .tempfile()
                .context("creating a temporary file for stdin")?;
            std::io::copy(&mut stdin, f.as_file_mut()).context("reading the archive from stdin")?;
            let path = f.path().to_path_buf();
            stdin_copy = Some(f);
            path
        }
    };
    let ctx = cli.context(&RegistryArgs::default())?;
    let store = cli.store()?;
    let progress = crate::progress::for_terminal(a.quiet);
    let what = match &a.input {
        Some(i) => i.display().to_string(),
        None => "stdin".into(),
    };
    let loaded = berth_image::load(&ctx, &store, &input, progress.as_ref())
        .with_context(|| format!("loading {what}"))?;
    drop(stdin_copy);
    for l in loaded {
        if l.names.is_empty() {
            println!("Loaded image: sha256:{}", l.image.id);
        }
        for n in &l.names {
            println!("Loaded image: {n}");
        }
    }
    Ok(())
}
