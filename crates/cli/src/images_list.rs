//! `berth images`: podman's flags, filters, JSON and templates. One row
//! per name (repository and tag), a nameless image as `<none>`.

use crate::image_json::{images_entry, split_name, ImageFacts, ImagesEntry};
use crate::report::{print_list, Rows};
use crate::{images::ImagesArgs, Cli, RegistryArgs};
use serde_json::{json, Value};

const DEFAULT: &str = "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const DEFAULT_DIGESTS: &str =
    "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}";
const HEADERS: &[(&str, &str)] = &[("ID", "IMAGE ID"), ("CreatedSince", "CREATED")];

enum Filter {
    Dangling(bool),
    Label(String, Option<String>),
    Reference(String),
    Before(i64),
    Since(i64),
}

fn parse_filters(
    cli: &Cli,
    store: &berth_storage::Store,
    list: &[String],
) -> anyhow::Result<Vec<Filter>> {
    let ctx = cli.context(&RegistryArgs::default())?;
    let created_of = |key: &str| -> anyhow::Result<i64> {
        let img = berth_image::find_image(&ctx, store, key)?;
        Ok(ImageFacts::of(store, img, 0).created_epoch())
    };
    list.iter()
        .map(|f| {
            let (k, v) = f
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: must be KEY=VALUE"))?;
            Ok(match k {
                "dangling" => Filter::Dangling(match v {
                    "true" => true,
                    "false" => false,
                    _ => anyhow::bail!("invalid dangling filter {v:?}: true or false"),
                }),
                "label" => match v.split_once('=') {
                    Some((k, v)) => Filter::Label(k.into(), Some(v.into())),
                    None => Filter::Label(v.into(), None),
                },
                "reference" => Filter::Reference(v.into()),
                "before" => Filter::Before(created_of(v)?),
                "since" => Filter::Since(created_of(v)?),
                _ => anyhow::bail!(
                    "invalid filter {k:?} (dangling, label, reference, before, since)"
                ),
            })
        })
        .collect()
}

/// Shell-style `*` and `?` over a name, or over its last path part.
fn glob(pattern: &str, name: &str) -> bool {
    fn go(p: &[u8], n: &[u8]) -> bool {
        match (p.first(), n.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], n) || (!n.is_empty() && go(p, &n[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &n[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &n[1..]),
            _ => false,
        }
    }
    let (repo, tag) = split_name(name);
    let short = repo.rsplit('/').next().unwrap_or(&repo).to_string();
    [
        name.to_string(),
        repo.clone(),
        short.clone(),
        format!("{short}:{tag}"),
    ]
    .iter()
    .any(|n| go(pattern.as_bytes(), n.as_bytes()))
}

fn keep(f: &Filter, facts: &ImageFacts) -> bool {
    match f {
        Filter::Dangling(want) => facts.dangling() == *want,
        Filter::Label(k, v) => facts
            .labels()
            .and_then(|l| l.get(k).cloned())
            .is_some_and(|have| v.as_ref().is_none_or(|v| *v == have)),
        Filter::Reference(p) => facts.image.names.iter().any(|n| glob(p, n)),
        Filter::Before(t) => facts.created_epoch() < *t,
        Filter::Since(t) => facts.created_epoch() > *t,
    }
}

/// The template view of one row: podman's fields for `images` templates.
fn view(facts: &ImagesEntry, repo: &str, tag: &str, no_trunc: bool) -> Value {
    let mut v = serde_json::to_value(facts).unwrap_or(Value::Null);
    let id = if no_trunc {
        format!("sha256:{}", facts.id)
    } else {
        facts.id[..12].to_string()
    };
    v["ID"] = json!(id);
    v["Repository"] = json!(repo);
    v["Tag"] = json!(tag);
    v["CreatedSince"] = json!(crate::ago::since_epoch(facts.created.max(0) as u64));
    v["Size"] = json!(crate::image_json::human_size(facts.size));
    v["ReadOnly"] = json!(false);
    v["Dangling"] = json!(facts.names.is_empty());
    v
}

pub fn list(cli: &Cli, a: &ImagesArgs) -> anyhow::Result<()> {
    let store = cli.store()?;
    let filters = parse_filters(cli, &store, &a.filter)?;
    let containers = store.containers()?;
    let mut facts: Vec<ImageFacts> = store
        .images()?
        .into_iter()
        .map(|img| {
            let users = containers.iter().filter(|c| c.image == img.id).count();
            ImageFacts::of(&store, img, users)
        })
        .filter(|f| filters.iter().all(|flt| keep(flt, f)))
        .collect();
    facts.sort_by_key(|f| std::cmp::Reverse(f.created_epoch()));
    if a.quiet {
        for f in &facts {
            if a.no_trunc {
                println!("sha256:{}", f.image.id);
            } else {
                println!("{}", &f.image.id[..12]);
            }
        }
        return Ok(());
    }
    let mut views = Vec::new();
    let mut json = Vec::new();
    for f in &facts {
        let entry = images_entry(f);
        let names: Vec<(String, String)> = if f.image.names.is_empty() {
            vec![("<none>".into(), "<none>".into())]
        } else {
            f.image.names.iter().map(|n| split_name(n)).collect()
        };
        for (repo, tag) in names {
            views.push(view(&entry, &repo, &tag, a.no_trunc));
        }
        json.push(entry);
    }
    let default = if a.digests { DEFAULT_DIGESTS } else { DEFAULT };
    print_list(
        a.format.as_deref(),
        default,
        HEADERS,
        !a.noheading,
        &Rows { json, views },
    )
}
