//! The host ports an owner of the network holds, by id: in memory the
//! bound sockets (see [`ports::reserve`]), which keep the ports taken and
//! die with the process, and on disk `ports/ID.json` under the state
//! directory, which tells any process which host ports an id holds and
//! whether its holder still lives. Detach from any process removes the
//! record; only the holder can close the sockets, so they go with its
//! own detach or its exit.

use super::ports::{self, PortMapping, Reservation};
use super::NetError;
use crate::process_ref::ProcessRef;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// `ports/ID.json`: who holds which host ports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortRecord {
    /// The process whose sockets hold the ports.
    pub holder: ProcessRef,
    /// The mappings, with the host ports really bound.
    pub ports: Vec<PortMapping>,
}

impl PortRecord {
    /// Whether the holder still runs, i.e. the ports are still held.
    pub fn held(&self) -> bool {
        self.holder.maybe_alive()
    }
}

/// One owner's reservations: its sockets by id, and the records' directory.
#[derive(Debug)]
pub(crate) struct Reservations {
    dir: PathBuf,
    held: Mutex<HashMap<String, Reservation>>,
}

impl Reservations {
    /// Reservations recorded under `dir`.
    pub(crate) fn new(dir: PathBuf) -> Reservations {
        Reservations {
            dir,
            held: Mutex::new(HashMap::new()),
        }
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    /// The map of sockets; a panic elsewhere while it was locked left it
    /// whole (every change is one insert or remove), so poisoning is moot.
    fn held(&self) -> MutexGuard<'_, HashMap<String, Reservation>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Bind every mapping's host port for `id` (a random one where it is
    /// 0), record them, and keep the sockets until [`Reservations::release`].
    /// The mappings with their ports filled in. On an error nothing is held.
    pub(crate) fn reserve(
        &self,
        id: &str,
        maps: &[PortMapping],
    ) -> Result<Vec<PortMapping>, NetError> {
        let (bound, sockets) = ports::reserve(maps)?;
        if bound.is_empty() {
            return Ok(bound);
        }
        let holder = ProcessRef::current().ok_or_else(|| NetError::Io {
            op: "read",
            path: "/proc/self/stat".into(),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        self.write(
            id,
            &PortRecord {
                holder,
                ports: bound.clone(),
            },
        )?;
        self.held().insert(id.to_string(), sockets);
        Ok(bound)
    }

    fn write(&self, id: &str, record: &PortRecord) -> Result<(), NetError> {
        std::fs::create_dir_all(&self.dir).map_err(|source| NetError::Io {
            op: "create",
            path: self.dir.clone(),
            source,
        })?;
        let path = self.path(id);
        let bytes = serde_json::to_vec(record).map_err(|source| NetError::PortRecord {
            path: path.clone(),
            source,
        })?;
        // Run state (the directory is on /run): atomic against a killed
        // writer, no fsync.
        Ok(berth_storage::write_atomic_nosync(&path, &bytes)?)
    }

    /// Free `id`'s ports: close the sockets this owner holds for it and
    /// remove its record (wherever it was written from). Nothing held is
    /// fine.
    pub(crate) fn release(&self, id: &str) -> Result<(), NetError> {
        drop(self.held().remove(id));
        let path = self.path(id);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(NetError::Io {
                op: "remove",
                path,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// `id`'s record, if it has one; a corrupt one is an error.
    pub(crate) fn record(&self, id: &str) -> Result<Option<PortRecord>, NetError> {
        read_record(&self.path(id))
    }

    /// Whether `id` has a record.
    pub(crate) fn recorded(&self, id: &str) -> bool {
        self.path(id).exists()
    }
}

/// An owner that goes away closes its sockets: its records, which say the
/// ports are held, go with them — unless another process holds the id's
/// ports by now (it was detached elsewhere and attached again). A killed
/// owner leaves its records, naming a dead holder.
impl Drop for Reservations {
    fn drop(&mut self) {
        let me = ProcessRef::current();
        for id in self.held().keys() {
            let path = self.path(id);
            if matches!(read_record(&path), Ok(Some(r)) if Some(r.holder) == me) {
                let _ = std::fs::remove_file(path);
            }
        }
    }
}

fn read_record(path: &Path) -> Result<Option<PortRecord>, NetError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(NetError::Io {
                op: "read",
                path: path.into(),
                source,
            })
        }
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| NetError::PortRecord {
            path: path.into(),
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback(spec: &str) -> PortMapping {
        PortMapping::parse(spec).unwrap()
    }

    #[test]
    fn record_names_the_holder_until_release() {
        let dir = tempfile::tempdir().unwrap();
        let r = Reservations::new(dir.path().join("ports"));
        let got = r.reserve("a", &[loopback("127.0.0.1::80")]).unwrap();
        let rec = r.record("a").unwrap().expect("a record while held");
        assert_eq!(rec.ports, got);
        assert_eq!(rec.holder, ProcessRef::current().unwrap());
        assert!(rec.held());
        assert!(std::net::TcpListener::bind(("127.0.0.1", got[0].host_port)).is_err());
        assert!(holds_here(got[0].host_port));
        r.release("a").unwrap();
        assert!(r.record("a").unwrap().is_none());
        // Not a second bind: another test may take the freed port at once.
        assert!(!holds_here(got[0].host_port));
        r.release("a").unwrap();
    }

    /// Whether one of this process's sockets is bound to `port`: the
    /// held sockets are bound, not listening, so no /proc table shows them.
    fn holds_here(port: u16) -> bool {
        use nix::sys::socket::{getsockname, SockaddrStorage};
        std::fs::read_dir("/proc/self/fd").unwrap().any(|fd| {
            let Some(fd) = fd
                .unwrap()
                .file_name()
                .to_str()
                .and_then(|n| n.parse().ok())
            else {
                return false;
            };
            getsockname::<SockaddrStorage>(fd).is_ok_and(|a| {
                a.as_sockaddr_in().map(|a| a.port()) == Some(port)
                    || a.as_sockaddr_in6().map(|a| a.port()) == Some(port)
            })
        })
    }

    #[test]
    fn nothing_published_writes_no_record() {
        let dir = tempfile::tempdir().unwrap();
        let r = Reservations::new(dir.path().join("ports"));
        assert!(r.reserve("a", &[]).unwrap().is_empty());
        assert!(!r.recorded("a"));
    }

    #[test]
    fn a_dead_holder_is_not_holding() {
        let rec = PortRecord {
            holder: ProcessRef {
                pid: i32::MAX,
                start: 1,
            },
            ports: vec![],
        };
        assert!(!rec.held());
    }
}
