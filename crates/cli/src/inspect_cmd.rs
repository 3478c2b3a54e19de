//! `berth inspect NAME…`: containers, then images, by each name (or only
//! one kind with `--type`), as one JSON array or through `--format`. A
//! name that is neither is an error after the others are printed, as
//! podman's (`[]` when none was found).

use crate::images::InspectArgs;
use crate::Cli;

pub fn inspect(cli: &Cli, a: &InspectArgs) -> anyhow::Result<()> {
    let first = &a.names[0];
    if a.raw || a.config || first.contains("://") {
        anyhow::ensure!(
            a.names.len() == 1,
            "--raw, --config and docker:// take one image"
        );
        return crate::images::inspect_raw(cli, a, first);
    }
    let (containers, images) = match a.kind.as_str() {
        "all" => (true, true),
        "container" => (true, false),
        "image" => (false, true),
        other => anyhow::bail!("invalid --type {other:?} (container, image, all)"),
    };
    let engine = cli.engine()?;
    let store = cli.store()?;
    let mut found = Vec::new();
    let mut missing = None;
    for name in &a.names {
        let mut item = None;
        if containers {
            item = crate::containers::container_value(cli, &engine, &store, name)?;
        }
        if item.is_none() && images {
            item = crate::images::image_value(cli, &store, name)?;
        }
        match item {
            Some(v) => found.push(v),
            None => missing = Some(name.clone()),
        }
    }
    if !found.is_empty() || a.format.is_none() {
        crate::report::print_inspected(a.format.as_deref(), &found)?;
    }
    match missing {
        Some(name) => anyhow::bail!("no such object: {name:?}"),
        None => Ok(()),
    }
}
