//! `berth diff CTR|IMAGE [CTR|IMAGE]`: what a container's layer (or an
//! image's top layer) added, changed and deleted — or, given two, what
//! changed from the second's filesystem to the first's — as podman's
//! `A`/`C`/`D` lines or `--format json`.

use crate::Cli;
use berth_engine::PathChange;
use clap::Args;
use serde::Serialize;

#[derive(Args)]
pub struct DiffArgs {
    /// Output format: json (default: one `A|C|D PATH` line each).
    #[arg(long)]
    pub format: Option<String>,
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
    let changes = match &a.other {
        Some(other) => engine
            .changes_between(&a.name, other)
            .map_err(|e| missing(e, &[&a.name, other]))?,
        None => match engine.container_changes(&a.name) {
            Ok(c) => c,
            Err(berth_engine::Error::NotFound(_)) => engine
                .image_changes(&a.name)
                .map_err(|e| missing(e, &[&a.name]))?,
            Err(e) => return Err(e.into()),
        },
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

/// A name that is neither container nor image, said as podman says it
/// (the first of `names` that is missing; anything else as it is).
fn missing(e: berth_engine::Error, names: &[&String]) -> anyhow::Error {
    let e = anyhow::Error::from(e);
    if !crate::exit_code::is_missing(&e) {
        return e;
    }
    let text = e.to_string();
    let name = names
        .iter()
        .find(|n| text.contains(n.as_str()))
        .unwrap_or(&names[0]);
    anyhow::anyhow!("{name} not found: no such container or image")
}
