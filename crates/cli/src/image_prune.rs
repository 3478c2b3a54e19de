//! `berth image prune`: remove dangling images (no name) that no container
//! uses, or with `-a` every image no container uses; `--filter label=…`
//! narrows it. Prints the ids removed, as podman does.

use crate::Cli;
use anyhow::bail;
use clap::Args;
use serde_json::Value;
use std::io::{BufRead, Write};

#[derive(Args)]
pub struct ImagePruneArgs {
    /// Every image no container uses, not only dangling ones.
    #[arg(short, long)]
    pub all: bool,
    /// Do not ask for confirmation.
    #[arg(short, long)]
    pub force: bool,
    /// label=KEY[=VALUE] or label!=KEY[=VALUE].
    #[arg(long)]
    pub filter: Vec<String>,
}

/// One `--filter`: a label that must (or must not) be there.
struct LabelFilter {
    key: String,
    value: Option<String>,
    negate: bool,
}

fn parse_filter(f: &str) -> anyhow::Result<LabelFilter> {
    let (negate, rest) = if let Some(r) = f.strip_prefix("label!=") {
        (true, r)
    } else if let Some(r) = f.strip_prefix("label=") {
        (false, r)
    } else {
        bail!("{f:?} is an invalid image filter: image prune knows label= and label!=");
    };
    let (key, value) = match rest.split_once('=') {
        Some((k, v)) => (k.to_string(), Some(v.to_string())),
        None => (rest.to_string(), None),
    };
    Ok(LabelFilter { key, value, negate })
}

fn labels_match(labels: &Value, f: &LabelFilter) -> bool {
    let found = match (labels.get(&f.key), &f.value) {
        (Some(v), Some(want)) => v.as_str() == Some(want.as_str()),
        (Some(_), None) => true,
        (None, _) => false,
    };
    found != f.negate
}

pub fn prune(cli: &Cli, a: &ImagePruneArgs) -> anyhow::Result<()> {
    let filters = a
        .filter
        .iter()
        .map(|f| parse_filter(f))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if !a.force && !confirm(a.all)? {
        return Ok(());
    }
    let engine = cli.engine()?;
    let store = engine.store();
    // Removing an image can leave another one unused (its only child was
    // the one removed): go again until a round removes nothing.
    loop {
        let used: Vec<String> = store.containers()?.into_iter().map(|c| c.image).collect();
        let mut removed_any = false;
        for image in store.images()? {
            if used.contains(&image.id) || (!a.all && !image.names.is_empty()) {
                continue;
            }
            if !filters.is_empty() {
                let config: Value = serde_json::from_slice(&store.image_config(&image.id)?)?;
                let labels = &config["config"]["Labels"];
                if !filters.iter().all(|f| labels_match(labels, f)) {
                    continue;
                }
            }
            match engine.remove_image(&image.id, false) {
                Ok(_) => {
                    println!("{}", image.id);
                    removed_any = true;
                }
                // Made a user, or removed, since the listing.
                Err(berth_engine::Error::Storage(
                    berth_storage::Error::InUse { .. } | berth_storage::Error::ImageNotFound(_),
                )) => {}
                Err(e) => return Err(e.into()),
            }
        }
        if !removed_any {
            return Ok(());
        }
    }
}

/// podman's question; anything but y or yes is no.
fn confirm(all: bool) -> anyhow::Result<bool> {
    let what = if all {
        "all images without at least one container associated with them"
    } else {
        "all dangling images"
    };
    print!("WARNING! This command removes {what}.\nAre you sure you want to continue? [y/N] ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim().to_lowercase().as_str(), "y" | "yes"))
}
