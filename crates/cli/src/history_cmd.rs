//! `berth history IMAGE`: the image config's history, newest first, with
//! podman's columns (ID, CREATED, CREATED BY, SIZE, COMMENT), `-q`,
//! `--no-trunc` and `--format` (json or a Go template).

use crate::report::{print_list, Rows};
use crate::{Cli, RegistryArgs};
use clap::{ArgAction, Args};
use serde::Serialize;
use serde_json::{json, Value};

#[derive(Args)]
pub struct HistoryArgs {
    /// json, or a Go template over ID, Created, CreatedBy, Size, Comment.
    #[arg(long)]
    pub format: Option<String>,
    /// Sizes and dates for humans (the default); false prints bytes and times.
    #[arg(short = 'H', long, action = ArgAction::Set, num_args = 0..=1, require_equals = true,
          default_value_t = true, default_missing_value = "true")]
    pub human: bool,
    /// Full ids and commands.
    #[arg(long)]
    pub no_trunc: bool,
    /// Print the ids only.
    #[arg(short, long)]
    pub quiet: bool,
    /// The image.
    pub image: String,
}

/// One history entry, as podman's `--format json` writes it.
#[derive(Serialize)]
struct Entry {
    id: String,
    created: String,
    #[serde(rename = "CreatedBy")]
    created_by: String,
    size: u64,
    comment: String,
    #[serde(rename = "Created")]
    created_secs: String,
}

const DEFAULT: &str = "table {{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}";
const HEADERS: &[(&str, &str)] = &[("CreatedBy", "CREATED BY")];

pub fn history(cli: &Cli, a: &HistoryArgs) -> anyhow::Result<()> {
    let store = cli.store()?;
    let ctx = cli.context(&RegistryArgs::default())?;
    let image = berth_image::find_image(&ctx, &store, &a.image)?;
    let config: Value = serde_json::from_slice(&store.image_config(&image.id)?)?;
    let images = store.images()?;
    let history = config["history"].as_array().cloned().unwrap_or_default();
    // Layers top first, as the newest-first walk meets them.
    let mut layers = Vec::new();
    let mut next = image.top_layer.clone();
    while let Some(id) = next {
        let layer = store.layer(&id)?;
        next = layer.parent.clone();
        layers.push(layer);
    }
    let mut layers = layers.into_iter();
    let mut entries = Vec::new();
    for (i, h) in history.iter().rev().enumerate() {
        let empty = h["empty_layer"].as_bool().unwrap_or(false);
        let layer = if empty { None } else { layers.next() };
        // An entry has an id when an image ends at its layer.
        let id = if i == 0 {
            image.id.clone()
        } else {
            layer
                .as_ref()
                .filter(|_| !empty)
                .and_then(|l| {
                    images
                        .iter()
                        .find(|im| im.top_layer.as_deref() == Some(&l.id))
                })
                .map(|im| im.id.clone())
                .unwrap_or_else(|| "<missing>".into())
        };
        let created = h["created"].as_str().unwrap_or_default().to_string();
        entries.push(Entry {
            id,
            created_secs: seconds_only(&created),
            created,
            created_by: h["created_by"].as_str().unwrap_or_default().into(),
            size: layer.map(|l| l.size).unwrap_or(0),
            comment: h["comment"].as_str().unwrap_or_default().into(),
        });
    }
    if a.format
        .as_deref()
        .is_some_and(crate::template::table::is_json_format)
    {
        // podman prints its history JSON on one line.
        println!("{}", serde_json::to_string(&entries)?);
        return Ok(());
    }
    if a.quiet {
        for e in &entries {
            println!("{}", short_id(&e.id, a.no_trunc));
        }
        return Ok(());
    }
    let views = entries
        .iter()
        .map(|e| {
            let mut by = e.created_by.clone();
            if !a.no_trunc && by.chars().count() > 45 {
                by = format!("{}...", by.chars().take(42).collect::<String>());
            }
            json!({
                "ID": short_id(&e.id, a.no_trunc),
                "Created": if a.human { crate::ago::since_rfc3339(Some(&e.created)) } else { e.created.clone() },
                "CreatedAt": e.created,
                "CreatedBy": by,
                "Size": if a.human { crate::image_json::human_size(e.size) } else { e.size.to_string() },
                "Comment": e.comment,
                "Tags": Value::Null,
            })
        })
        .collect();
    print_list(
        a.format.as_deref(),
        DEFAULT,
        HEADERS,
        true,
        &Rows {
            json: entries,
            views,
        },
    )
}

fn short_id(id: &str, no_trunc: bool) -> String {
    if no_trunc || id.len() < 12 || id.starts_with('<') {
        id.to_string()
    } else {
        id[..12].to_string()
    }
}

/// An RFC 3339 time with its fraction of a second dropped.
fn seconds_only(t: &str) -> String {
    match (t.find('.'), t.rfind(['Z', '+'])) {
        (Some(dot), Some(zone)) if dot < zone => format!("{}{}", &t[..dot], &t[zone..]),
        _ => t.to_string(),
    }
}
