//! The events journal: one JSON line per lifecycle event in
//! `<runroot>/events/events.log`, in podman's `events_logger = "file"`
//! format (its keys, its status words), so `berth events` from any process
//! sees what every other berth process did. Each event is appended with a
//! single `write` on an `O_APPEND` descriptor: the kernel places concurrent
//! appends whole, one after another, with no lock.
//!
//! The journal is a record of what happened, not part of it: a failure to
//! append never fails the operation it describes.

use crate::engine::Engine;
use crate::error::{IoContext, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// One event, podman's keys in podman's order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Event {
    /// A container's exit code (`died` only).
    #[serde(
        rename = "ContainerExitCode",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub exit_code: Option<i32>,
    /// The container's or image's id.
    #[serde(rename = "ID", default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// A container's image, as it was asked for.
    #[serde(rename = "Image", default, skip_serializing_if = "String::is_empty")]
    pub image: String,
    /// The container's name, or the image's reference.
    #[serde(rename = "Name", default)]
    pub name: String,
    /// What happened: create, init, start, died, stop, kill, pause, …
    #[serde(rename = "Status")]
    pub status: String,
    /// RFC 3339 with nanoseconds, UTC.
    #[serde(rename = "Time")]
    pub time: String,
    /// `container` or `image`.
    #[serde(rename = "Type")]
    pub kind: String,
    /// Labels and other details.
    #[serde(rename = "Attributes", default)]
    pub attributes: Option<BTreeMap<String, String>>,
}

/// The journal file under a runroot.
#[derive(Debug, Clone)]
pub struct Journal {
    path: PathBuf,
}

impl Journal {
    /// `<runroot>/events/events.log`.
    pub fn new(runroot: &Path) -> Journal {
        Journal {
            path: runroot.join("events").join("events.log"),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Append `event` as one line, in one write.
    pub fn append(&self, event: &Event) -> Result<()> {
        let mut line = serde_json::to_vec(event).map_err(|source| crate::Error::Record {
            path: self.path.clone(),
            source,
        })?;
        line.push(b'\n');
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).ctx("create", dir)?;
        }
        let mut f = std::fs::File::options()
            .create(true)
            .append(true)
            .open(&self.path)
            .ctx("open", &self.path)?;
        f.write_all(&line).ctx("append to", &self.path)
    }

    /// Record an image event (`pull`, `tag`, `untag`, `remove`, …);
    /// best effort, as every event.
    pub fn image(&self, status: &str, id: &str, name: &str) {
        let _ = self.append(&Event {
            id: id.into(),
            name: name.into(),
            status: status.into(),
            time: crate::clock::now_rfc3339(),
            kind: "image".into(),
            ..Default::default()
        });
    }
}

impl Engine {
    /// The events journal of this engine's runroot.
    pub fn journal(&self) -> Journal {
        Journal::new(&self.opts.runroot)
    }

    /// Record `status` of container `c` (with its exit code for `died`).
    pub(crate) fn event(&self, c: &berth_storage::Container, status: &str, code: Option<i32>) {
        let options = crate::meta::Meta::of(c)
            .map(|m| m.options)
            .unwrap_or_default();
        self.event_with_image(c, options.image, &options.labels, status, code);
    }

    /// [`Engine::event`] when the image asked for and the container's
    /// `--label`s are at hand (its metadata may not be written yet).
    pub(crate) fn event_with_image(
        &self,
        c: &berth_storage::Container,
        image: String,
        labels: &BTreeMap<String, String>,
        status: &str,
        code: Option<i32>,
    ) {
        let _ = self.journal().append(&Event {
            exit_code: code,
            id: c.id.clone(),
            image,
            name: c.name.clone(),
            status: status.into(),
            time: crate::clock::now_rfc3339(),
            kind: "container".into(),
            attributes: Some(self.event_labels(&c.image, labels)),
        });
    }

    /// A container event's attributes, as podman's: the image's labels,
    /// then the container's over them (what `--filter label=` matches).
    /// An unreadable image (gone with `rmi -f`) adds none.
    fn event_labels(
        &self,
        image_id: &str,
        labels: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut all: BTreeMap<String, String> = self
            .store
            .image_config(image_id)
            .ok()
            .and_then(|b| crate::image_config::parse(image_id, &b).ok())
            .and_then(|c| c.config().as_ref().and_then(|c| c.labels().clone()))
            .map(|l| l.into_iter().collect())
            .unwrap_or_default();
        all.extend(labels.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_s_line_reads_back_and_writes_in_its_key_order() {
        let line = r#"{"ContainerExitCode":137,"ID":"3b12","Image":"localhost/bb:latest","Name":"pa","Status":"died","Time":"2026-12-04T02:42:20.009542446Z","Type":"container","Attributes":{}}"#;
        let e: Event = serde_json::from_str(line).unwrap();
        assert_eq!(e.exit_code, Some(137));
        assert_eq!(serde_json::to_string(&e).unwrap(), line);
        let image = r#"{"Name":"localhost/bb","Status":"pull","Time":"t","Type":"image","Attributes":null}"#;
        let e: Event = serde_json::from_str(image).unwrap();
        assert_eq!(serde_json::to_string(&e).unwrap(), image);
    }

    #[test]
    fn concurrent_appends_stay_whole_lines() {
        let d = tempfile::tempdir().unwrap();
        let j = Journal::new(d.path());
        std::thread::scope(|s| {
            for t in 0..4 {
                let j = j.clone();
                s.spawn(move || {
                    for i in 0..200 {
                        j.image("tag", &format!("{t}-{i}"), &"x".repeat(300));
                    }
                });
            }
        });
        let text = std::fs::read_to_string(j.path()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 800);
        for l in lines {
            serde_json::from_str::<Event>(l).unwrap();
        }
    }
}
