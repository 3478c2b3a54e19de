//! `berth ps`: podman's flags, filters, sort keys, JSON and templates.

use crate::container_json::{ps_entry, ImageFacts, PsEntry};
use crate::report::{print_list, Rows};
use crate::Cli;
use berth_engine::{ContainerInfo, Status};
use clap::Args;
use serde_json::{json, Value};

#[derive(Args)]
pub struct PsArgs {
    /// Show every container, not only running ones.
    #[arg(short, long)]
    pub all: bool,
    /// Only ids.
    #[arg(short, long)]
    pub quiet: bool,
    /// `json`, or a Go template (`table …` for a header and columns).
    #[arg(long)]
    pub format: Option<String>,
    /// Keep only containers that match: status=, name=, label=, id=,
    /// exited=, ancestor= (the same key twice: either; keys: all).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// Only the last N containers made (of every state).
    #[arg(short = 'n', long)]
    pub last: Option<usize>,
    /// Only the latest container made (of every state).
    #[arg(short = 'l', long)]
    pub latest: bool,
    /// Whole ids and commands.
    #[arg(long)]
    pub no_trunc: bool,
    /// No header line.
    #[arg(long)]
    pub noheading: bool,
    /// Order by: command, created, id, image, names, runningfor, status.
    #[arg(long, default_value = "created")]
    pub sort: String,
    /// Show each container's size (of its read-write layer).
    #[arg(short, long)]
    pub size: bool,
    /// Add the POD ID and PODNAME columns (the pod a container is in).
    #[arg(short, long)]
    pub pod: bool,
    /// Also the containers in storage that berth does not run (the working
    /// containers of `berth builder`), as podman's for buildah's: command
    /// `storage`, status `Storage`.
    #[arg(long)]
    pub external: bool,
}

const DEFAULT: &str =
    "table {{.ID}}\t{{.Image}}\t{{.Command}}\t{{.CreatedHuman}}\t{{.Status}}\t{{.Ports}}\t{{.Names}}";
/// `--pod`'s columns, after podman's default ones.
const POD_COLUMNS: &str = "\t{{.Pod}}\t{{.PodName}}";
const HEADERS: &[(&str, &str)] = &[
    ("ID", "CONTAINER ID"),
    ("Pod", "POD ID"),
    ("PodName", "PODNAME"),
    ("CreatedHuman", "CREATED"),
    ("RunningFor", "CREATED"),
];

/// A parsed `--filter`.
struct Filters(Vec<(String, String)>);

impl Filters {
    fn parse(list: &[String]) -> anyhow::Result<Filters> {
        let mut out = Vec::new();
        for f in list {
            let (k, v) = f
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: must be KEY=VALUE"))?;
            match k {
                "status" | "name" | "label" | "id" | "exited" | "ancestor" | "pod" => {}
                _ => anyhow::bail!(
                    "invalid filter {k:?} (status, name, label, id, exited, ancestor, pod)"
                ),
            }
            if k == "status"
                && ![
                    "created", "running", "exited", "paused", "stopped", "unknown",
                ]
                .contains(&v)
            {
                anyhow::bail!("invalid status filter {v:?}: created, running, exited, paused");
            }
            if k == "name" {
                regex::Regex::new(v).map_err(|e| anyhow::anyhow!("name filter {v:?}: {e}"))?;
            }
            out.push((k.to_string(), v.to_string()));
        }
        Ok(Filters(out))
    }

    /// Whether the container passes: every key, one of its values.
    fn keep(&self, i: &ContainerInfo, row: &PsEntry, image_names: &[String]) -> bool {
        let keys: std::collections::BTreeSet<&str> =
            self.0.iter().map(|(k, _)| k.as_str()).collect();
        keys.into_iter().all(|key| {
            self.0
                .iter()
                .filter(|(k, _)| k == key)
                .any(|(_, v)| matches(key, v, i, row, image_names))
        })
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }
}

fn matches(key: &str, v: &str, i: &ContainerInfo, row: &PsEntry, image_names: &[String]) -> bool {
    match key {
        "status" => {
            i.state.shown_status() == v || (v == "stopped" && i.state.status == Status::Exited)
        }
        "name" => regex::Regex::new(v).is_ok_and(|r| r.is_match(&i.name)),
        "id" => i.id.starts_with(v),
        // A pod's id, id prefix or name.
        "pod" => !row.pod.is_empty() && (row.pod.starts_with(v) || row.pod_name == v),
        "exited" => i.state.status == Status::Exited && v.parse() == Ok(row.exit_code),
        "label" => match v.split_once('=') {
            Some((k, want)) => row
                .labels
                .as_ref()
                .and_then(|l| l.get(k))
                .is_some_and(|have| have == want),
            None => row.labels.as_ref().is_some_and(|l| l.contains_key(v)),
        },
        "ancestor" => {
            i.image_id.starts_with(v)
                || i.meta.options.image == v
                || image_names.iter().any(|n| {
                    n == v
                        || n.rsplit_once('/').is_some_and(|(_, short)| short == v)
                        || n.strip_suffix(":latest").is_some_and(|n| {
                            n == v || n.rsplit_once('/').is_some_and(|(_, s)| s == v)
                        })
                })
        }
        _ => false,
    }
}

/// The fields podman's ps templates see besides the JSON's.
fn view(i: &ContainerInfo, row: &PsEntry, no_trunc: bool) -> Value {
    let mut v = serde_json::to_value(row).unwrap_or(Value::Null);
    let id = if no_trunc { &i.id[..] } else { &i.id[..12] };
    let mut command = row.command.join(" ");
    if !no_trunc && command.chars().count() > 20 {
        command = command.chars().take(17).collect::<String>() + "...";
    }
    v["ID"] = json!(id);
    v["Names"] = json!(row.names.join(","));
    v["Command"] = json!(command);
    v["CreatedHuman"] = json!(row.created_at);
    v["RunningFor"] = json!(row.created_at);
    v["Ports"] = json!(crate::network::ports_column(i));
    v["Mounts"] = json!(row.mounts.join(","));
    v["Networks"] = json!(row.networks.join(","));
    v["Labels"] = json!(row.labels.clone().unwrap_or_default());
    v["Size"] = json!("");
    let pod = if no_trunc || row.pod.len() < 12 {
        &row.pod[..]
    } else {
        &row.pod[..12]
    };
    v["Pod"] = json!(pod);
    v["PodName"] = json!(row.pod_name);
    v
}

pub fn ps(cli: &Cli, a: &PsArgs) -> anyhow::Result<()> {
    let filters = Filters::parse(&a.filter)?;
    let engine = cli.engine()?;
    let store = cli.store()?;
    // -n, -l and a status or exited filter look at stopped containers too.
    let all =
        a.all || a.latest || a.last.is_some() || filters.has("status") || filters.has("exited");
    // The pod records are read only once a listed container is in a pod.
    let mut pod_names: Option<std::collections::HashMap<String, String>> = None;
    let mut list: Vec<(ContainerInfo, PsEntry, Vec<String>)> = Vec::new();
    let mut infos: Vec<(ContainerInfo, bool)> =
        engine.list()?.into_iter().map(|i| (i, false)).collect();
    if a.external {
        infos.extend(
            engine
                .working_container_infos()?
                .into_iter()
                .map(|i| (i, true)),
        );
        infos.sort_by_key(|(i, _)| std::cmp::Reverse((i.created, i.created_nanos)));
    }
    for (i, external) in infos {
        let stopped = i.state.status != Status::Running || i.state.paused;
        if !all && !external && stopped {
            continue;
        }
        let facts = ImageFacts::of(&store, &i);
        let mut row = ps_entry(&i, &facts);
        if external {
            row.command = vec!["storage".into()];
            row.state = "storage".into();
            row.status = "Storage".into();
        }
        if let Some(pod) = i.pod() {
            row.pod = pod.to_string();
            if pod_names.is_none() {
                pod_names = Some(
                    engine
                        .pods()?
                        .into_iter()
                        .map(|p| (p.id, p.options.name))
                        .collect(),
                );
            }
            row.pod_name = pod_names
                .as_ref()
                .and_then(|names| names.get(pod).cloned())
                .unwrap_or_default();
        }
        let names = store
            .image(&i.image_id)
            .map(|img| img.names)
            .unwrap_or_default();
        if filters.keep(&i, &row, &names) {
            list.push((i, row, names));
        }
    }
    // engine.list is newest first: -n/-l take from the front; podman
    // then lists them oldest first.
    let keep = if a.latest { Some(1) } else { a.last };
    if let Some(n) = keep {
        list.truncate(n);
    }
    list.reverse();
    sort(&mut list, &a.sort)?;
    if a.quiet {
        for (i, _, _) in &list {
            println!("{}", if a.no_trunc { &i.id[..] } else { &i.id[..12] });
        }
        return Ok(());
    }
    let views = list
        .iter()
        .map(|(i, row, _)| view(i, row, a.no_trunc))
        .collect();
    let rows = Rows {
        json: list.into_iter().map(|(_, row, _)| row).collect(),
        views,
    };
    let default = if a.pod {
        format!("{DEFAULT}{POD_COLUMNS}")
    } else {
        DEFAULT.to_string()
    };
    print_list(a.format.as_deref(), &default, HEADERS, !a.noheading, &rows)
}

fn sort(list: &mut [(ContainerInfo, PsEntry, Vec<String>)], key: &str) -> anyhow::Result<()> {
    match key {
        // In creation order, as podman prints them.
        "created" | "runningfor" => {}
        "id" => list.sort_by(|a, b| a.0.id.cmp(&b.0.id)),
        "image" => list.sort_by(|a, b| a.1.image.cmp(&b.1.image)),
        "names" => list.sort_by(|a, b| a.0.name.cmp(&b.0.name)),
        "status" => list.sort_by(|a, b| a.1.status.cmp(&b.1.status)),
        "command" => list.sort_by(|a, b| a.1.command.cmp(&b.1.command)),
        other => anyhow::bail!(
            "invalid --sort {other:?} (command, created, id, image, names, runningfor, status)"
        ),
    }
    Ok(())
}
