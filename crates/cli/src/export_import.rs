//! `berth export CTR` (the container's filesystem as a tar) and `berth
//! import TARBALL|- [NAME]` (a tarball as a new single-layer image).

use crate::Cli;
use anyhow::Context as _;
use clap::Args;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct ExportArgs {
    /// Write to this file (default: stdout, which must not be a terminal).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// The container.
    pub container: String,
}

pub fn export(cli: &Cli, a: &ExportArgs) -> anyhow::Result<()> {
    use std::io::IsTerminal as _;
    let engine = cli.engine()?;
    engine
        .inspect(&a.container)
        .map_err(crate::cp_cmd::no_such_container(&a.container))?;
    match &a.output {
        Some(path) => {
            // Written beside the target and renamed: a failed export
            // leaves no half tarball behind.
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let mut tmp = tempfile::NamedTempFile::new_in(&dir)
                .with_context(|| format!("creating a file in {}", dir.display()))?;
            engine.export(&a.container, std::io::BufWriter::new(tmp.as_file_mut()))?;
            tmp.persist(path)
                .with_context(|| format!("writing {}", path.display()))?;
        }
        None => {
            anyhow::ensure!(
                !std::io::stdout().is_terminal(),
                "refusing to export to terminal. Use -o flag or redirect"
            );
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            engine.export(&a.container, &mut out)?;
            out.flush()?;
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct ImportArgs {
    /// Dockerfile instructions for the image's config: CMD, ENTRYPOINT,
    /// ENV, EXPOSE, LABEL, ONBUILD, STOPSIGNAL, USER, VOLUME, WORKDIR.
    #[arg(short, long)]
    pub change: Vec<String>,
    /// The history entry's comment.
    #[arg(short, long)]
    pub message: Option<String>,
    /// Print nothing but the id.
    #[arg(short, long)]
    pub quiet: bool,
    /// A tarball (plain, gzip or zstd), or - for stdin.
    pub source: String,
    /// A name for the image.
    pub reference: Option<String>,
}

pub fn import(cli: &Cli, a: &ImportArgs) -> anyhow::Result<()> {
    let engine = cli.engine()?;
    let opts = berth_engine::NewImageOptions {
        name: a.reference.clone(),
        message: Some(
            a.message
                .clone()
                .unwrap_or_else(|| "imported from tarball".into()),
        ),
        changes: a.change.clone(),
        ..Default::default()
    };
    let id = if a.source == "-" {
        engine.import(std::io::stdin().lock(), &opts)?
    } else {
        let file = std::fs::File::open(&a.source).map_err(|e| {
            anyhow::anyhow!(
                "error opening {:?}: open {}: {}",
                a.source,
                a.source,
                io_text(&e)
            )
        })?;
        engine.import(file, &opts)?
    };
    println!("sha256:{id}");
    Ok(())
}

/// Go's wording of an io error ("no such file or directory").
fn io_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_lowercase(),
        None => s,
    }
}
