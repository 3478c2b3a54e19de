//! `SCMP_ACT_NOTIFY`: handing the filter's notify descriptor to the
//! engine's listener, as the runtime spec's "seccomp notify" section says:
//! connect to `listenerPath` (a unix stream socket), send the container
//! process state as JSON in one message with the descriptor attached by
//! `SCM_RIGHTS`; the state's `fds` is `["seccompFd"]`.
//!
//! The init gets the descriptor when it loads the filter, but by then it
//! lives in the container's root, where the host's `listenerPath` is not
//! reachable, and it does not know its host pid. So, as in runc, it hands
//! the descriptor to the runtime over a [`channel`] made before the clone,
//! and the runtime, which knows the pid, sends it to the listener before it
//! lets the init go on:
//!
//! ```text
//! runtime                                   init
//! (rx, tx) = channel()  ── clone ──▶        load filter → fd
//! fd = rx.recv()        ◀── SCM_RIGHTS ──   tx.send(fd); close fd
//! send_to_listener(path, fd, state)
//! expect(Ready)         ◀── Ready ───────   …
//! ```
//!
//! A syscall the profile sends to the listener therefore only blocks the
//! init if it happens between loading and `tx.send`: `sendmsg` itself,
//! which [`super::validate`] refuses to notify on.

use super::error::{Error, Result};
use nix::sys::socket::{
    recvmsg, sendmsg, socketpair, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags,
    SockFlag, SockType,
};
use oci_spec::runtime::{ContainerProcessState, LinuxSeccomp, State};
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// The name of the descriptor in the state's `fds`.
pub const SECCOMP_FD_NAME: &str = oci_spec::runtime::SECCOMP_FD_NAME;

/// The runtime's end of the descriptor channel.
pub struct NotifyReceiver(OwnedFd);

/// The init's end of the descriptor channel.
pub struct NotifySender(OwnedFd);

/// A connected pair for passing the notify descriptor from the init to the
/// runtime: (runtime end, init end), both close-on-exec. Make it before the
/// clone; the runtime drops the init's end right after, so it reads EOF if
/// the init dies before sending.
pub fn channel() -> Result<(NotifyReceiver, NotifySender)> {
    let (a, b) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| Error::sys("socketpair for the seccomp notify fd", e))?;
    Ok((NotifyReceiver(a), NotifySender(b)))
}

impl NotifySender {
    /// Send `fd` to the runtime.
    pub fn send(&self, fd: BorrowedFd<'_>) -> Result<()> {
        send_fd(self.0.as_fd(), b"s", fd)
            .map_err(|e| Error::sys("send the seccomp notify fd to the runtime", e))
    }
}

impl NotifyReceiver {
    /// Wait for the init's notify descriptor; `None` if the init closed its
    /// end without sending one (it failed: its error comes on the sync
    /// socket).
    pub fn recv(&self) -> Result<Option<OwnedFd>> {
        let mut byte = [0u8; 1];
        let mut iov = [std::io::IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = loop {
            match recvmsg::<()>(
                self.0.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) {
                Err(nix::errno::Errno::EINTR) => continue,
                other => {
                    break other.map_err(|e| Error::sys("receive the seccomp notify fd", e))?
                }
            }
        };
        let mut received = None;
        for cmsg in msg
            .cmsgs()
            .map_err(|e| Error::sys("read control message", e))?
        {
            if let ControlMessageOwned::ScmRights(fds) = cmsg {
                for fd in fds {
                    // SAFETY: SCM_RIGHTS gave us a new descriptor we own.
                    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                    received.get_or_insert(owned);
                }
            }
        }
        Ok(received)
    }
}

/// The runtime's half of the handover: wait for the init's descriptor and
/// send it with `state` (status `creating`, the init's host pid) to the
/// profile's `listenerPath`. Returns `false` when the init closed the
/// channel without a descriptor (it failed; its error comes on the sync
/// socket), `true` when the listener has the descriptor.
pub fn forward(receiver: &NotifyReceiver, profile: &LinuxSeccomp, state: State) -> Result<bool> {
    let Some(fd) = receiver.recv()? else {
        return Ok(false);
    };
    let listener = profile.listener_path().as_deref().ok_or_else(|| {
        Error::invalid(
            "linux.seccomp.listenerPath",
            "SCMP_ACT_NOTIFY is used but no listenerPath is set",
        )
    })?;
    send_to_listener(listener, fd.as_fd(), &process_state(profile, state))?;
    Ok(true)
}

/// The container's state as [`forward`] passes it on: `spec`'s version and
/// annotations, with `status` (`creating` from create, `running` from exec).
pub fn oci_state(
    spec: &oci_spec::runtime::Spec,
    id: &str,
    status: oci_spec::runtime::ContainerState,
    pid: i32,
    bundle: &std::path::Path,
) -> State {
    let mut state = State::default();
    state.set_version(spec.version().clone());
    state.set_id(id.to_string());
    state.set_status(status);
    state.set_pid(Some(pid));
    state.set_bundle(bundle.to_path_buf());
    state.set_annotations(spec.annotations().clone());
    state
}

/// The payload the listener gets: the container's state (status
/// `creating`, as the runtime still sets it up) with `fds` naming the
/// descriptor and the profile's `listenerMetadata`.
pub fn process_state(profile: &LinuxSeccomp, state: State) -> ContainerProcessState {
    let mut process_state = ContainerProcessState::default();
    process_state.set_version(state.version().clone());
    process_state.set_fds(vec![SECCOMP_FD_NAME.to_string()]);
    process_state.set_pid(state.pid().unwrap_or(0));
    process_state.set_metadata(profile.listener_metadata().clone());
    process_state.set_state(state);
    process_state
}

/// Connect to `listener` and send it `fd` with `state` as JSON, in one
/// message.
pub fn send_to_listener(
    listener: &Path,
    fd: BorrowedFd<'_>,
    state: &ContainerProcessState,
) -> Result<()> {
    let json = serde_json::to_vec(state).map_err(|e| {
        Error::invalid(
            "linux.seccomp.listenerMetadata",
            format!("cannot encode the state: {e}"),
        )
    })?;
    let stream = UnixStream::connect(listener).map_err(|source| Error::Io {
        op: "connect to seccomp listener",
        path: listener.to_path_buf(),
        source,
    })?;
    send_fd(stream.as_fd(), &json, fd).map_err(|e| {
        Error::sys(
            format!("send the seccomp notify fd to {}", listener.display()),
            e,
        )
    })
}

fn send_fd(sock: BorrowedFd<'_>, payload: &[u8], fd: BorrowedFd<'_>) -> nix::Result<()> {
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(payload)];
    let sent = loop {
        match sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other?,
        }
    };
    if sent != payload.len() {
        // A stream may take part of a large payload; the listener must get
        // the state whole with the descriptor.
        return Err(nix::errno::Errno::EMSGSIZE);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn channel_passes_a_descriptor() {
        let (rx, tx) = channel().unwrap();
        let file = tempfile::tempfile().unwrap();
        tx.send(file.as_fd()).unwrap();
        let got = rx.recv().unwrap().expect("a descriptor");
        let a = nix::sys::stat::fstat(file.as_raw_fd()).unwrap();
        let b = nix::sys::stat::fstat(got.as_raw_fd()).unwrap();
        assert_eq!((a.st_dev, a.st_ino), (b.st_dev, b.st_ino));
        drop(tx);
        assert!(rx.recv().unwrap().is_none(), "EOF after the sender closed");
    }

    #[test]
    fn listener_gets_state_and_descriptor() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("listener.sock");
        let server = std::os::unix::net::UnixListener::bind(&path).unwrap();
        let mut profile = LinuxSeccomp::default();
        profile.set_listener_metadata(Some("meta".into()));
        let mut state = State::default();
        state.set_version("1.2.0".into());
        state.set_id("box".into());
        state.set_pid(Some(42));
        state.set_status(oci_spec::runtime::ContainerState::Creating);
        let payload = process_state(&profile, state);
        let file = tempfile::tempfile().unwrap();
        send_to_listener(&path, file.as_fd(), &payload).unwrap();

        let (conn, _) = server.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
        let msg = recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        )
        .unwrap();
        let fds: Vec<_> = msg
            .cmsgs()
            .unwrap()
            .filter_map(|c| match c {
                ControlMessageOwned::ScmRights(f) => Some(f),
                _ => None,
            })
            .flatten()
            .collect();
        let n = msg.bytes;
        assert_eq!(fds.len(), 1);
        let json: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(json["fds"], serde_json::json!(["seccompFd"]));
        assert_eq!(json["pid"], 42);
        assert_eq!(json["metadata"], "meta");
        assert_eq!(json["state"]["id"], "box");
        assert_eq!(json["state"]["status"], "creating");
        // SAFETY: the test owns the received descriptor.
        let mut got = std::fs::File::from(unsafe { OwnedFd::from_raw_fd(fds[0]) });
        let mut rest = String::new();
        got.read_to_string(&mut rest).unwrap();
    }
}
