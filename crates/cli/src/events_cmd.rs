//! `berth events`: the engine's journal as podman 4.3 prints its own
//! (`events_logger = "file"`): the past with `--stream=false` or
//! `--since`, then new events as they are appended unless
//! `--stream=false`; filters on container, event, image and type.

use crate::template::Template;
use crate::Cli;
use berth_engine::events::{Event, Journal};
use clap::Args;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::time::{Duration, SystemTime};

#[derive(Args)]
pub struct EventsArgs {
    /// Keep only events that match KEY=VALUE: container, event, image,
    /// label (label=NAME or label=NAME=VALUE), type (several values of one
    /// key: any of them).
    #[arg(short, long)]
    pub filter: Vec<String>,
    /// `json` (one object a line), or a Go template.
    #[arg(long)]
    pub format: Option<String>,
    /// Events since this time (RFC 3339, Unix seconds, or a duration ago
    /// such as 5m).
    #[arg(long)]
    pub since: Option<String>,
    /// Events until this time (same forms).
    #[arg(long)]
    pub until: Option<String>,
    /// Follow the journal for new events (false: print the past and exit).
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub stream: bool,
    /// Accepted for podman's sake: ids are never truncated.
    #[arg(long, hide = true)]
    pub no_trunc: bool,
}

/// The `--filter`s, each key with the values any of which may match.
struct Filters(Vec<(String, Vec<String>)>);

impl Filters {
    fn parse(list: &[String]) -> anyhow::Result<Filters> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for f in list {
            let (k, v) = f
                .split_once('=')
                .ok_or_else(|| anyhow::anyhow!("invalid filter {f:?}: it must be KEY=VALUE"))?;
            let k = match k {
                "container" | "image" | "type" | "label" => k,
                "event" | "status" => "event",
                _ => anyhow::bail!("invalid filter {k:?} (container, event, image, label, type)"),
            };
            match out.iter_mut().find(|(key, _)| key == k) {
                Some((_, vs)) => vs.push(v.to_string()),
                None => out.push((k.to_string(), vec![v.to_string()])),
            }
        }
        Ok(Filters(out))
    }

    fn keep(&self, e: &Event) -> bool {
        self.0.iter().all(|(k, vs)| {
            vs.iter().any(|v| match k.as_str() {
                "container" => {
                    e.kind == "container"
                        && (e.name == *v || (v.len() >= 3 && e.id.starts_with(v.as_str())))
                }
                "image" => e.image == *v || (e.kind == "image" && (e.name == *v || e.id == *v)),
                "type" => e.kind == *v,
                "label" => has_label(e, v),
                _ => e.status == *v,
            })
        })
    }
}

/// Whether `e` carries label `filter`: `NAME=VALUE` exactly, or `NAME`
/// with any value (podman 4.3 matches only the first form).
fn has_label(e: &Event, filter: &str) -> bool {
    let Some(attributes) = &e.attributes else {
        return false;
    };
    match filter.split_once('=') {
        Some((k, v)) => attributes.get(k).is_some_and(|have| have == v),
        None => attributes.contains_key(filter),
    }
}

pub fn events(cli: &Cli, a: &EventsArgs) -> anyhow::Result<()> {
    let filters = Filters::parse(&a.filter)?;
    let since = a
        .since
        .as_deref()
        .map(|t| parse_time(t, "--since"))
        .transpose()?;
    let until = a
        .until
        .as_deref()
        .map(|t| parse_time(t, "--until"))
        .transpose()?;
    let template = match a.format.as_deref() {
        None | Some("json") => None,
        Some(f) => Some(Template::parse(f)?),
    };
    let print = |e: &Event| -> anyhow::Result<()> {
        let line = match (&template, a.format.as_deref()) {
            (Some(t), _) => t.render(&view(e))?,
            (None, Some("json")) => serde_json::to_string(e)?,
            (None, _) => human(e),
        };
        println!("{}", line.trim_end_matches('\n'));
        Ok(())
    };
    let journal = Journal::new(&cli.runroot);
    // Following with no --since starts at the end, as podman's file reader.
    let from_start = !a.stream || since.is_some();
    let mut reader = None;
    let mut partial = String::new();
    loop {
        if reader.is_none() {
            match std::fs::File::open(journal.path()) {
                Ok(mut f) => {
                    if !from_start {
                        f.seek(SeekFrom::End(0))?;
                    }
                    reader = Some(BufReader::new(f));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(anyhow::Error::new(e)
                        .context(format!("reading {}", journal.path().display())))
                }
            }
        }
        if let Some(r) = reader.as_mut() {
            loop {
                let n = r.read_line(&mut partial)?;
                // A line still being written ends without its newline.
                if n == 0 || !partial.ends_with('\n') {
                    break;
                }
                let line = std::mem::take(&mut partial);
                let Ok(e) = serde_json::from_str::<Event>(line.trim()) else {
                    continue;
                };
                let at = humantime::parse_rfc3339(&e.time).ok();
                if since.is_some_and(|s| at.is_some_and(|t| t < s)) {
                    continue;
                }
                if until.is_some_and(|u| at.is_some_and(|t| t > u)) {
                    continue;
                }
                if filters.keep(&e) {
                    print(&e)?;
                }
            }
        }
        if !a.stream || until.is_some_and(|u| SystemTime::now() > u) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Record an image event in the journal (best effort, as every event).
pub fn image_event(cli: &Cli, status: &str, id: &str, name: &str) {
    Journal::new(&cli.runroot).image(status, id, name);
}

/// The event of an `rmi`: `untag` when only a name went, else `remove`.
pub fn image_removal_event(cli: &Cli, name: &str, removal: &berth_engine::ImageRemoval) {
    match removal {
        berth_engine::ImageRemoval::Untagged(_) => image_event(cli, "untag", "", name),
        berth_engine::ImageRemoval::Deleted { id, .. } => image_event(cli, "remove", id, name),
    }
}

/// A time as podman's `--since`/`--until` take it.
fn parse_time(t: &str, flag: &str) -> anyhow::Result<SystemTime> {
    if let Ok(at) = humantime::parse_rfc3339_weak(t) {
        return Ok(at);
    }
    if let Ok(secs) = t.parse::<u64>() {
        return Ok(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
    }
    if let Ok(ago) = humantime::parse_duration(t) {
        return Ok(SystemTime::now() - ago);
    }
    anyhow::bail!("invalid {flag} {t:?}: use RFC 3339, Unix seconds or a duration (5m)")
}

/// Go's `time.Time.String()` of an RFC 3339 UTC time:
/// `2026-12-04 02:44:07.3069 +0000 UTC`.
fn go_time(rfc3339: &str) -> String {
    let t = rfc3339.trim_end_matches('Z').replacen('T', " ", 1);
    let t = match t.split_once('.') {
        Some((secs, frac)) => {
            let frac = frac.trim_end_matches('0');
            if frac.is_empty() {
                secs.to_string()
            } else {
                format!("{secs}.{frac}")
            }
        }
        None => t,
    };
    format!("{t} +0000 UTC")
}

/// podman's text line.
fn human(e: &Event) -> String {
    let time = go_time(&e.time);
    if e.kind == "image" {
        return format!("{time} image {} {} {}", e.status, e.id, e.name);
    }
    let mut out = format!(
        "{time} {} {} {} (image={}, name={}",
        e.kind, e.status, e.id, e.image, e.name
    );
    for (k, v) in e.attributes.iter().flatten() {
        out.push_str(&format!(", {k}={v}"));
    }
    out + ")"
}

/// What a template sees: podman's fields, Time as Go prints it.
fn view(e: &Event) -> serde_json::Value {
    let mut v = serde_json::to_value(e).unwrap_or_default();
    v["Time"] = go_time(&e.time).into();
    v["ContainerExitCode"] = e.exit_code.unwrap_or(0).into();
    v["ID"] = e.id.clone().into();
    v["Image"] = e.image.clone().into();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_lines_as_podman_prints_them() {
        assert_eq!(
            go_time("2026-12-04T02:44:07.306903640Z"),
            "2026-12-04 02:44:07.30690364 +0000 UTC"
        );
        assert_eq!(
            go_time("2026-12-04T02:44:07.000000000Z"),
            "2026-12-04 02:44:07 +0000 UTC"
        );
        let e: Event = serde_json::from_str(r#"{"ID":"ab","Image":"localhost/bb:latest","Name":"pd","Status":"remove","Time":"2026-12-04T02:49:55.849564437Z","Type":"container","Attributes":{}}"#).unwrap();
        assert_eq!(
            human(&e),
            "2026-12-04 02:49:55.849564437 +0000 UTC container remove ab (image=localhost/bb:latest, name=pd)"
        );
    }

    #[test]
    fn filters_any_value_of_a_key_every_key() {
        let e = Event {
            id: "abcdef".into(),
            name: "web".into(),
            status: "start".into(),
            kind: "container".into(),
            ..Default::default()
        };
        let f = |l: &[&str]| {
            Filters::parse(&l.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
        };
        assert!(f(&["container=web"]).keep(&e));
        assert!(f(&["container=abc", "event=stop", "event=start"]).keep(&e));
        assert!(!f(&["container=web", "type=image"]).keep(&e));
        assert!(Filters::parse(&["bogus=1".into()]).is_err());
    }
}
