//! `GetContainerEvents` for kubelet's evented PLEG: the engine's events
//! journal (`<runroot>/events/events.log`, written by every berth process
//! and by each container's monitor) tailed from where it ends when the
//! client connects. Each event carries the pod's status and the statuses
//! of the pod's containers as they are when it is sent, so a client that
//! reconnects after a berthd restart sees the current state; what
//! monitors wrote while berthd was down stays in the journal (kubelet
//! relists on reconnect).

use crate::daemon::Daemon;
use crate::{containers, pods, proto};
use berth_engine::events::Event;
use berth_engine::ContainerInfo;
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tonic::Status;

/// How often the journal is read for new lines.
const POLL: Duration = Duration::from_millis(200);

/// The stream the gRPC call returns.
pub type EventStream = std::pin::Pin<
    Box<dyn tokio_stream::Stream<Item = Result<proto::ContainerEventResponse, Status>> + Send>,
>;

/// Start tailing the journal for one client; the task ends when the
/// client goes away.
pub fn stream(daemon: Arc<Daemon>) -> EventStream {
    let (tx, rx) = mpsc::channel(64);
    tokio::spawn(async move {
        let mut tail = Tail {
            offset: journal_len(&daemon),
            partial: Vec::new(),
            pods_of: None,
        };
        let mut tick = tokio::time::interval(POLL);
        loop {
            tick.tick().await;
            if tx.is_closed() {
                return;
            }
            let d = Arc::clone(&daemon);
            // Reading the file and the statuses touches the store: the
            // blocking pool, one short turn per tick.
            let turn = tokio::task::spawn_blocking(move || {
                let out = tail.read(&d);
                (tail, out)
            })
            .await;
            let Ok((t, out)) = turn else { return };
            tail = t;
            for ev in out {
                if tx.send(Ok(ev)).await.is_err() {
                    return;
                }
            }
        }
    });
    Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn journal_len(d: &Daemon) -> u64 {
    std::fs::metadata(d.engine.journal().path())
        .map(|m| m.len())
        .unwrap_or(0)
}

/// Where the tail is in the journal, and which pod each container seen
/// belongs to (a deleted container's record is gone by the time its
/// `remove` event is read): filled from the store on the first read, so
/// a stream opened after a restart knows the containers made before it.
struct Tail {
    offset: u64,
    partial: Vec<u8>,
    pods_of: Option<HashMap<String, String>>,
}

impl Tail {
    fn read(&mut self, d: &Daemon) -> Vec<proto::ContainerEventResponse> {
        let lines = match read_from(d.engine.journal().path(), &mut self.offset) {
            Ok(bytes) => {
                self.partial.extend_from_slice(&bytes);
                self.take_lines()
            }
            Err(e) => {
                tracing::debug!("events journal: {e}");
                Vec::new()
            }
        };
        let events: Vec<Event> = lines
            .iter()
            .filter_map(|l| serde_json::from_slice::<Event>(l).ok())
            .filter(|e| e.kind == "container")
            .collect();
        if events.is_empty() && self.pods_of.is_some() {
            return Vec::new();
        }
        // The containers as they are this tick: one list for every event
        // read in it.
        let known: BTreeMap<String, ContainerInfo> = containers::ours(d)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.id.clone(), c))
            .collect();
        self.pods_of.get_or_insert_with(|| {
            known
                .values()
                .filter_map(|c| Some((c.id.clone(), c.pod()?.to_string())))
                .collect()
        });
        events
            .iter()
            .filter_map(|e| self.response(d, e, &known))
            .collect()
    }

    /// The complete lines read so far; a line still being written stays.
    fn take_lines(&mut self) -> Vec<Vec<u8>> {
        let Some(end) = self.partial.iter().rposition(|b| *b == b'\n') else {
            return Vec::new();
        };
        let rest = self.partial.split_off(end + 1);
        let done = std::mem::replace(&mut self.partial, rest);
        done.split(|b| *b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    }

    fn response(
        &mut self,
        d: &Daemon,
        e: &Event,
        known: &BTreeMap<String, ContainerInfo>,
    ) -> Option<proto::ContainerEventResponse> {
        let kind = event_type(&e.status)?;
        let pods_of = self.pods_of.get_or_insert_with(HashMap::new);
        let pod = match known.get(&e.id) {
            Some(i) => {
                let pod = i.pod()?.to_string();
                pods_of.insert(e.id.clone(), pod.clone());
                pod
            }
            // Gone: only a container berthd saw before is reported.
            None => pods_of.get(&e.id)?.clone(),
        };
        if kind == proto::ContainerEventType::ContainerDeletedEvent {
            pods_of.remove(&e.id);
        }
        let pod_sandbox_status = pods::status(
            d,
            proto::PodSandboxStatusRequest {
                pod_sandbox_id: pod.clone(),
                verbose: false,
            },
        )
        .ok()
        .and_then(|r| r.status);
        let containers_statuses = known
            .values()
            .filter(|c| c.pod() == Some(pod.as_str()))
            .filter_map(|c| containers::status_of(c, false).status)
            .collect();
        Some(proto::ContainerEventResponse {
            container_id: e.id.clone(),
            container_event_type: kind as i32,
            created_at: containers::rfc3339_nanos(Some(&e.time)),
            pod_sandbox_status,
            containers_statuses,
        })
    }
}

/// The engine's status words the CRI has an event for: `died` is when
/// the process stopped (`stop` is only the request to).
fn event_type(status: &str) -> Option<proto::ContainerEventType> {
    use proto::ContainerEventType::*;
    match status {
        "create" => Some(ContainerCreatedEvent),
        "start" => Some(ContainerStartedEvent),
        "died" => Some(ContainerStoppedEvent),
        "remove" => Some(ContainerDeletedEvent),
        _ => None,
    }
}

/// The bytes appended since `offset`; a journal that shrank (rotated or
/// removed) is read again from its start.
fn read_from(path: &Path, offset: &mut u64) -> std::io::Result<Vec<u8>> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            *offset = 0;
            return Ok(Vec::new());
        }
        Err(e) => return Err(e),
    };
    let len = f.metadata()?.len();
    if len < *offset {
        *offset = 0;
    }
    f.seek(SeekFrom::Start(*offset))?;
    let mut buf = Vec::new();
    f.take(len - *offset).read_to_end(&mut buf)?;
    *offset += buf.len() as u64;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_lines_are_taken() {
        let mut t = Tail {
            offset: 0,
            partial: b"{\"a\":1}\n{\"b\"".to_vec(),
            pods_of: None,
        };
        assert_eq!(t.take_lines(), vec![b"{\"a\":1}".to_vec()]);
        assert_eq!(t.partial, b"{\"b\"".to_vec());
        t.partial.extend_from_slice(b":2}\n");
        assert_eq!(t.take_lines(), vec![b"{\"b\":2}".to_vec()]);
        assert!(t.partial.is_empty());
    }

    #[test]
    fn engine_words_map_to_cri_events() {
        assert_eq!(
            event_type("died"),
            Some(proto::ContainerEventType::ContainerStoppedEvent)
        );
        assert_eq!(event_type("stop"), None);
        assert_eq!(event_type("exec"), None);
    }
}
