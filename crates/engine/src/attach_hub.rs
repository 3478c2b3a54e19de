//! The monitor's side of the attach socket (see [`crate::attach_socket`]):
//! the listener, the clients of the current run, and where their input
//! goes. The output watch polls [`AttachHub::fds`] with the container's
//! streams and hands back what was ready.

use crate::attach_socket::{self, RESIZE, STDIN, STDIN_EOF};
use crate::error::Result;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

/// The attach socket of one container, held by its monitor.
pub(crate) struct AttachHub {
    listener: OwnedFd,
    path: PathBuf,
    clients: Vec<OwnedFd>,
    /// The container's stdin: a pipe's write end (`-i`), or the pty master
    /// (`-it`); None when it takes no input.
    input: Option<OwnedFd>,
    /// The pty master (`-t`), which resizes go to.
    pty: Option<OwnedFd>,
}

impl AttachHub {
    /// Listen in the record directory `dir`.
    pub(crate) fn listen(dir: &Path) -> Result<AttachHub> {
        Ok(AttachHub {
            listener: attach_socket::listen_in(dir)?,
            path: dir.join(attach_socket::NAME),
            clients: Vec::new(),
            input: None,
            pty: None,
        })
    }

    /// A client connected before the run started.
    pub(crate) fn add(&mut self, client: OwnedFd) {
        self.clients.push(client);
    }

    /// Where this run's input and resizes go.
    pub(crate) fn wire(&mut self, input: Option<OwnedFd>, pty: Option<OwnedFd>) {
        self.input = input;
        self.pty = pty;
    }

    /// The run ended: its clients see end of file, its input is closed.
    pub(crate) fn end_run(&mut self) {
        self.clients.clear();
        self.input = None;
        self.pty = None;
    }

    /// What to poll for reading: the listener, then each client.
    pub(crate) fn fds(&self) -> Vec<BorrowedFd<'_>> {
        std::iter::once(self.listener.as_fd())
            .chain(self.clients.iter().map(|c| c.as_fd()))
            .collect()
    }

    /// Act on what [`AttachHub::fds`]'s poll found ready (same order).
    /// `buf` is the watch's own read buffer: a client's packets (at most
    /// 32 KiB of input) fit, and no more pages are touched for them.
    pub(crate) fn ready(&mut self, ready: &[bool], buf: &mut [u8]) {
        if !ready.iter().any(|r| *r) {
            return;
        }
        let mut gone = Vec::new();
        for (i, client) in self.clients.iter().enumerate() {
            if !ready.get(i + 1).copied().unwrap_or(false) {
                continue;
            }
            match attach_socket::recv_packet(client.as_fd(), buf) {
                None => gone.push(i),
                Some((STDIN, n)) => {
                    if let Some(input) = &self.input {
                        write_all(input.as_fd(), &buf[1..1 + n]);
                    }
                }
                // A terminal's input stays open (other clients type into
                // it); a pipe is closed, the container reads its end.
                Some((STDIN_EOF, _)) if self.pty.is_none() => self.input = None,
                Some((RESIZE, 4)) => {
                    if let Some(pty) = &self.pty {
                        resize(pty.as_fd(), &buf[1..5]);
                    }
                }
                Some(_) => {}
            }
        }
        for i in gone.into_iter().rev() {
            self.clients.remove(i);
        }
        if ready.first().copied().unwrap_or(false) {
            if let Some(c) = attach_socket::accept(self.listener.as_fd()) {
                self.clients.push(c);
            }
        }
    }

    /// Copy one chunk of output (`kind`: stdout or stderr) to every
    /// client; one that can't take it is dropped.
    pub(crate) fn broadcast(&mut self, kind: u8, data: &[u8]) {
        self.clients
            .retain(|c| attach_socket::send_packet(c.as_fd(), kind, data));
    }
}

impl Drop for AttachHub {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Write all of `data` to the container's stdin; what it can't take (it
/// closed its stdin) is dropped.
fn write_all(fd: BorrowedFd<'_>, mut data: &[u8]) {
    while !data.is_empty() {
        match nix::unistd::write(fd, data) {
            Ok(n) => data = &data[n..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(_) => return,
        }
    }
}

/// Set the pty's size from a resize packet's payload.
fn resize(master: BorrowedFd<'_>, payload: &[u8]) {
    let rows = u16::from_le_bytes([payload[0], payload[1]]);
    let cols = u16::from_le_bytes([payload[2], payload[3]]);
    crate::pty_relay::resize_terminal(master, cols, rows);
}
