//! The messages between the runtime (parent) and the container's init
//! (child) over a `SOCK_SEQPACKET` socketpair: one datagram per message, so
//! no framing is needed. The sequence is:
//!
//! 1. parent → init `Go`: id maps are written and the init is in its cgroup;
//!    it may now make its cgroup namespace and set up the root filesystem.
//!    With hooks in the config, once the mounts are made (before
//!    pivot_root): init → parent `Hooks`; the parent runs `prestart` and
//!    `createRuntime` and answers `HooksDone` with the state JSON, which the
//!    init passes to `createContainer` (now) and `startContainer` (at exec).
//! 2. init → parent `Ready`: set up, the executable found, waiting to start
//!    (or `Failed` with the error text, then the init exits).
//! 3. parent → init `Start` (for `run`; after `create` the init waits on
//!    `exec.fifo` instead, because the parent is gone by then).
//! 4. The init execs the exec stub (`process::exec_stub`), which execs the
//!    user's process. The socket stays open across the stub's exec only:
//!    the parent reads EOF once the user's process runs, `Failed` if the
//!    init failed before, or the stub's exec-failure record (tag 7, the
//!    errno as 4 little-endian bytes, the path), decoded here as `Failed`.
//!    After `create` the same records go to the exec fifo, where `start`
//!    reads them ([`decode`]).

use crate::error::{Error, Result};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

/// One message of the protocol above.
#[derive(Debug, PartialEq, Eq)]
pub enum Message {
    /// Parent → init: carry on with setup.
    Go,
    /// Init → parent: setup is done.
    Ready,
    /// Parent → init: exec the user process now.
    Start,
    /// Init → parent: setup or exec failed; the text says why.
    Failed(String),
    /// Init → parent: mounts are made, run the runtime-namespace hooks.
    Hooks,
    /// Parent → init: hooks ran; the container state JSON for the init's own.
    HooksDone(String),
}

const TAG_GO: u8 = 1;
const TAG_READY: u8 = 2;
const TAG_START: u8 = 3;
const TAG_FAILED: u8 = 4;
const TAG_HOOKS: u8 = 5;
const TAG_HOOKS_DONE: u8 = 6;
/// Written by the exec stub (stub/exec_stub.c), never by Rust code.
const TAG_EXEC_FAILED: u8 = 7;

/// One end of the parent/init channel.
pub struct SyncSocket {
    fd: OwnedFd,
}

/// Make the connected pair: (parent end, init end). Both are close-on-exec.
pub fn pair() -> Result<(SyncSocket, SyncSocket)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::sys("socketpair", e))?;
    Ok((SyncSocket { fd: a }, SyncSocket { fd: b }))
}

impl SyncSocket {
    /// Send one message.
    pub fn send(&self, msg: &Message) -> Result<()> {
        let buf = encode(msg);
        // write(2), not send(2): after the seccomp filter, profiles made
        // for a program allow write far more surely than sendto.
        nix::unistd::write(&self.fd, &buf).map_err(|e| Error::sys("write sync socket", e))?;
        Ok(())
    }

    /// Receive one message; `None` at EOF (the peer exec'd or exited).
    pub fn recv(&self) -> Result<Option<Message>> {
        let mut buf = vec![0u8; 1 << 16];
        let n = loop {
            match nix::unistd::read(self.fd.as_raw_fd(), &mut buf) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => break other.map_err(|e| Error::sys("read sync socket", e))?,
            }
        };
        Ok(decode(&buf[..n]))
    }

    /// The descriptor, for the exec stub to report on.
    pub fn raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Wait for `want`; a `Failed` message or EOF becomes an [`Error::Init`].
    pub fn expect(&self, want: Message) -> Result<()> {
        match self.recv()? {
            Some(m) if m == want => Ok(()),
            Some(Message::Failed(text)) => Err(Error::Init(text)),
            Some(other) => Err(Error::Init(format!(
                "unexpected message {other:?}, wanted {want:?}"
            ))),
            None => Err(Error::Init("exited during setup".into())),
        }
    }
}

/// The bytes of one message.
pub fn encode(msg: &Message) -> Vec<u8> {
    let (tag, text) = match msg {
        Message::Go => (TAG_GO, ""),
        Message::Ready => (TAG_READY, ""),
        Message::Start => (TAG_START, ""),
        Message::Failed(text) => (TAG_FAILED, text.as_str()),
        Message::Hooks => (TAG_HOOKS, ""),
        Message::HooksDone(json) => (TAG_HOOKS_DONE, json.as_str()),
    };
    let mut buf = Vec::with_capacity(1 + text.len());
    buf.push(tag);
    buf.extend_from_slice(text.as_bytes());
    buf
}

/// One message from its bytes; `None` for none (EOF).
pub fn decode(buf: &[u8]) -> Option<Message> {
    let (&tag, rest) = buf.split_first()?;
    let text = || String::from_utf8_lossy(rest).into_owned();
    Some(match tag {
        TAG_GO => Message::Go,
        TAG_READY => Message::Ready,
        TAG_START => Message::Start,
        TAG_HOOKS => Message::Hooks,
        TAG_HOOKS_DONE => Message::HooksDone(text()),
        TAG_EXEC_FAILED if rest.len() >= 4 => {
            let errno = i32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]);
            let path = String::from_utf8_lossy(&rest[4..]);
            Message::Failed(format!(
                "exec {path}: {}",
                nix::errno::Errno::from_raw(errno)
            ))
        }
        _ => Message::Failed(text()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_failure_record_of_the_stub_reads_as_failed() {
        let mut record = vec![TAG_EXEC_FAILED];
        record.extend_from_slice(&libc::ENOEXEC.to_le_bytes());
        record.extend_from_slice(b"/bin/app");
        assert_eq!(
            decode(&record),
            Some(Message::Failed(
                "exec /bin/app: ENOEXEC: Exec format error".into()
            ))
        );
        assert_eq!(decode(&[]), None);
        assert_eq!(decode(&[TAG_READY]), Some(Message::Ready));
    }

    #[test]
    fn messages_round_trip_through_the_socket() {
        let (a, b) = pair().unwrap();
        for m in [
            Message::Go,
            Message::Failed("why".into()),
            Message::HooksDone("{}".into()),
        ] {
            a.send(&m).unwrap();
            assert_eq!(b.recv().unwrap(), Some(m));
        }
        drop(a);
        assert_eq!(b.recv().unwrap(), None);
    }
}
