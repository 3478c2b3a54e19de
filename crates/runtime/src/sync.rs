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
//! 4. The init execs; the socket is close-on-exec, so the parent reads EOF
//!    on success, or `Failed` if exec itself failed.

use crate::error::{Error, Result};
use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

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
        let mut buf = Vec::with_capacity(16);
        match msg {
            Message::Go => buf.push(TAG_GO),
            Message::Ready => buf.push(TAG_READY),
            Message::Start => buf.push(TAG_START),
            Message::Failed(text) => {
                buf.push(TAG_FAILED);
                buf.extend_from_slice(text.as_bytes());
            }
            Message::Hooks => buf.push(TAG_HOOKS),
            Message::HooksDone(json) => {
                buf.push(TAG_HOOKS_DONE);
                buf.extend_from_slice(json.as_bytes());
            }
        }
        nix::unistd::write(self.fd.as_fd(), &buf)
            .map_err(|e| Error::sys("write sync socket", e))?;
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
        if n == 0 {
            return Ok(None);
        }
        Ok(Some(match buf[0] {
            TAG_GO => Message::Go,
            TAG_READY => Message::Ready,
            TAG_START => Message::Start,
            TAG_HOOKS => Message::Hooks,
            TAG_HOOKS_DONE => Message::HooksDone(String::from_utf8_lossy(&buf[1..n]).into_owned()),
            _ => Message::Failed(String::from_utf8_lossy(&buf[1..n]).into_owned()),
        }))
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
