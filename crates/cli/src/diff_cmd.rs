//! `berth diff CTR|IMAGE [CTR|IMAGE]`: what a container's layer (or an
//! image's top layer) added, changed and deleted — or, given two, what
//! changed from the second's filesystem to the first's — as podman's
//! `A`/`C`/`D` lines or `--format json`. With `--packages`, the package
//! differences instead (berth-scan's inventories of both).

use crate::Cli;
use berth_engine::{PathChange, TreeKind};
use clap::Args;
use serde::Serialize;

#[derive(Args)]
pub struct DiffArgs {
    /// Output format: json (default: one `A|C|D PATH` line each).
    #[arg(long)]
    pub format: Option<String>,
    /// Compare the packages installed (added, removed, version changed)
    /// instead of the files; needs OTHER.
    #[arg(long)]
    pub packages: bool,
    /// A container, else an image.
    pub name: String,
    /// Compare with this container or image instead of NAME's parent
    /// layer: the changes from OTHER's filesystem to NAME's.
    pub other: Option<String>,
}

/// podman's JSON: the lists that have entries, in this order.
#[derive(Serialize, Default)]
struct Changes {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    changed: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    added: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    deleted: Vec<String>,
}

pub fn diff(cli: &Cli, a: &DiffArgs) -> anyhow::Result<()> {
    let json = match a.format.as_deref() {
        None | Some("") => false,
        Some("json") => true,
        Some(f) => anyhow::bail!("unknown format {f:?}: diff knows only json"),
    };
    let engine = cli.engine()?;
    let names: Vec<&String> = std::iter::once(&a.name).chain(&a.other).collect();
    let mut kinds = Vec::new();
    for n in &names {
        match engine.tree_kind(n)? {
            Some(k) => kinds.push(k),
            None => anyhow::bail!("{n} not found: no such container or image"),
        }
    }
    if a.packages {
        let Some(other) = &a.other else {
            anyhow::bail!("diff --packages compares two images or containers: give OTHER too");
        };
        return crate::package_diff_cmd::print(&engine, other, &a.name, json);
    }
    let changes = match (&a.other, &kinds[0]) {
        (Some(other), _) => engine.changes_between(&a.name, other)?,
        (None, TreeKind::Container(_)) => engine.container_changes(&a.name)?,
        (None, TreeKind::Image(_)) => engine.image_changes(&a.name)?,
    };
    if !json {
        let mut out = String::new();
        for (path, kind) in &changes {
            let letter = match kind {
                PathChange::Added => 'A',
                PathChange::Modified => 'C',
                PathChange::Deleted => 'D',
            };
            out.push_str(&format!("{letter} /{path}\n"));
        }
        print!("{out}");
        return Ok(());
    }
    let mut c = Changes::default();
    for (path, kind) in changes {
        let path = format!("/{path}");
        match kind {
            PathChange::Added => c.added.push(path),
            PathChange::Modified => c.changed.push(path),
            PathChange::Deleted => c.deleted.push(path),
        }
    }
    // podman indents its JSON by five spaces.
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"     ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    c.serialize(&mut ser)?;
    println!("{}", String::from_utf8_lossy(&buf));
    Ok(())
}
